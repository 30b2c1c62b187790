/**
 * Issue 4, "Discovery": `issuer` instead of `tokenUrl` (OpenID Connect Discovery 1.0, RFC 8414),
 * against a loopback authorization server that serves its metadata and counts every request.
 */
import axios, { type AxiosAdapter } from 'axios';
import {
  apitureIssuers,
  attachAuth,
  ClientCredentialsProvider,
  DiscoveryError,
  type ErrorEvent,
} from '../src/index.js';
import https from 'node:https';
import { json, startServer, type TestServer } from './helpers/http.js';
import { makeCa, startHttpsServer } from './helpers/tls.js';
import { basicOf, closedPortUrl, formOf, manualClock, rejectionOf } from './helpers/vendors/common.js';

const credentials = { clientId: 'disco-client', clientSecret: 'disco-secret-5a4b' };

type Answer = { status: number; body?: unknown } | ((origin: string) => { status: number; body?: unknown });

interface IssuerServer extends TestServer {
  issuer: string;
  /** Every request as `METHOD path`, in order. */
  readonly log: string[];
  readonly discoveryRequests: string[];
  readonly tokenRequests: TestServer['requests'];
  /** Answer of each discovery path, by path; a missing path answers 404. */
  answers: Record<string, Answer | Answer[]>;
}

/** The metadata an issuer at `origin` + `path` publishes. */
function metadata(origin: string, path = '/oidc/', extra: Record<string, unknown> = {}) {
  return {
    issuer: `${origin}${path}`,
    authorization_endpoint: `${origin}${path}authorize`,
    token_endpoint: `${origin}${path}token`,
    jwks_uri: `${origin}${path}jwks`,
    ...extra,
  };
}

/** An authorization server whose issuer is `<origin><issuerPath>` and whose token endpoint is `<issuer>token`. */
async function startIssuer(issuerPath = '/oidc/'): Promise<IssuerServer> {
  const log: string[] = [];
  const answers: IssuerServer['answers'] = {};
  let count = 0;
  const server = await startServer((req, res) => {
    const path = req.url.split('?')[0] ?? '';
    log.push(`${req.method} ${path}`);
    if (req.method === 'POST' && path === `${issuerPath}token`) {
      count++;
      return json(res, 200, { access_token: `token-${count}`, token_type: 'Bearer', expires_in: 3600 });
    }
    const configured = answers[path];
    const answer = Array.isArray(configured)
      ? configured.length > 1
        ? configured.shift()
        : configured[0]
      : configured;
    if (!answer) return json(res, 404, { error: 'not_found' });
    const { status, body } = typeof answer === 'function' ? answer(server.origin) : answer;
    json(res, status, body ?? {});
  });
  const tokenPath = `${issuerPath}token`;
  return Object.defineProperties(server, {
    issuer: { value: `${server.origin}${issuerPath}` },
    log: { value: log },
    answers: { value: answers },
    discoveryRequests: { get: () => log.filter((line) => line.includes('/.well-known/')) },
    tokenRequests: { get: () => server.requests.filter((r) => r.method === 'POST' && r.url === tokenPath) },
  }) as IssuerServer;
}

const OPENID = '/oidc/.well-known/openid-configuration';
const RFC8414 = '/.well-known/oauth-authorization-server/oidc';
const ok =
  (extra: Record<string, unknown> = {}): Answer =>
  (origin) => ({ status: 200, body: metadata(origin, '/oidc/', extra) });

