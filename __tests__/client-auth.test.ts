/**
 * Issue 9, test strength: unit tables of client authentication (src/grant/client-auth.ts). RFC 6749
 * §2.3.1: for HTTP Basic the client id and secret are each form-urlencoded (Appendix B) before they
 * are joined with `:` and base64-encoded, so a `:` in an id cannot shift the split and `%`, `+`,
 * spaces and non-ASCII reach a compliant server intact. With `client_secret_post` both go in the body.
 */
import fc from 'fast-check';
import {
  CLIENT_AUTH_METHODS,
  assertionProblem,
  authenticate,
  pickAuthMethod,
  basicCredentials,
  type AuthAttempt,
  type ClientAuthMethod,
} from '../src/grant/client-auth.js';

/** What a compliant server reads from a Basic header: split at the first `:`, then form-decode each part. */
function serverReads(header: string): [string, string] {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const pair = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  const decode = (part: string): string => new URLSearchParams(`v=${part}`).get('v')!;
  return [decode(pair.slice(0, colon)), decode(pair.slice(colon + 1))];
}

describe('basicCredentials', () => {
  test.each<[string, string, string, string]>([
    ['plain characters', 'client', 'secret', 'client:secret'],
    ['a colon in the id and the secret', 'urn:client:1', 'a:b', 'urn%3Aclient%3A1:a%3Ab'],
    ['a space (as +) and a plus (as %2B)', 'my client', 'p+ss w', 'my+client:p%2Bss+w'],
    ['a percent sign', '100%', '%41', '100%25:%2541'],
    ['an ampersand, an equals sign and a slash', 'a&b=c', 'x/y', 'a%26b%3Dc:x%2Fy'],
    ['non-ASCII, as UTF-8', 'clïent', 'sécret€', 'cl%C3%AFent:s%C3%A9cret%E2%82%AC'],
    ['characters form encoding leaves alone', 'a-b_c.d*', 'e-f_g.h*', 'a-b_c.d*:e-f_g.h*'],
  ])('form-encodes %s before base64', (_, id, secret, pair) => {
    expect(basicCredentials(id, secret)).toBe(`Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
  });

  test('gives a header a compliant server reads back as the same id and secret, whatever they hold', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: 'grapheme' }),
        fc.string({ minLength: 1, unit: 'grapheme' }),
        (id, secret) => {
          expect(serverReads(basicCredentials(id, secret))).toEqual([id, secret]);
        },
      ),
    );
  });
});

describe('authenticate (secret methods)', () => {
  const attempt = (method: ClientAuthMethod): AuthAttempt => ({
    method,
    credential: { kind: 'secret', secret: 'se:cret' },
    clientId: 'my client',
    audience: 'https://auth.example.com',
    timeoutMs: 1000,
    nowSeconds: 1_800_000_000,
  });

  test('client_secret_basic sets the Basic header and leaves the body alone', async () => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    expect(await authenticate(attempt('client_secret_basic'), headers, body)).toEqual([]);
    expect(headers).toEqual({ Accept: 'application/json', Authorization: basicCredentials('my client', 'se:cret') });
    expect(body.toString()).toBe('grant_type=client_credentials');
  });

  test('client_secret_post puts client_id and client_secret in the body and sets no header', async () => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'stale' });
    expect(await authenticate(attempt('client_secret_post'), headers, body)).toEqual([]);
    expect(headers).toEqual({ Accept: 'application/json' });
    expect([...body]).toEqual([
      ['grant_type', 'client_credentials'],
      ['client_id', 'my client'],
      ['client_secret', 'se:cret'],
    ]);
    expect(body.toString()).toBe('grant_type=client_credentials&client_id=my+client&client_secret=se%3Acret');
  });
});

test('CLIENT_AUTH_METHODS lists every method, the secret ones first with Basic first', () => {
  expect(CLIENT_AUTH_METHODS).toEqual([
    'client_secret_basic',
    'client_secret_post',
    'client_secret_jwt',
    'private_key_jwt',
    'tls_client_auth',
    'self_signed_tls_client_auth',
  ]);
});

describe('pickAuthMethod: with discovery and no authMethod, the first method the credential can do that the server lists', () => {
  test.each<[string, Parameters<typeof pickAuthMethod>[0], string[] | undefined, ClientAuthMethod | undefined]>([
    ['a secret, nothing listed (RFC 8414 default)', 'secret', undefined, 'client_secret_basic'],
    [
      'a secret, basic listed',
      'secret',
      ['private_key_jwt', 'client_secret_post', 'client_secret_basic'],
      'client_secret_basic',
    ],
    ['a secret, post only', 'secret', ['client_secret_post', 'private_key_jwt'], 'client_secret_post'],
    ['a secret, jwt only', 'secret', ['client_secret_jwt', 'private_key_jwt'], 'client_secret_jwt'],
    ['a secret, none of its methods', 'secret', ['private_key_jwt', 'tls_client_auth'], undefined],
    ['a key, nothing listed', 'key', undefined, 'private_key_jwt'],
    ['a key, listed', 'key', ['client_secret_basic', 'private_key_jwt'], 'private_key_jwt'],
    ['a key, not listed', 'key', ['client_secret_basic', 'tls_client_auth'], undefined],
    ['a signer, listed', 'signer', ['private_key_jwt'], 'private_key_jwt'],
    [
      'a certificate, both listed',
      'certificate',
      ['self_signed_tls_client_auth', 'tls_client_auth'],
      'tls_client_auth',
    ],
    [
      'a certificate, only self-signed listed',
      'certificate',
      ['client_secret_basic', 'self_signed_tls_client_auth'],
      'self_signed_tls_client_auth',
    ],
    ['a certificate, nothing listed', 'certificate', undefined, 'tls_client_auth'],
  ])('%s', (_, kind, supported, expected) => {
    expect(pickAuthMethod(kind, supported)).toBe(expected);
  });
});

describe('assertionProblem: what a clientAssertion signer returned, checked before it is sent', () => {
  const jwt = (header: object, claims: object) =>
    `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
  test.each<[string, unknown, RegExp | undefined]>([
    ['a good assertion', jwt({ alg: 'ES256' }, { iss: 'c', sub: 'c' }), undefined],
    ['a number', 42, /not a compact JWT/],
    ['two segments', 'a.b', /not a compact JWT/],
    ['a JWE (five segments)', 'a.b.c.d.e', /not a compact JWT/],
    ['padding in a segment', `${jwt({ alg: 'ES256' }, { iss: 'c', sub: 'c' })}=`, /not a compact JWT/],
    ['a header that is not JSON', `bm90IGpzb24.${Buffer.from('{}').toString('base64url')}.c2ln`, /not JSON objects/],
    ['alg none', jwt({ alg: 'none' }, { iss: 'c', sub: 'c' }), /alg "none"/],
    ['an HMAC alg', jwt({ alg: 'HS256' }, { iss: 'c', sub: 'c' }), /asymmetric/],
    ['no alg', jwt({}, { iss: 'c', sub: 'c' }), /alg null/],
    ['another sub', jwt({ alg: 'ES256' }, { iss: 'c', sub: 'd' }), /iss and sub/],
    ['no iss', jwt({ alg: 'ES256' }, { sub: 'c' }), /iss and sub/],
  ])('%s', (_, value, problem) => {
    const found = assertionProblem(value, 'c');
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});
