/**
 * Issue 11: private_key_jwt (a key the library signs with, or a signer the user owns) and client_secret_jwt
 * against a real oidc-provider over https (its certificate from a test CA, trusted through the `ca` option),
 * found by discovery. The server verifies every assertion and refuses a reused `jti`.
 */
import { inspect } from 'node:util';
import {
  ClientCredentialsProvider,
  TokenEndpointError,
  memoryStore,
  type ClientAssertionSigner,
  type ClientCredentialsOptions,
} from '../src/index.js';
import { clientAssertion, ecKey, edKey, jwksOf, rsaKey, type ClientKey } from './helpers/client-keys.js';
import { startOidcServer, type OidcServer, type TokenRequestRecord } from './helpers/oidc-server.js';

const SECRET = 'a-client-secret-of-more-than-32-bytes-for-HS256-signing';
const keys = { es: ecKey(), ps: rsaKey(2048, 'PS256'), rs: rsaKey(2048, 'RS256'), ed: edKey(), kms: ecKey() };

let server: OidcServer;
let fapi: OidcServer;

const unbound = { tls_client_certificate_bound_access_tokens: false };
const keyClient = (id: string, key: ClientKey, alg?: string) => ({
  client_id: id,
  token_endpoint_auth_method: 'private_key_jwt' as const,
  jwks: jwksOf(key),
  ...(alg ? { token_endpoint_auth_signing_alg: alg } : {}),
  ...unbound,
});

beforeAll(async () => {
  [server, fapi] = await Promise.all([
    startOidcServer({
      scopes: ['accounts'],
      clients: [
        keyClient('es256', keys.es),
        keyClient('ps256', keys.ps, 'PS256'),
        keyClient('rs256', keys.rs, 'RS256'),
        keyClient('eddsa', keys.ed),
        keyClient('kms', keys.kms),
        { client_id: 'hs256', token_endpoint_auth_method: 'client_secret_jwt', client_secret: SECRET, ...unbound },
      ],
    }),
    startOidcServer({ scopes: ['accounts'], fapi: '2.0', clients: [keyClient('fapi', keys.es)] }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.close(), fapi?.close()]);
});

function provider(on: OidcServer, options: Partial<ClientCredentialsOptions> & { clientId: string }) {
  return new ClientCredentialsProvider({
    issuer: on.issuer,
    ca: on.ca.cert,
    scope: 'accounts',
    retry: false,
    ...options,
  });
}

async function lastTokenRequest(on: OidcServer): Promise<TokenRequestRecord> {
  const { tokenRequests } = await on.snapshot();
  return tokenRequests[tokenRequests.length - 1]!;
}

function assertionOf(record: TokenRequestRecord): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const assertion = record.clientAssertion;
  if (!assertion || 'malformed' in assertion) throw new Error('no client assertion');
  return assertion;
}

