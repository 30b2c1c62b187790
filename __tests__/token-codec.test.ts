/**
 * The token codec: what a store holds is AES-256-GCM with the store key as associated data, under a key derived
 * per grant. Unit tables (round trip; tampering with any byte of iv, body or tag; wrong key; a value moved to
 * another grant; wrong version; truncation; non-strings; well-encrypted values of the wrong shape), then
 * fast-check properties: arbitrary tokens round-trip and arbitrary input never throws.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { GrantRequest } from '../src/grant/grant.js';
import { cacheKey, decodeToken, deriveKey, encodeToken, type StoredToken } from '../src/provider/token-codec.js';
import { makeAccessToken } from '../src/grant/token-response.js';

const KEY_A = 'grant-key-a';
const KEY_B = 'grant-key-b';
// Derived in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test
// (code run at load time is "static": every test would run for each of its mutants).
let aesA: Buffer;
let aesB: Buffer;
beforeEach(() => {
  aesA = deriveKey('client-secret-a', KEY_A);
  aesB = deriveKey('client-secret-b', KEY_B);
});

function stored(
  fields: {
    accessToken?: string;
    expiresAt?: number | undefined;
    scope?: string[];
    issuedAt?: number;
    storedExpiresAt?: number;
  } = {},
): StoredToken {
  const accessToken = fields.accessToken ?? 'tok-abc.def';
  const scope = fields.scope ?? ['read', 'write'];
  const expiresAt = 'expiresAt' in fields ? fields.expiresAt : 1_700_000_600_000;
  const token = makeAccessToken(
    { accessToken, tokenType: 'Bearer', expiresAt, scope: Object.freeze([...scope]) },
    { access_token: accessToken },
  );
  return { token, sentAt: fields.issuedAt ?? 1_700_000_000_000, endsAt: fields.storedExpiresAt ?? 1_700_000_600_000 };
}

/** The fields a decoded value carries, as plain data. */
function plain(value: StoredToken | undefined) {
  if (!value) return value;
  const { accessToken, tokenType, expiresAt, scope } = value.token;
  return {
    accessToken,
    tokenType,
    expiresAt,
    scope: [...scope],
    issuedAt: value.sentAt,
    storedExpiresAt: value.endsAt,
  };
}

