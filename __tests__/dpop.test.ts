/**
 * Issue 12: DPoP (RFC 9449) in one process, against a real oidc-provider (DPoP on, its nonce required at the
 * token endpoint) and a resource server that verifies every proof with jose (typ, alg, signature by the
 * header jwk, htm, htu, iat, a jti replay cache, ath, cnf.jkt) and demands its own nonce.
 */
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { inspect } from 'node:util';
import axios from 'axios';
import { Agent } from 'node:https';
import {
  ClientCredentialsProvider,
  ConfigurationError,
  PermissionError,
  TokenEndpointError,
  attachAuth,
  memoryStore,
  type ClientCredentialsOptions,
} from '../src/index.js';
import { ecKey, jwksOf } from './helpers/client-keys.js';
import { closeAll, json, startServer } from './helpers/http.js';
import { startOidcServer, type OidcServer } from './helpers/oidc-server.js';
import { startResourceServer, type ResourceServer } from './helpers/resource-server.js';

const SECRET = 'dpop-client-secret-of-enough-length';
const key = ecKey();
let server: OidcServer;
let plain: OidcServer;
let api: ResourceServer;

beforeAll(async () => {
  [server, plain] = await Promise.all([
    startOidcServer({
      scopes: ['accounts'],
      dpop: { nonce: true },
      clients: [
        { client_id: 'bound', client_secret: SECRET, dpop_bound_access_tokens: true },
        { client_id: 'pkj', token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(key) },
      ],
    }),
    startOidcServer({ scopes: ['accounts'], dpop: false, clients: [{ client_id: 'bound', client_secret: SECRET }] }),
  ]);
  api = await startResourceServer({
    ca: server.ca,
    issuer: server.issuer,
    jwks: server.jwks,
    audience: server.audience,
    dpop: { requireNonce: true },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.close(), plain?.close(), api?.close()]);
});

function provider(options: Partial<ClientCredentialsOptions> = {}, on: OidcServer = server) {
  return new ClientCredentialsProvider({
    issuer: on.issuer,
    ca: on.ca.cert,
    clientId: 'bound',
    clientSecret: SECRET,
    scope: 'accounts',
    dpop: true,
    retry: false,
    ...options,
  });
}

function apiClient(tokens: ClientCredentialsProvider) {
  const instance = axios.create({ baseURL: api.url, httpsAgent: new Agent({ ca: server.ca.cert }) });
  attachAuth(instance, tokens);
  return instance;
}

function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('at the token endpoint', () => {
  test('gets a DPoP token bound to the key, after one nonce challenge answered at once', async () => {
    const before = (await server.snapshot()).counters;
    const token = await provider().getToken();
    expect(token.tokenType).toBe('DPoP');
    const after = await server.snapshot();
    expect(after.counters.dpopNonceChallenges - before.dpopNonceChallenges).toBe(1);
    expect(after.counters.tokensIssued - before.tokensIssued).toBe(1);
    const [challenged, granted] = after.tokenRequests.slice(-2);
    expect(challenged).toMatchObject({ status: 400, error: 'use_dpop_nonce', dpopProof: true });
    expect(granted).toMatchObject({ status: 200, dpopProof: true, tokenType: 'DPoP' });
    expect(granted!.dpop).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256', htm: 'POST', htu: server.tokenEndpoint });
    expect((granted!.dpop as { nonce?: string }).nonce).toBeDefined();
    expect(claims(token.accessToken).cnf).toEqual({ jkt: granted!.accessTokenJkt });
    expect((challenged!.dpop as { jti: string }).jti).not.toBe((granted!.dpop as { jti: string }).jti);
  });

  test('a server that ignores DPoP and hands out a bearer token is a typed error', async () => {
    const error = (await provider({}, plain)
      .getToken()
      .catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.error).toBe('unsupported_token_type');
    expect(error.message).toMatch(/not DPoP/);
  });

  test('works with private_key_jwt, a key pair of the user, and a fresh proof for every attempt', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tokens = provider({
      clientId: 'pkj',
      clientSecret: undefined,
      privateKey: key.privateJwk,
      dpop: { privateKey: pair.privateKey, publicKey: pair.publicKey },
      retry: { retries: 2, baseDelayMs: 1 },
    });
    const before = (await server.snapshot()).dpopJtis.length;
    await server.failNextTokenRequests(1);
    await expect(tokens.getToken()).resolves.toMatchObject({ tokenType: 'DPoP' });
    const jtis = (await server.snapshot()).dpopJtis.slice(before);
    expect(jtis.length).toBeGreaterThanOrEqual(2);
    expect(new Set(jtis).size).toBe(jtis.length);
  });
});