describe('fetching the metadata', () => {
  it('fetches <issuer>/.well-known/openid-configuration lazily, with the first token, then posts to its token_endpoint', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.log).toEqual([]);
    const token = await provider.getToken();
    expect(token.accessToken).toBe('token-1');
    expect(server.log).toEqual([`GET ${OPENID}`, 'POST /oidc/token']);
  });

  it('fetches the metadata once for every later token: expiry, forceRefresh and invalidate never fetch it again', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok();
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials, now: clock.now });
    const first = await provider.getToken();
    clock.advance(3600_000);
    await provider.getToken();
    await provider.getToken({ forceRefresh: true });
    provider.invalidate(await provider.getToken());
    const last = await provider.getToken();
    expect(first.accessToken).toBe('token-1');
    expect(last.accessToken).toBe('token-4');
    expect(server.discoveryRequests).toEqual([`GET ${OPENID}`]);
  });

  it('falls back to /.well-known/oauth-authorization-server inserted before the issuer path (RFC 8414 §3.1) when openid-configuration is not found', async () => {
    const server = await startIssuer();
    server.answers[RFC8414] = ok();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.log).toEqual([`GET ${OPENID}`, `GET ${RFC8414}`, 'POST /oidc/token']);
  });

  it('looks both documents up at the root for an issuer without a path', async () => {
    const server = await startIssuer('/');
    server.answers['/.well-known/oauth-authorization-server'] = (origin) => ({
      status: 200,
      body: metadata(origin, '/'),
    });
    const provider = new ClientCredentialsProvider({ issuer: server.origin, ...credentials });
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.log).toEqual([
      'GET /.well-known/openid-configuration',
      'GET /.well-known/oauth-authorization-server',
      'POST /token',
    ]);
  });

  it('sends one discovery request for 25 concurrent first calls, and one token request', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    const tokens = await Promise.all(Array.from({ length: 25 }, () => provider.getToken()));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['token-1']));
    expect(server.log).toEqual([`GET ${OPENID}`, 'POST /oidc/token']);
  });

  it('sends one discovery request for 25 concurrent API requests through attachAuth', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok();
    const api = await startServer((_req, res) => json(res, 200, { ok: true }));
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    await Promise.all(Array.from({ length: 25 }, (_, i) => client.get(`/r/${i}`)));
    expect(server.log).toEqual([`GET ${OPENID}`, 'POST /oidc/token']);
    expect(new Set(api.requests.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer token-1']));
  });
});

describe('checking the metadata', () => {
  it.each([
    ['openid-configuration', OPENID],
    ['oauth-authorization-server', RFC8414],
  ])(
    'rejects a %s document that names another issuer with a DiscoveryError and sends no token request (RFC 8414 §3.3)',
    async (_, path) => {
      const server = await startIssuer();
      server.answers[path] = (origin) => ({
        status: 200,
        body: metadata(origin, '/oidc/', { issuer: 'https://evil.example/oidc/' }),
      });
      const errors: ErrorEvent[] = [];
      const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
      provider.on('error', (e) => errors.push(e));
      const error = await rejectionOf(provider.getToken());
      expect(error).toBeInstanceOf(DiscoveryError);
      expect(error).toMatchObject({ code: 'ERR_DISCOVERY' });
      expect((error as Error).message).toContain('https://evil.example/oidc/');
      expect(server.tokenRequests).toHaveLength(0);
      expect(errors.map((e) => [e.phase, e.error])).toEqual([['discovery', error]]);
    },
  );

  it('does not fall back to the RFC 8414 document when the openid-configuration names another issuer', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = (origin) => ({
      status: 200,
      body: metadata(origin, '/oidc/', { issuer: `${origin}/other/` }),
    });
    server.answers[RFC8414] = ok();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    expect(await rejectionOf(provider.getToken())).toBeInstanceOf(DiscoveryError);
    expect(server.log).toEqual([`GET ${OPENID}`]);
  });

  it('fails with a DiscoveryError naming both URLs when neither document exists', async () => {
    const server = await startIssuer();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toContain(OPENID);
    expect((error as Error).message).toContain(RFC8414);
    expect(server.tokenRequests).toHaveLength(0);
  });

  it('rejects a document whose token_endpoint would send the secret in clear to another host', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok({ token_endpoint: 'http://auth.example.com/token' });
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as Error).message).toContain('token_endpoint');
  });
});