/** A value in the codec's format around any plaintext: authentic, but not necessarily a token. */
function sealed(plaintext: string, aesKey: Buffer, key: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  cipher.setAAD(Buffer.from(key));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** `value` with one byte of its payload (after `v1.`) XORed with `mask`. */
function flipped(value: string, index: number, mask = 0x01): string {
  const bytes = Buffer.from(value.slice(3), 'base64url');
  bytes[index] = bytes[index]! ^ mask;
  return `v1.${bytes.toString('base64url')}`;
}

const payloadLength = (value: string) => Buffer.from(value.slice(3), 'base64url').length;

describe('a token round-trips through the codec', () => {
  test.each([
    ['a typical token', {}],
    ['a token without expiresAt', { expiresAt: undefined }],
    ['a token without scopes', { scope: [] }],
    ['a JWT', { accessToken: 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln' }],
    ['a long token', { accessToken: 'A'.repeat(4096) }],
    ['non-ASCII scopes', { scope: ['lecture/écriture', '読む'] }],
    ['stored expiry unlike the token expiry', { expiresAt: undefined, storedExpiresAt: 1_700_000_300_000 }],
  ])('%s', (_name, fields) => {
    const original = stored(fields);
    expect(plain(decodeToken(encodeToken(original, aesA, KEY_A), aesA, KEY_A))).toEqual(plain(original));
  });

  test('gives a token whose access token never shows in JSON', () => {
    const decoded = decodeToken(encodeToken(stored({ accessToken: 'tok-very-private' }), aesA, KEY_A), aesA, KEY_A);
    expect(decoded?.token.accessToken).toBe('tok-very-private');
    expect(JSON.stringify(decoded)).not.toContain('tok-very-private');
  });

  test('never holds the token in clear', () => {
    const value = encodeToken(stored({ accessToken: 'tok-very-private' }), aesA, KEY_A);
    expect(value).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(value).not.toContain('tok-very-private');
    expect(Buffer.from(value.slice(3), 'base64url').toString('latin1')).not.toContain('tok-very-private');
  });

  test('uses a fresh IV each time: the same token encodes differently', () => {
    expect(encodeToken(stored(), aesA, KEY_A)).not.toBe(encodeToken(stored(), aesA, KEY_A));
  });

  test('gives a token whose raw response holds the token, its type and the scopes space-separated', () => {
    const decoded = decodeToken(encodeToken(stored({ scope: ['read', 'write'] }), aesA, KEY_A), aesA, KEY_A);
    expect(decoded?.token.raw).toEqual({ access_token: 'tok-abc.def', token_type: 'Bearer', scope: 'read write' });
  });

  test('still decodes a value stored by this release with a DPoP key, so an upgrade keeps what a fleet stored', () => {
    // Encoded once with deriveKey('client-secret-a', KEY_A): the salt, the info, the AAD, the layout and the field
    // names are all in it. A change to any of them makes every token already in a store unreadable.
    const value =
      'v1.Kk6OLkpq95kzTBuf4QGRfhAOACXTcfId_AcGbOZK0ZstoR7wLuwoCrwDj5sPSqOCDO26QSnoKyvLFFQlMiLSdusgyAzhN_TqzRCk4psZvf9Ps-L_2es7Z68jHes8G48SL3nO1hm8GtkrvAgCqlWb5ILMGg8aVd6D7BdBdA4bATaRLXhR9eG-dWoWUGQPAHhQDZg-3UQ_fPoxkYEjTEdp9V4kdB7ytwX4v3Ck1OVQca4alfYEjyCETePkqibcR2Q8cUuMaa4HMo-NGkeqbvLLC0q-';
    expect(aesA.toString('hex')).toBe('9f090acc8e7155e4571157ba0776c217dcaa0a525cab942db48298f008a65e2f');
    const decoded = decodeToken(value, aesA, KEY_A);
    expect(plain(decoded)).toEqual({
      accessToken: 'tok-abc.def',
      tokenType: 'DPoP',
      expiresAt: 1_700_000_600_000,
      scope: ['read', 'écriture'],
      issuedAt: 1_700_000_000_000,
      storedExpiresAt: 1_700_000_600_000,
    });
    expect(decoded?.dpopJwk).toEqual({ kty: 'EC', crv: 'P-256', x: 'x-value', y: 'y-value', d: 'd-value' });
  });
});

describe('a value that was tampered with is undefined', () => {
  let value: string;
  let length: number;
  beforeEach(() => {
    value = encodeToken(stored(), aesA, KEY_A);
    length = payloadLength(value);
  });

  test.each<[string, (length: number) => number]>([
    ['the first IV byte', () => 0],
    ['the last IV byte', () => 11],
    ['the first body byte', () => 12],
    ['a middle body byte', (n) => Math.floor(n / 2)],
    ['the last body byte', (n) => n - 17],
    ['the first tag byte', (n) => n - 16],
    ['the last tag byte', (n) => n - 1],
  ])('%s flipped', (_name, at) => {
    expect(decodeToken(flipped(value, at(length)), aesA, KEY_A)).toBeUndefined();
  });

  test('any byte flipped, one at a time', () => {
    const accepted = Array.from({ length }, (_, index) => index).filter(
      (index) => decodeToken(flipped(value, index, 0x80), aesA, KEY_A) !== undefined,
    );
    expect(accepted).toEqual([]);
  });

  test.each([
    [
      'a byte appended',
      (v: string) =>
        `v1.${Buffer.concat([Buffer.from(v.slice(3), 'base64url'), Buffer.from([0])]).toString('base64url')}`,
    ],
    [
      'the tag removed',
      (v: string) => `v1.${Buffer.from(v.slice(3), 'base64url').subarray(0, -16).toString('base64url')}`,
    ],
    ['the IV removed', (v: string) => `v1.${Buffer.from(v.slice(3), 'base64url').subarray(12).toString('base64url')}`],
    ['the last character cut', (v: string) => v.slice(0, -1)],
    ['half of it cut', (v: string) => v.slice(0, Math.floor(v.length / 2))],
    ['only the prefix left', () => 'v1.'],
    [
      'IV and tag with an empty body',
      (v: string) => {
        const b = Buffer.from(v.slice(3), 'base64url');
        return `v1.${Buffer.concat([b.subarray(0, 12), b.subarray(-16)]).toString('base64url')}`;
      },
    ],
    ['29 bytes', (v: string) => `v1.${Buffer.from(v.slice(3), 'base64url').subarray(0, 29).toString('base64url')}`],
  ])('%s', (_name, change) => {
    expect(decodeToken(change(value), aesA, KEY_A)).toBeUndefined();
  });
});

describe('a value for another key or grant is undefined', () => {
  let value: string;
  beforeEach(() => {
    value = encodeToken(stored(), aesA, KEY_A);
  });

  test.each([
    ['the wrong AES key, same store key', () => decodeToken(value, aesB, KEY_A)],
    ['the right AES key, another store key (a value copied to another grant)', () => decodeToken(value, aesA, KEY_B)],
    ['key and store key of the other grant (swapped)', () => decodeToken(value, aesB, KEY_B)],
    [
      'the key derived from another secret for the same grant',
      () => decodeToken(value, deriveKey('another-secret', KEY_A), KEY_A),
    ],
    [
      'the key derived from the same secret for another grant',
      () => decodeToken(value, deriveKey('client-secret-a', KEY_B), KEY_A),
    ],
  ])('%s', (_name, read) => {
    expect(read()).toBeUndefined();
  });
});

describe('anything that is not a current value is undefined', () => {
  let value: string;
  beforeEach(() => {
    value = encodeToken(stored(), aesA, KEY_A);
  });

  test.each<[string, (value: string) => string]>([
    ['another version prefix', (v) => `v2.${v.slice(3)}`],
    ['an upper-case prefix', (v) => `V1.${v.slice(3)}`],
    ['no prefix', (v) => v.slice(3)],
    ['a prefix without its dot', (v) => `v1${v.slice(3)}`],
    ['an empty string', () => ''],
    ['plain JSON', () => JSON.stringify({ a: 'tok', t: 'Bearer', e: null, s: [], i: 1, x: 2 })],
    [
      'base64url that is not ours',
      () => `v1.${Buffer.from('hello world, this is no token at all').toString('base64url')}`,
    ],
    ['characters outside base64url', () => `v1.${'!'.repeat(60)}`],
  ])('%s', (_name, change) => {
    expect(decodeToken(change(value), aesA, KEY_A)).toBeUndefined();
  });

  test.each<[string, (value: string) => unknown]>([
    ['undefined', () => undefined],
    ['null', () => null],
    ['a number', () => 42],
    ['a Buffer of the value', (v) => Buffer.from(v)],
    ['a String object of the value', (v) => new String(v)],
    ['an object', (v) => ({ value: v })],
    ['an array', (v) => [v]],
    ['a boolean', () => true],
  ])('%s', (_name, wrap) => {
    expect(decodeToken(wrap(value), aesA, KEY_A)).toBeUndefined();
  });
});

describe('an authentic value of the wrong shape is undefined', () => {
  const good = { a: 'tok', t: 'Bearer', e: 5, s: ['x'], i: 1, x: 2 };

  test('the helper seals a good shape that decodes', () => {
    expect(plain(decodeToken(sealed(JSON.stringify(good), aesA, KEY_A), aesA, KEY_A))).toMatchObject({
      accessToken: 'tok',
      scope: ['x'],
    });
  });

  test.each([
    ['not JSON', 'not json'],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a JSON string', '"tok"'],
    ['a numeric access token', JSON.stringify({ ...good, a: 42 })],
    ['no access token', JSON.stringify({ ...good, a: undefined })],
    ['no token type', JSON.stringify({ ...good, t: undefined })],
    ['scope not an array', JSON.stringify({ ...good, s: 'x' })],
    ['a scope that is not a string', JSON.stringify({ ...good, s: ['x', 1] })],
    ['issuedAt not a number', JSON.stringify({ ...good, i: '1' })],
    ['stored expiry not a number', JSON.stringify({ ...good, x: null })],
  ])('%s', (_name, plaintext) => {
    expect(decodeToken(sealed(plaintext, aesA, KEY_A), aesA, KEY_A)).toBeUndefined();
  });

  test.each([
    ['null', null],
    ['a string', 'private-d-value'],
    ['a number', 5],
  ])('a DPoP key that is %s reads as no key', (_name, k) => {
    const decoded = decodeToken(sealed(JSON.stringify({ ...good, k }), aesA, KEY_A), aesA, KEY_A);
    expect(decoded?.token.accessToken).toBe('tok');
    expect(decoded).not.toHaveProperty('dpopJwk');
  });

  test('a token expiry that is not a number reads as no expiry', () => {
    expect(
      decodeToken(sealed(JSON.stringify({ ...good, e: 'soon' }), aesA, KEY_A), aesA, KEY_A)?.token.expiresAt,
    ).toBeUndefined();
  });
});

describe('a generated DPoP key travels with its token', () => {
  test('the private JWK round-trips, encrypted like the token', () => {
    const dpopJwk = { kty: 'EC', crv: 'P-256', x: 'x-value', y: 'y-value', d: 'private-d-value' };
    const value = encodeToken({ ...stored(), dpopJwk }, aesA, KEY_A);
    expect(value).not.toContain('private-d-value');
    expect(Buffer.from(value.slice(3), 'base64url').toString('latin1')).not.toContain('private-d-value');
    expect(decodeToken(value, aesA, KEY_A)?.dpopJwk).toEqual(dpopJwk);
  });

  test('a token without a key decodes without one', () => {
    const decoded = decodeToken(encodeToken(stored(), aesA, KEY_A), aesA, KEY_A);
    expect(decoded?.token.accessToken).toBe('tok-abc.def');
    expect(decoded).not.toHaveProperty('dpopJwk');
  });
});

describe('keys', () => {
  const grant: GrantRequest = {
    tokenUrl: 'https://auth.example.com/token',
    clientId: 'client',
    credential: { kind: 'secret', secret: 'very-secret-value' },
    authMethod: 'client_secret_basic',
    assertionAudience: 'https://auth.example.com/token',
    scope: ['b', 'a'],
    audience: undefined,
    resource: [],
    params: {},
  };

  test('deriveKey gives 32 bytes, different for each secret and each grant', () => {
    const keys = [
      deriveKey('s1-long-enough', 'k1'),
      deriveKey('s2-long-enough', 'k1'),
      deriveKey('s1-long-enough', 'k2'),
      deriveKey(Buffer.from('s1-long-enough'), 'k1'),
    ];
    expect(keys.map((k) => k.length)).toEqual([32, 32, 32, 32]);
    expect(new Set(keys.slice(0, 3).map((k) => k.toString('hex'))).size).toBe(3);
    expect(keys[3]!.equals(keys[0]!)).toBe(true);
  });

  test('cacheKey does not depend on the secret and never contains it', () => {
    const key = cacheKey(grant);
    expect(cacheKey({ ...grant, credential: { kind: 'secret', secret: 'another-secret' } })).toBe(key);
    expect(key).not.toContain('very-secret');
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  test('cacheKey of a grant without a certificate is what it was before certificates existed', () => {
    // The store keys of existing fleets survive the upgrade: no extra grant, no orphaned entry.
    expect(cacheKey(grant)).toBe(cacheKey({ ...grant, certificateThumbprint: undefined }));
    expect(cacheKey(grant)).toBe('gTj1ObEHZC3jBgYa9rCwtE3buakY4IyU'); // computed by 0.1.0
  });

  test('cacheKey ignores the order of scopes and resources', () => {
    expect(cacheKey({ ...grant, scope: ['a', 'b'], resource: ['r2', 'r1'] })).toBe(
      cacheKey({ ...grant, resource: ['r1', 'r2'] }),
    );
  });

  test('cacheKey ignores the order in which the extra params were given', () => {
    const orders = [
      { tenant: 't1', organization: 'org_1', audience_hint: 'x', channel: 'c' },
      { organization: 'org_1', tenant: 't1', channel: 'c', audience_hint: 'x' },
      { channel: 'c', audience_hint: 'x', tenant: 't1', organization: 'org_1' },
      { audience_hint: 'x', channel: 'c', organization: 'org_1', tenant: 't1' },
    ];
    expect(new Set(orders.map((params) => cacheKey({ ...grant, params }))).size).toBe(1);
  });

  test('cacheKey of a grant with params, a certificate or a DPoP key stays what this release computes', () => {
    // A changed key orphans every token a fleet stored under the old one: each process asks for a new token.
    const params = { tenant: 't1', organization: 'org_1', audience_hint: 'x' };
    expect(cacheKey({ ...grant, params })).toBe('Tx9_u3vb5WXkC1BywagMzZTS1VqHJbsQ');
    expect(cacheKey({ ...grant, certificateThumbprint: 'thumb-1', dpopKeyId: 'kid-1' })).toBe(
      '5ZfsPk8dr9y5SVdYdnA5W94gtITQLr1l',
    );
  });

  test('cacheKey tells two client certificates apart, two DPoP keys apart, and a certificate from a DPoP key', () => {
    const keys = [
      cacheKey(grant),
      cacheKey({ ...grant, certificateThumbprint: 'thumb-1' }),
      cacheKey({ ...grant, certificateThumbprint: 'thumb-2' }),
      cacheKey({ ...grant, dpopKeyId: 'thumb-1' }),
      cacheKey({ ...grant, dpopKeyId: 'thumb-2' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  test.each([
    ['tokenUrl', { tokenUrl: 'https://other.example.com/token' }],
    ['clientId', { clientId: 'other' }],
    ['authMethod', { authMethod: 'client_secret_post' as const }],
    ['scope', { scope: ['a'] }],
    ['audience', { audience: 'https://api.example.com' }],
    ['resource', { resource: ['https://r.example.com'] }],
    ['params', { params: { organization: 'org_1' } }],
    ['the client certificate', { certificateThumbprint: 'x5t-of-a-certificate' }],
    ['the DPoP key', { dpopKeyId: 'jkt-of-a-dpop-key' }],
  ])('cacheKey changes with %s', (_name, change) => {
    expect(cacheKey({ ...grant, ...change })).not.toBe(cacheKey(grant));
  });
});

describe('codec properties', () => {
  const tokenArb = fc.record({
    accessToken: fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 47 }), { nil: undefined }),
    scope: fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 6 }),
    issuedAt: fc.integer({ min: 0, max: 2 ** 47 }),
    storedExpiresAt: fc.integer({ min: 0, max: 2 ** 47 }),
  });

  test('arbitrary tokens and scopes round-trip', () => {
    fc.assert(
      fc.property(tokenArb, (fields) => {
        const original = stored(fields);
        expect(plain(decodeToken(encodeToken(original, aesA, KEY_A), aesA, KEY_A))).toEqual(plain(original));
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary tokens encoded for one grant never decode for another', () => {
    fc.assert(
      fc.property(tokenArb, (fields) => {
        const value = encodeToken(stored(fields), aesA, KEY_A);
        expect(decodeToken(value, aesB, KEY_B)).toBeUndefined();
        expect(decodeToken(value, aesA, KEY_B)).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  test('never throws on arbitrary strings, with or without the prefix', () => {
    const text = fc.string({ unit: 'binary', maxLength: 200 });
    fc.assert(
      fc.property(
        fc.oneof(
          text,
          text.map((s) => `v1.${s}`),
          fc.uint8Array({ maxLength: 120 }).map((b) => `v1.${Buffer.from(b).toString('base64url')}`),
        ),
        (input) => {
          expect(decodeToken(input, aesA, KEY_A)).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a random flip of any bit of a value makes it undefined', () => {
    const value = encodeToken(stored(), aesA, KEY_A);
    const length = payloadLength(value);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: length - 1 }), fc.integer({ min: 0, max: 7 }), (index, bit) => {
        expect(decodeToken(flipped(value, index, 1 << bit), aesA, KEY_A)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});