describe('on API calls', () => {
  test('sends Authorization: DPoP with a proof the resource server verifies, and takes both off the config', async () => {
    const instance = apiClient(provider());
    const response = await instance.get('/accounts?page=2');
    expect(response.status).toBe(200);
    expect(response.config.headers.Authorization).toBeUndefined();
    expect(response.config.headers.DPoP).toBeUndefined();
    const record = (await api.records()).at(-1)!;
    expect(record).toMatchObject({ scheme: 'DPoP', outcome: 'ok' });
  });

  test('a cold burst of 200 costs one grant and one nonce challenge, every proof verified with its own jti', async () => {
    const before = { api: await api.counters(), as: (await server.snapshot()).counters };
    const instance = apiClient(provider());
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => instance.get(`/accounts/${i}`)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const after = { api: await api.counters(), as: (await server.snapshot()).counters };
    expect(after.as.tokensIssued - before.as.tokensIssued).toBe(1);
    expect(after.api.nonceChallenges - before.api.nonceChallenges).toBe(1);
    expect(after.api.proofsVerified - before.api.proofsVerified).toBe(200);
    expect(after.api.distinctJtis - before.api.distinctJtis).toBe(201);
    expect(after.api.replaysRejected - before.api.replaysRejected).toBe(0);
  });

  test('a rotated nonce is answered by one replay with the new nonce, without a grant', async () => {
    const tokens = provider();
    const instance = apiClient(tokens);
    await instance.get('/warm');
    const before = { api: await api.counters(), as: (await server.snapshot()).counters };
    const replays: unknown[] = [];
    tokens.on('replay', (e) => replays.push(e));
    await api.rotateNonce();
    await expect(instance.post('/transfers', { amount: 1 })).resolves.toMatchObject({ status: 200 });
    const after = { api: await api.counters(), as: (await server.snapshot()).counters };
    expect(after.api.nonceChallenges - before.api.nonceChallenges).toBe(1);
    expect(after.as.tokenRequests - before.as.tokenRequests).toBe(0);
    expect(replays).toHaveLength(1);
  });

  test('a replay and a retry each get a new proof; a copied config carries none', async () => {
    const instance = apiClient(provider());
    const first = await instance.get('/one');
    const again = await instance.request(first.config);
    expect(again.status).toBe(200);
    const [a, b] = (await api.records()).slice(-2);
    expect(a!.dpop?.jti).toBeDefined();
    expect(a!.dpop?.jti).not.toBe(b!.dpop?.jti);
  });

  test('a bearer-only client of a DPoP token is refused, never sent without the proof', async () => {
    // The same token sent by hand as Bearer: the resource server refuses a DPoP-bound token used as a bearer one.
    const tokens = provider();
    const token = await tokens.getToken();
    const bare = axios.create({ baseURL: api.url, httpsAgent: new Agent({ ca: server.ca.cert }) });
    const answer = await bare.get('/x', {
      headers: { Authorization: `Bearer ${token.accessToken}` },
      validateStatus: () => true,
    });
    expect(answer.status).toBe(401);
  });

  test('no key, proof or token shows in inspect, JSON or an error', async () => {
    const tokens = provider();
    const instance = apiClient(tokens);
    await instance.get('/accounts');
    const error = await instance
      .get('/accounts', { adapter: () => Promise.reject(new Error('network down')) })
      .catch((e: unknown) => e);
    const token = await tokens.getToken();
    const shown = `${inspect(tokens, { depth: 10, showHidden: true })} ${JSON.stringify(tokens)} ${inspect(error, { depth: 10 })}`;
    expect(shown).not.toContain(token.accessToken);
    expect(shown).not.toMatch(/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+/);
    expect(shown).not.toMatch(/"d":"/);
  });
});

describe('configuration', () => {
  test.each<[string, unknown, RegExp]>([
    ['not a key pair', 'yes', /dpop must be true/],
    [
      'a public key as the private key',
      { privateKey: key.publicKey, publicKey: key.publicKey },
      /private key and its public key/,
    ],
    ['a pair that does not match', { privateKey: key.privateKey, publicKey: ecKey().publicKey }, /not the public key/],
    ['something that is not a key', { privateKey: 'pem', publicKey: 'pem' }, /CryptoKey or a KeyObject/],
  ])('rejects %s', (_, dpop, message) => {
    expect(() => provider({ dpop: dpop as never })).toThrow(ConfigurationError);
    expect(() => provider({ dpop: dpop as never })).toThrow(message);
  });

  test('accepts a non-extractable CryptoKey pair, whose private key never leaves it', async () => {
    const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const instance = apiClient(provider({ dpop: pair }));
    await expect(instance.get('/accounts')).resolves.toMatchObject({ status: 200 });
  });
});

describe('sharing through a store (the fleet, in one process)', () => {
  async function grantsAndCalls(a: ClientCredentialsProvider, b: ClientCredentialsProvider) {
    const before = (await server.snapshot()).counters.tokensIssued;
    const beforeApi = await api.counters();
    const [first, second] = [await apiClient(a).get('/a'), await apiClient(b).get('/b')];
    expect([first.status, second.status]).toEqual([200, 200]);
    const afterApi = await api.counters();
    expect(afterApi.proofsVerified - beforeApi.proofsVerified).toBe(2);
    return (await server.snapshot()).counters.tokensIssued - before;
  }

  test('with dpop: true, the key travels with the token: a second provider proves possession of it', async () => {
    const store = memoryStore();
    expect(await grantsAndCalls(provider({ store }), provider({ store }))).toBe(1);
  });

  test('with the same key pair of your own, providers share one token; the key never travels', async () => {
    const store = memoryStore();
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const written: string[] = [];
    const watched = {
      get: (k: string) => store.get(k),
      delete: (k: string, v: string) => store.delete(k, v),
      set: (k: string, v: string, ttl: number) => (written.push(v), store.set(k, v, ttl)),
    };
    const options = { store: watched, dpop: pair, encryptionKey: undefined };
    expect(await grantsAndCalls(provider(options), provider(options))).toBe(1);
    expect(written).toHaveLength(1);
  });

  test('with different key pairs, providers never use each other’s token', async () => {
    const store = memoryStore();
    const one = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const two = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await grantsAndCalls(provider({ store, dpop: one }), provider({ store, dpop: two }))).toBe(2);
  });

  test('a DPoP provider and a bearer provider of the same client never share an entry', async () => {
    const store = memoryStore();
    const keys = new Set<string>();
    const watched = {
      get: (k: string) => (keys.add(k), store.get(k)),
      delete: (k: string, v: string) => store.delete(k, v),
      set: (k: string, v: string, ttl: number) => store.set(k, v, ttl),
    };
    await provider({ store: watched }).getToken();
    await provider({ store: watched, dpop: false }, plain).getToken();
    expect(keys.size).toBe(2);
  });
});