describe('an https issuer never leads to plain http', () => {
  const ca = makeCa();
  const httpClient = () => axios.create({ httpsAgent: new https.Agent({ ca: ca.cert }) });

  it.each([
    ['a loopback', (origin: string) => `${origin}/token`],
    ['a loopback, with allowInsecureHttp,', (origin: string) => `${origin}/token`, true],
  ])(
    "refuses %s plain-http token_endpoint in an https issuer's document, and sends the credentials nowhere",
    async (_, endpoint, allowInsecureHttp = false) => {
      const clear = await startServer((_req, res) => json(res, 200, { access_token: 'leaked', token_type: 'Bearer' }));
      const issuer = await startHttpsServer(ca, (req, res) => {
        const origin = `https://127.0.0.1:${String(req.headers.host).split(':')[1]}`;
        if (req.url === '/.well-known/openid-configuration')
          return json(res, 200, { issuer: `${origin}/`, token_endpoint: endpoint(clear.origin) });
        json(res, 404, {});
      });
      const provider = new ClientCredentialsProvider({
        issuer: `${issuer.origin}/`,
        ...credentials,
        httpClient: httpClient(),
        allowInsecureHttp,
      });
      const error = await rejectionOf(provider.getToken());
      expect(error).toBeInstanceOf(DiscoveryError);
      expect((error as Error).message).toMatch(/plain-http token_endpoint for the https issuer/);
      expect(clear.requests).toHaveLength(0);
    },
  );

  it('uses an https token_endpoint of an https issuer', async () => {
    const issuer = await startHttpsServer(ca, (req, res) => {
      const origin = `https://127.0.0.1:${String(req.headers.host).split(':')[1]}`;
      if (req.url === '/.well-known/openid-configuration')
        return json(res, 200, { issuer: `${origin}/`, token_endpoint: `${origin}/token` });
      if (req.url === '/token')
        return json(res, 200, { access_token: 'tls-token', token_type: 'Bearer', expires_in: 60 });
      json(res, 404, {});
    });
    const provider = new ClientCredentialsProvider({
      issuer: `${issuer.origin}/`,
      ...credentials,
      httpClient: httpClient(),
    });
    expect((await provider.getToken()).accessToken).toBe('tls-token');
  });
});

describe('after a failure', () => {
  it('fetches the metadata again on the next call after a failed discovery', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = [{ status: 500, body: { error: 'server_error' } }, ok()];
    const provider = new ClientCredentialsProvider({
      issuer: server.issuer,
      ...credentials,
      retry: false,
      failureCooldownMs: 0,
    });
    expect(await rejectionOf(provider.getToken())).toBeInstanceOf(DiscoveryError);
    expect(server.tokenRequests).toHaveLength(0);
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.log).toEqual([`GET ${OPENID}`, `GET ${RFC8414}`, `GET ${OPENID}`, 'POST /oidc/token']);
    await provider.getToken({ forceRefresh: true });
    expect(server.discoveryRequests).toHaveLength(3);
  });

  it('fetches the metadata again after a document that listed no usable client authentication method', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = [
      ok({ token_endpoint_auth_methods_supported: ['private_key_jwt'] }),
      ok({ token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'] }),
    ];
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials, failureCooldownMs: 0 });
    expect(await rejectionOf(provider.getToken())).toBeInstanceOf(DiscoveryError);
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.log).toEqual([`GET ${OPENID}`, `GET ${OPENID}`, 'POST /oidc/token']);
  });

  it('fails fast with the same DiscoveryError during the failure cooldown, then fetches again', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = [{ status: 404 }, ok()];
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials, now: clock.now });
    const first = await rejectionOf(provider.getToken());
    expect(await rejectionOf(provider.getToken())).toBe(first);
    expect(server.discoveryRequests).toHaveLength(2);
    clock.advance(1000);
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.discoveryRequests).toHaveLength(3);
  });

  it('fails with a DiscoveryError after retrying a discovery that finds nothing listening', async () => {
    const issuer = await closedPortUrl('/oidc/');
    const provider = new ClientCredentialsProvider({ issuer, ...credentials, retry: { retries: 1, baseDelayMs: 1 } });
    const retries: unknown[] = [];
    provider.on('retry', (r) => retries.push(r));
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(retries).toEqual([
      { attempt: 1, delayMs: expect.any(Number), reason: 'ECONNREFUSED', request: 'discovery' },
    ]);
  });

  it('retries a discovery request that meets a 503, as it does a token request', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = [{ status: 503 }, ok()];
    const provider = new ClientCredentialsProvider({
      issuer: server.issuer,
      ...credentials,
      retry: { baseDelayMs: 5 },
    });
    const retries: unknown[] = [];
    provider.on('retry', (r) => retries.push(r));
    expect((await provider.getToken()).accessToken).toBe('token-1');
    expect(server.log).toEqual([`GET ${OPENID}`, `GET ${OPENID}`, 'POST /oidc/token']);
    expect(retries).toEqual([{ attempt: 1, delayMs: expect.any(Number), reason: 'HTTP 503', request: 'discovery' }]);
  });
});

