/**
 * Issue 9, test strength: unit tables of client authentication (src/grant/client-auth.ts). RFC 6749
 * §2.3.1: for HTTP Basic the client id and secret are each form-urlencoded (Appendix B) before they
 * are joined with `:` and base64-encoded, so a `:` in an id cannot shift the split and `%`, `+`,
 * spaces and non-ASCII reach a compliant server intact. With `client_secret_post` both go in the body.
 */
import { createHmac, generateKeyPairSync, verify } from 'node:crypto';
import fc from 'fast-check';
import { TokenEndpointError } from '../src/errors.js';
import {
  CLIENT_AUTH_METHODS,
  assertionProblem,
  authenticate,
  jwtForms,
  pickAuthMethod,
  basicCredentials,
  type AuthAttempt,
  type ClientAssertionSigner,
  type ClientAuthMethod,
  type ClientCredential,
} from '../src/grant/client-auth.js';
import { importPrivateKey } from '../src/grant/signing-key.js';

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
    [
      'a String object holding a good assertion',
      new String(jwt({ alg: 'ES256' }, { iss: 'c', sub: 'c' })),
      /compact JWT/,
    ],
    [
      'an object whose text is a good assertion',
      { toString: () => jwt({ alg: 'ES256' }, { iss: 'c', sub: 'c' }) },
      /JWT/,
    ],
    ['two segments', 'a.b', /not a compact JWT/],
    ['a JWE (five segments)', 'a.b.c.d.e', /not a compact JWT/],
    ['padding in a segment', `${jwt({ alg: 'ES256' }, { iss: 'c', sub: 'c' })}=`, /not a compact JWT/],
    ['a header that is not JSON', `bm90IGpzb24.${Buffer.from('{}').toString('base64url')}.c2ln`, /not JSON objects/],
    ['a header that is a JSON number', jwt(123 as unknown as object, { iss: 'c', sub: 'c' }), /not JSON objects/],
    ['a header that is a JSON string', jwt('ES256' as unknown as object, { iss: 'c', sub: 'c' }), /not JSON objects/],
    ['a header that is a JSON array', jwt(['ES256'], { iss: 'c', sub: 'c' }), /not JSON objects/],
    ['claims that are JSON null', jwt({ alg: 'ES256' }, null as unknown as object), /not JSON objects/],
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