describe('a 403 from a DPoP API (RFC 9449 §7.1: the DPoP challenge carries the RFC 6750 attributes)', () => {
  afterAll(closeAll);

  test('becomes a PermissionError naming the scope the DPoP challenge asks for', async () => {
    const auth = await startServer((_req, res) =>
      json(res, 200, { access_token: 'dpop-token-1', token_type: 'DPoP', expires_in: 300 }),
    );
    const bank = await startServer((_req, res) => {
      res.writeHead(403, {
        'WWW-Authenticate':
          'DPoP realm="banking", algs="ES256", error="insufficient_scope", scope="moneyMovement/write", Bearer realm="banking"',
      });
      res.end();
    });
    const tokens = new ClientCredentialsProvider({
      tokenUrl: `${auth.url}/token`,
      clientId: 'c',
      clientSecret: 's',
      dpop: true,
    });
    const denied: unknown[] = [];
    tokens.on('denied', (e) => denied.push(e));
    const instance = axios.create({ baseURL: bank.url });
    attachAuth(instance, tokens);
    const error = (await instance.post('/transfers', {}).catch((e: unknown) => e)) as PermissionError;
    expect(error).toBeInstanceOf(PermissionError);
    expect(error.requiredScope).toEqual(['moneyMovement/write']);
    expect(error.challenge).toMatchObject({ scheme: 'DPoP', error: 'insufficient_scope' });
    expect(error.message).toMatch(/lacks scope moneyMovement\/write/);
    expect(denied).toEqual([expect.objectContaining({ requiredScope: ['moneyMovement/write'] })]);
    expect(bank.requests[0]!.headers.authorization).toBe('DPoP dpop-token-1');
    expect(bank.requests[0]!.headers.dpop).toMatch(/^eyJ/);
  });
});