describe('client authentication from token_endpoint_auth_methods_supported', () => {
  it.each([
    ['both methods', ['client_secret_post', 'client_secret_basic'], 'basic'],
    ['only client_secret_basic', ['client_secret_basic'], 'basic'],
    ['only client_secret_post', ['client_secret_post'], 'post'],
    ['client_secret_post among others', ['private_key_jwt', 'client_secret_post'], 'post'],
    ['no list (RFC 8414 default)', undefined, 'basic'],
  ])('with %s listed, authenticates with %s', async (_, methods, expected) => {
    const server = await startIssuer();
    server.answers[OPENID] = ok(methods ? { token_endpoint_auth_methods_supported: methods } : {});
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    await provider.getToken();
    const request = server.tokenRequests[0]!;
    const form = formOf(request);
    if (expected === 'basic') {
      expect(request.headers.authorization).toBe(basicOf(credentials.clientId, credentials.clientSecret));
      expect(form).not.toHaveProperty('client_secret');
    } else {
      expect(request.headers.authorization).toBeUndefined();
      expect(form).toMatchObject({ client_id: credentials.clientId, client_secret: credentials.clientSecret });
    }
  });

  it('keeps an explicit authMethod whatever the document lists', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok({ token_endpoint_auth_methods_supported: ['client_secret_basic'] });
    const provider = new ClientCredentialsProvider({
      issuer: server.issuer,
      ...credentials,
      authMethod: 'client_secret_post',
    });
    await provider.getToken();
    expect(formOf(server.tokenRequests[0]!)).toMatchObject({ client_secret: credentials.clientSecret });
  });

  it('fails with a DiscoveryError when the server supports neither secret method, and sends no token request', async () => {
    const server = await startIssuer();
    server.answers[OPENID] = ok({ token_endpoint_auth_methods_supported: ['private_key_jwt', 'tls_client_auth'] });
    const provider = new ClientCredentialsProvider({ issuer: server.issuer, ...credentials });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as Error).message).toContain('private_key_jwt');
    expect(server.tokenRequests).toHaveLength(0);
  });
});

describe('apitureIssuers', () => {
  // From /work/shared/vendor-docs/apiture-client-credentials-environments.txt.
  const documented = {
    production: {
      issuer: 'https://auth.apiture.com/oidc/',
      discovery: 'https://auth.apiture.com/oidc/.well-known/openid-configuration',
    },
    cat: {
      issuer: 'https://cat-oidc.apiture-comm-preprod.com/oidc/',
      discovery: 'https://cat-oidc.apiture-comm-preprod.com/oidc/.well-known/openid-configuration',
    },
    cat2: {
      issuer: 'https://cat2-oidc.apiture-comm-preprod.com/oidc/',
      discovery: 'https://cat2-oidc.apiture-comm-preprod.com/oidc/.well-known/openid-configuration',
    },
  } as const;

  it('names production, CAT and CAT2 with the root OIDC authority URLs of the Apiture document', () => {
    expect({ ...apitureIssuers }).toEqual({
      production: documented.production.issuer,
      cat: documented.cat.issuer,
      cat2: documented.cat2.issuer,
    });
    expect(Object.isFrozen(apitureIssuers)).toBe(true);
  });

  it.each(Object.keys(documented) as (keyof typeof documented)[])(
    'fetches the documented OIDC discovery URL for apitureIssuers.%s',
    async (name) => {
      // No network: an adapter answers as the environment would, and records what the provider asked for.
      const asked: string[] = [];
      const adapter: AxiosAdapter = async (config) => {
        const url = String(config.url);
        asked.push(`${String(config.method).toUpperCase()} ${url}`);
        const origin = new URL(url).origin;
        const data = url.endsWith('/openid-configuration')
          ? JSON.stringify(
              metadata(origin, '/oidc/', {
                token_endpoint: `${origin}/oidc/token`,
                token_endpoint_auth_methods_supported: ['client_secret_basic'],
              }),
            )
          : JSON.stringify({
              access_token: 'C1AC67D1EB404070B61DB7ECD5C635A7',
              token_type: 'Bearer',
              expires_in: 3600,
            });
        return {
          data,
          status: 200,
          statusText: 'OK',
          headers: { 'content-type': 'application/json' },
          config,
          request: {},
        };
      };
      const provider = new ClientCredentialsProvider({
        issuer: apitureIssuers[name],
        ...credentials,
        scope: 'banking/read',
        httpClient: axios.create({ adapter }),
      });
      const token = await provider.getToken();
      expect(token.accessToken).toBe('C1AC67D1EB404070B61DB7ECD5C635A7');
      expect(asked).toEqual([
        `GET ${documented[name].discovery}`,
        `POST ${new URL(documented[name].issuer).origin}/oidc/token`,
      ]);
    },
  );
});