describe('authenticate (client assertions, RFC 7523 §2.2)', () => {
  const NOW = 1_800_000_000;
  const AUDIENCE = 'https://auth.example.com/token';
  const attempt = (method: ClientAuthMethod, credential: ClientCredential, timeoutMs = 1000): AuthAttempt => ({
    method,
    credential,
    clientId: 'my client',
    audience: AUDIENCE,
    timeoutMs,
    nowSeconds: NOW,
  });
  const json = (part: string | undefined): Record<string, unknown> =>
    JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  /** A well-formed assertion as a signer would return it (the signature is not checked here). */
  const signed = `${b64url({ alg: 'ES256' })}.${b64url({ iss: 'my client', sub: 'my client' })}.c2ln`;

  /** What one attempt adds to a token request: its headers, its form body and the texts no error may show. */
  async function send(auth: AuthAttempt) {
    const headers: Record<string, string> = {};
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const hidden = await authenticate(auth, headers, body);
    return { headers, body: Object.fromEntries(body), hidden };
  }

  /** The error `authenticate` rejects with, or a failure when it resolves. */
  async function failure(auth: AuthAttempt): Promise<TokenEndpointError> {
    const error: unknown = await send(auth).then(
      () => new Error('resolved'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenEndpointError);
    return error as TokenEndpointError;
  }

  function expectClaims(assertion: string): void {
    const claims = json(assertion.split('.')[1]);
    expect(claims).toEqual({
      iss: 'my client',
      sub: 'my client',
      aud: AUDIENCE,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) as unknown,
      iat: NOW,
      exp: NOW + 60,
    });
  }

  test('client_secret_jwt sends an HS256 assertion over the secret, and never the secret itself', async () => {
    const { headers, body, hidden } = await send(attempt('client_secret_jwt', { kind: 'secret', secret: 'se:cret' }));
    expect(headers).toEqual({});
    expect(body).toEqual({
      grant_type: 'client_credentials',
      client_id: 'my client',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: expect.any(String) as unknown,
    });
    const assertion = body.client_assertion!;
    expect(hidden).toEqual(jwtForms(assertion));
    const [header, claims, signature] = assertion.split('.');
    expect(json(header)).toEqual({ alg: 'HS256' });
    expectClaims(assertion);
    expect(signature).toBe(createHmac('sha256', 'se:cret').update(`${header}.${claims}`).digest('base64url'));
    expect(JSON.stringify(body)).not.toContain('se:cret');
  });

  test('private_key_jwt signs with the private key: the server verifies the assertion with the public key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = importPrivateKey(privateKey);
    const { headers, body, hidden } = await send(attempt('private_key_jwt', { kind: 'key', key }));
    expect(headers).toEqual({});
    expect(body.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = body.client_assertion!;
    expect(hidden).toEqual(jwtForms(assertion));
    const [header, claims, signature] = assertion.split('.');
    expect(json(header)).toEqual({ alg: 'ES256' });
    expectClaims(assertion);
    const data = Buffer.from(`${header}.${claims}`);
    const sig = Buffer.from(signature!, 'base64url');
    expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  test('makes a fresh assertion with a new jti for every attempt, retries included', async () => {
    const auth = attempt('client_secret_jwt', { kind: 'secret', secret: 'se:cret' });
    const [first, second] = [(await send(auth)).body.client_assertion, (await send(auth)).body.client_assertion];
    expect(json(first?.split('.')[1]).jti).not.toBe(json(second?.split('.')[1]).jti);
  });

  test('private_key_jwt with a signer sends what it returned, having asked it for the client id and audience', async () => {
    const calls: Parameters<ClientAssertionSigner>[0][] = [];
    const sign: ClientAssertionSigner = async (request) => {
      calls.push(request);
      return signed;
    };
    const { headers, body, hidden } = await send(attempt('private_key_jwt', { kind: 'signer', sign }));
    expect(calls).toEqual([{ clientId: 'my client', audience: AUDIENCE, signal: expect.any(AbortSignal) as unknown }]);
    expect(calls[0]?.signal.aborted).toBe(false);
    expect(headers).toEqual({});
    expect(body).toEqual({
      grant_type: 'client_credentials',
      client_id: 'my client',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signed,
    });
    expect(hidden).toEqual(jwtForms(signed));
  });

  test('takes an assertion a signer returns synchronously', async () => {
    const { body } = await send(attempt('private_key_jwt', { kind: 'signer', sign: () => signed }));
    expect(body.client_assertion).toBe(signed);
  });

  test('gives up on a signer that does not answer within timeoutMs, aborts its signal, and sends nothing', async () => {
    let signal: AbortSignal | undefined;
    const sign: ClientAssertionSigner = (request) => {
      signal = request.signal;
      return new Promise<string>(() => undefined);
    };
    const error = await failure(attempt('private_key_jwt', { kind: 'signer', sign }, 30));
    expect(error.message).toBe('The clientAssertion signer gave no assertion within 30 ms; no token request was sent.');
    expect(error).toMatchObject({ error: 'invalid_client_assertion', retryable: true });
    expect(signal?.aborted).toBe(true);
  });

  test('never aborts a signer that answered in time: its timer is cleared', async () => {
    let signal: AbortSignal | undefined;
    const sign: ClientAssertionSigner = (request) => {
      signal = request.signal;
      return signed;
    };
    await send(attempt('private_key_jwt', { kind: 'signer', sign }, 20));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(signal?.aborted).toBe(false);
  });

  test.each<[string, ClientAssertionSigner]>([
    [
      'throws',
      () => {
        throw new Error('kms down');
      },
    ],
    ['rejects', () => Promise.reject(new Error('kms down'))],
  ])('reports a signer that %s as a retryable failure, with its error as the cause', async (_how, sign) => {
    const error = await failure(attempt('private_key_jwt', { kind: 'signer', sign }));
    expect(error.message).toBe('The clientAssertion signer failed; no token request was sent.');
    expect(error).toMatchObject({ error: 'invalid_client_assertion', retryable: true });
    expect((error.cause as Error).message).toBe('kms down');
  });

  test('passes on a TokenEndpointError the signer threw, as it is', async () => {
    const own = new TokenEndpointError('the KMS refused', { error: 'kms_refused' });
    const error = await failure(attempt('private_key_jwt', { kind: 'signer', sign: () => Promise.reject(own) }));
    expect(error).toBe(own);
  });

  test('refuses what a signer returned that is no usable assertion, as not retryable, and sends nothing', async () => {
    const error = await failure(attempt('private_key_jwt', { kind: 'signer', sign: () => 'not a jwt' }));
    expect(error.message).toBe(
      'The clientAssertion signer returned something that is not a compact JWT; no token request was sent.',
    );
    expect(error).toMatchObject({ error: 'invalid_client_assertion', retryable: false });
    expect(error.cause).toBeUndefined();
  });

  test.each<ClientAuthMethod>(['tls_client_auth', 'self_signed_tls_client_auth'])(
    '%s sends the client id alone: the certificate authenticates on the connection (RFC 8705 §2)',
    async (method) => {
      const { headers, body, hidden } = await send(attempt(method, { kind: 'certificate' }));
      expect(headers).toEqual({});
      expect(body).toEqual({ grant_type: 'client_credentials', client_id: 'my client' });
      expect(hidden).toEqual([]);
    },
  );

  test('private_key_jwt with nothing to sign with fails before anything is sent, as not retryable', async () => {
    const error = await failure(attempt('private_key_jwt', { kind: 'certificate' }));
    expect(error.message).toBe('private_key_jwt needs a private key, a signer or a secret.');
    expect(error.retryable).toBe(false);
  });

  test.each<ClientAuthMethod>(['client_secret_basic', 'client_secret_post'])(
    '%s with a credential that holds no secret never sends an undefined secret',
    async (method) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { headers, body } = await send(attempt(method, { kind: 'key', key: importPrivateKey(privateKey) }));
      expect(headers).toEqual({});
      expect(body).not.toHaveProperty('client_secret');
      expect(JSON.stringify({ headers, body })).not.toContain('undefined');
    },
  );
});