describe('private_key_jwt with a key the library signs with', () => {
  test.each<[string, string, ClientCredentialsOptions['privateKey'], string]>([
    ['ES256 for an EC P-256 JWK', 'es256', keys.es.privateJwk, 'ES256'],
    ['PS256 for an RSA PEM', 'ps256', keys.ps.privatePem, 'PS256'],
    ['RS256 only when asked', 'rs256', { key: keys.rs.privateKey, alg: 'RS256', kid: keys.rs.kid }, 'RS256'],
    ['EdDSA for an Ed25519 KeyObject', 'eddsa', { key: keys.ed.privateKey, kid: keys.ed.kid }, 'EdDSA'],
  ])('gets a token with %s', async (_, clientId, privateKey, alg) => {
    const tokens = provider(server, { clientId, privateKey });
    const token = await tokens.getToken();
    expect(token.accessToken).toMatch(/^ey/);
    const record = await lastTokenRequest(server);
    expect(record.status).toBe(200);
    expect(record.clientId).toBe(clientId);
    expect(record.basicAuthorization).toBe(false);
    expect(record.clientAssertionType).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const { header, claims } = assertionOf(record);
    expect(header.alg).toBe(alg);
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: server.issuer });
    expect(typeof claims.jti).toBe('string');
    expect((claims.jti as string).length).toBeGreaterThanOrEqual(22); // 128 random bits
    expect(claims.exp as number).toBeGreaterThan(claims.iat as number);
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(60);
  });

  test('sends the kid of a JWK in the assertion header', async () => {
    await provider(server, { clientId: 'es256', privateKey: keys.es.privateJwk }).getToken();
    expect(assertionOf(await lastTokenRequest(server)).header.kid).toBe(keys.es.kid);
  });

  test("addresses the assertion to the token endpoint with assertionAudience: 'token_endpoint'", async () => {
    const tokens = provider(server, {
      clientId: 'es256',
      privateKey: keys.es.privateJwk,
      assertionAudience: 'token_endpoint',
    });
    await tokens.getToken();
    const record = await lastTokenRequest(server);
    expect(record.status).toBe(200);
    expect(assertionOf(record).claims.aud).toBe(server.tokenEndpoint);
  });

  test('signs a fresh assertion for every attempt: retries never reuse a jti', async () => {
    const before = (await server.snapshot()).assertionJtis.length;
    await server.failNextTokenRequests(2);
    const tokens = provider(server, {
      clientId: 'es256',
      privateKey: keys.es.privateJwk,
      retry: { retries: 3, baseDelayMs: 1 },
    });
    await tokens.getToken();
    const jtis = (await server.snapshot()).assertionJtis.slice(before);
    expect(jtis).toHaveLength(3);
    expect(new Set(jtis).size).toBe(3);
  });

  test('a cold burst of 200 with retries costs one grant and never trips the replay check', async () => {
    const before = await server.snapshot();
    await server.failNextTokenRequests(2);
    const tokens = provider(server, {
      clientId: 'ps256',
      privateKey: keys.ps.privatePem,
      retry: { retries: 3, baseDelayMs: 1 },
    });
    const all = await Promise.all(Array.from({ length: 200 }, () => tokens.getToken()));
    expect(new Set(all.map((t) => t.accessToken)).size).toBe(1);
    const after = await server.snapshot();
    expect(after.counters.tokensIssued - before.counters.tokensIssued).toBe(1);
    const jtis = after.assertionJtis.slice(before.assertionJtis.length);
    expect(jtis).toHaveLength(3);
    expect(new Set(jtis).size).toBe(3);
    expect(countReplays(after.tokenErrorMessages.slice(before.tokenErrorMessages.length))).toBe(0);
    expect(after.tokenErrorMessages.slice(before.tokenErrorMessages.length)).toEqual([]);
  });

  test('the server refuses an assertion replayed by hand (the check the burst never trips)', async () => {
    const assertion = clientAssertion({ clientId: 'es256', audience: server.issuer, key: keys.es });
    const signer: ClientAssertionSigner = () => assertion;
    const first = provider(server, { clientId: 'es256', clientAssertion: signer });
    await first.getToken();
    const second = provider(server, { clientId: 'es256', clientAssertion: signer });
    const error = await second.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as TokenEndpointError).error).toBe('invalid_client');
    expect(String((error as Error).message)).not.toContain(assertion);
    expect(JSON.stringify(error)).not.toContain(assertion);
    expect((await server.snapshot()).tokenErrorMessages.at(-1)).toMatch(/only be used once/);
  });

  test('no key material, assertion or token shows in inspect, JSON or an error', async () => {
    const tokens = provider(server, { clientId: 'es256', privateKey: keys.es.privatePem });
    const token = await tokens.getToken();
    const shown = `${inspect(tokens, { depth: 10, showHidden: true })} ${JSON.stringify(tokens)}`;
    const pemBody = keys.es.privatePem.split('\n')[1]!;
    expect(shown).not.toContain(pemBody);
    expect(shown).not.toContain(token.accessToken);
    const wrong = provider(server, { clientId: 'es256', privateKey: ecKey().privateJwk });
    const error = (await wrong.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.error).toBe('invalid_client');
    const text = `${error.message} ${error.errorDescription ?? ''} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(text).not.toContain(String(keys.es.privateJwk.d));
  });
});

/** How many of oidc-provider's token errors were jti replays (none expected; counted so a failure says so). */
function countReplays(messages: readonly string[]): number {
  return messages.filter((m) => /only be used once/.test(m)).length;
}

describe('private_key_jwt with a signer you own (clientAssertion)', () => {
  test('is called once per attempt with the client id, the issuer as audience and a signal', async () => {
    const calls: { clientId: string; audience: string; signal: AbortSignal }[] = [];
    await server.failNextTokenRequests(1);
    const tokens = provider(server, {
      clientId: 'kms',
      retry: { retries: 2, baseDelayMs: 1 },
      clientAssertion: async (request) => {
        calls.push(request);
        return clientAssertion({ clientId: request.clientId, audience: request.audience, key: keys.kms });
      },
      encryptionKey: 'not needed without a store, accepted anyway',
    });
    await tokens.getToken();
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => [c.clientId, c.audience])).toEqual([
      ['kms', server.issuer],
      ['kms', server.issuer],
    ]);
    expect(calls[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  test.each<[string, ClientAssertionSigner, RegExp]>([
    [
      'throws',
      () => {
        throw new Error('KMS unavailable');
      },
      /signer failed/,
    ],
    ['rejects', () => Promise.reject(new Error('KMS unavailable')), /signer failed/],
    ['returns something that is not a JWT', () => 'not-a-jwt', /not a compact JWT/],
    ['returns an unsigned JWT', () => 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJrbXMiLCJzdWIiOiJrbXMifQ.e30', /alg "none"/],
    [
      'returns an assertion for another client',
      () => clientAssertion({ clientId: 'someone-else', audience: server.issuer, key: keys.kms }),
      /iss and sub/,
    ],
  ])('that %s gives a TokenEndpointError, and nothing is sent', async (_, signer, message) => {
    const before = (await server.snapshot()).counters.tokenRequests;
    const error = (await provider(server, { clientId: 'kms', clientAssertion: signer })
      .getToken()
      .catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.message).toMatch(message);
    expect((await server.snapshot()).counters.tokenRequests).toBe(before);
  });

  test('that throws keeps the cause', async () => {
    const cause = new Error('KMS unavailable');
    const error = (await provider(server, {
      clientId: 'kms',
      clientAssertion: () => {
        throw cause;
      },
    })
      .getToken()
      .catch((e: unknown) => e)) as TokenEndpointError;
    expect(error.cause).toBe(cause);
  });

  test('that hangs is bounded by timeoutMs and aborted', async () => {
    let signal: AbortSignal | undefined;
    const tokens = provider(server, {
      clientId: 'kms',
      timeoutMs: 300,
      clientAssertion: (request) => {
        signal = request.signal;
        return new Promise<string>(() => undefined);
      },
    });
    const started = Date.now();
    const error = (await tokens.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.message).toMatch(/within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(signal?.aborted).toBe(true);
  });
});

describe('client_secret_jwt', () => {
  test('signs an HS256 assertion with the secret, which never travels', async () => {
    const tokens = provider(server, { clientId: 'hs256', clientSecret: SECRET, authMethod: 'client_secret_jwt' });
    await tokens.getToken();
    const record = await lastTokenRequest(server);
    expect(record.status).toBe(200);
    expect(record.basicAuthorization).toBe(false);
    expect(assertionOf(record).header.alg).toBe('HS256');
    expect(JSON.stringify(record)).not.toContain(SECRET);
  });
});

describe('FAPI 2.0 (oidc-provider profile 2.0 accepts only the issuer as aud)', () => {
  test('the default audience, the issuer, is accepted', async () => {
    const tokens = provider(fapi, { clientId: 'fapi', privateKey: keys.es.privateJwk });
    await expect(tokens.getToken()).resolves.toBeDefined();
    expect(assertionOf(await lastTokenRequest(fapi)).claims.aud).toBe(fapi.issuer);
  });

  test("assertionAudience: 'token_endpoint' is refused there, as a typed error", async () => {
    const tokens = provider(fapi, {
      clientId: 'fapi',
      privateKey: keys.es.privateJwk,
      assertionAudience: 'token_endpoint',
    });
    const error = (await tokens.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.error).toBe('invalid_client');
  });
});

describe('sharing through a store', () => {
  test('providers with one key, given as a JWK in one and a PEM in the other, share one token', async () => {
    const store = memoryStore();
    const before = (await server.snapshot()).counters.tokensIssued;
    const a = provider(server, { clientId: 'es256', privateKey: keys.es.privateJwk, store });
    const b = provider(server, { clientId: 'es256', privateKey: keys.es.privatePem, store });
    const [ta, tb] = [await a.getToken(), await b.getToken()];
    expect(tb.accessToken).toBe(ta.accessToken);
    expect((await server.snapshot()).counters.tokensIssued - before).toBe(1);
  });

  test('providers with a signer share one token through encryptionKey', async () => {
    const store = memoryStore();
    const before = (await server.snapshot()).counters.tokensIssued;
    const signer: ClientAssertionSigner = ({ clientId, audience }) =>
      clientAssertion({ clientId, audience, key: keys.kms });
    const encryptionKey = 'a shared encryption key of the fleet';
    const a = provider(server, { clientId: 'kms', clientAssertion: signer, store, encryptionKey });
    const b = provider(server, { clientId: 'kms', clientAssertion: signer, store, encryptionKey });
    expect((await b.getToken()).accessToken).toBe((await a.getToken()).accessToken);
    expect((await server.snapshot()).counters.tokensIssued - before).toBe(1);
  });
});
