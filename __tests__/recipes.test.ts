/**
 * The recipes of README.md ("Using it with an Apiture SDK client", "Where the interceptors
 * sit"), each run as written against loopback servers.
 */
import axios, { type AxiosError } from 'axios';
import axiosRetry from 'axios-retry';
import { attachAuth, ClientCredentialsProvider, PermissionError, TokenEndpointError } from '../src/index.js';
import { getTransfer, listAccounts } from '../examples/apiture/client';
import { createClient } from '../examples/apiture/client/client';
import { json, startServer, type TestServer } from './helpers/http.js';
import { startDemoServersProcess, type DemoServersProcess } from './helpers/run-script.js';

describe('Using it with an Apiture SDK client', () => {
  const credentials = { clientId: 'recipe-app', clientSecret: 'recipe-secret', apiKey: 'recipe-api-key' };
  let servers: DemoServersProcess;
  beforeAll(async () => {
    servers = await startDemoServersProcess(credentials);
  }, 20_000);
  afterAll(() => servers.stop());

  it('takes five lines: provider, instance with API-Key, attachAuth, createClient, a call', async () => {
    const { clientId, clientSecret, apiKey } = credentials;
    const issuer = servers.issuer; // apitureIssuers.production in real life
    // ── the five lines of the README ──
    const tokens = new ClientCredentialsProvider({
      issuer,
      clientId,
      clientSecret,
      scope: ['banking/read', 'banking/write'],
    });
    const api = axios.create({ baseURL: servers.apiUrl, headers: { 'API-Key': apiKey } });
    attachAuth(api, tokens);
    const client = createClient({ axios: api, baseURL: servers.apiUrl, throwOnError: true });
    const { data } = await listAccounts({ client });
    // ──
    expect(data.items.map((a) => a.id)).toEqual(['acc-0001', 'acc-0002', 'acc-0003']);
  });

  it('surfaces a 404 from the SDK as the AxiosError it was, with the RFC 7807 problem', async () => {
    const tokens = new ClientCredentialsProvider({
      issuer: servers.issuer,
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      scope: ['banking/read'],
    });
    const api = axios.create({ baseURL: servers.apiUrl, headers: { 'API-Key': credentials.apiKey } });
    attachAuth(api, tokens);
    const client = createClient({ axios: api, baseURL: servers.apiUrl, throwOnError: true });
    const error = (await getTransfer({ client, path: { transferId: 'tr-9999' } }).catch(
      (e: unknown) => e,
    )) as AxiosError;
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response?.status).toBe(404);
    expect(error.response?.headers['content-type']).toBe('application/problem+json');
    expect(error.response?.data).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

/** A token endpoint and an API on one loopback server, with switches for the failures the recipes meet. */
async function startLoopback() {
  const state = { tokens: 0, tokenFailures: 0, revoked: new Set<string>(), apiFailures: 0 };
  const server: TestServer = await startServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/token') {
      if (state.tokenFailures > 0) {
        state.tokenFailures--;
        return json(res, 503, { error: 'temporarily_unavailable' });
      }
      state.tokens++;
      return json(res, 200, {
        access_token: `token-${state.tokens}-${'x'.repeat(24)}`,
        token_type: 'Bearer',
        expires_in: 3600,
      });
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || state.revoked.has(token) || !token.startsWith('token-')) {
      return json(res, 401, { title: 'Unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    if (path === '/transfers' && req.method === 'POST') {
      return json(
        res,
        403,
        { title: 'Forbidden' },
        { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="moneyMovement/write"' },
      );
    }
    if (state.apiFailures > 0) {
      state.apiFailures--;
      return json(res, 503, { title: 'Service Unavailable' });
    }
    json(res, 200, { ok: true });
  });
  const apiRequests = () => server.requests.filter((r) => r.url !== '/token');
  const issued = () => [...Array(state.tokens).keys()].map((i) => `token-${i + 1}-${'x'.repeat(24)}`);
  return { server, state, apiRequests, issued, tokenUrl: `${server.url}/token` };
}

describe('Where the interceptors sit', () => {
  let loopback: Awaited<ReturnType<typeof startLoopback>>;
  beforeEach(async () => {
    loopback = await startLoopback();
  });
  afterEach(() => loopback.server.close());

  const provider = (options: { retry?: false } = {}) =>
    new ClientCredentialsProvider({ tokenUrl: loopback.tokenUrl, clientId: 'id', clientSecret: 'secret', ...options });

  describe('with axios-retry', () => {
    const setUp = (tokens = provider()) => {
      // ── the recipe ──
      const api = axios.create({ baseURL: loopback.server.url });
      attachAuth(api, tokens); // first: its response interceptor then runs first
      axiosRetry(api, { retries: 3, retryDelay: () => 0 }); // README: axiosRetry.exponentialDelay
      // ──
      return api;
    };

    it('retries an API 503 with the same token, without a new token request', async () => {
      const api = setUp();
      loopback.state.apiFailures = 1;
      const response = await api.get('/accounts');
      expect(response.status).toBe(200);
      const sent = loopback.apiRequests().map((r) => r.headers.authorization);
      expect(sent).toEqual([`Bearer ${loopback.issued()[0]}`, `Bearer ${loopback.issued()[0]}`]);
      expect(loopback.state.tokens).toBe(1);
    });

    it('leaves a 401 to attachAuth: one new token, one replay, no retry loop', async () => {
      const api = setUp();
      await api.get('/accounts');
      loopback.state.revoked.add(loopback.issued()[0]!);
      expect((await api.get('/accounts')).status).toBe(200);
      expect(loopback.state.tokens).toBe(2);
      expect(loopback.apiRequests()).toHaveLength(3);
    });

    it('never retries a PermissionError', async () => {
      const api = setUp();
      const error = await api.post('/transfers', { amount: '1.00' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionError);
      expect((error as PermissionError).requiredScope).toEqual(['moneyMovement/write']);
      expect(loopback.apiRequests()).toHaveLength(1);
    });

    it('does not multiply token requests when the token endpoint is down: the provider owns those retries', async () => {
      const api = setUp(provider({ retry: false }));
      loopback.state.tokenFailures = 1;
      const error = await api.get('/accounts').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenEndpointError);
      expect((error as TokenEndpointError).status).toBe(503);
      expect(loopback.server.requests.filter((r) => r.url === '/token')).toHaveLength(1);
      expect(loopback.apiRequests()).toHaveLength(0);
    });
  });

  describe('with a logging interceptor', () => {
    const setUp = () => {
      const lines: string[] = [];
      const logger = { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };
      // ── the recipe ──
      const api = axios.create({ baseURL: loopback.server.url });
      attachAuth(api, provider());
      axiosRetry(api, { retries: 3, retryDelay: () => 0 });
      api.interceptors.request.use((config) => {
        logger.info(`→ ${config.method?.toUpperCase()} ${axios.getUri(config)}`);
        return config;
      });
      // A replayed or retried call is a request nested in the first one, and its response comes
      // back through every response interceptor twice; log each response or error object once.
      const logged = new WeakSet<object>();
      api.interceptors.response.use(
        (response) => {
          if (!logged.has(response)) {
            logged.add(response);
            logger.info(
              `← ${response.status} ${response.config.method?.toUpperCase()} ${axios.getUri(response.config)}`,
            );
          }
          return response;
        },
        (error: unknown) => {
          if (axios.isAxiosError(error) && !logged.has(error)) {
            logged.add(error);
            logger.warn(
              `← ${error.response?.status ?? error.code} ${error.name} ${error.config?.method?.toUpperCase()} ${error.config ? axios.getUri(error.config) : ''}`,
            );
          }
          throw error;
        },
      );
      // ──
      return { api, lines };
    };

    it('logs each call once, with its outcome, after a replay', async () => {
      const { api, lines } = setUp();
      await api.get('/accounts');
      loopback.state.revoked.add(loopback.issued()[0]!);
      lines.length = 0;
      await api.get('/accounts');
      const url = `${loopback.server.url}/accounts`;
      // The request log shows both HTTP exchanges (the 401 and its replay); the response log, the call's outcome.
      expect(lines).toEqual([`→ GET ${url}`, `→ GET ${url}`, `← 200 GET ${url}`]);
    });

    it('logs a 403 once, as the PermissionError the caller gets', async () => {
      const { api, lines } = setUp();
      await api.post('/transfers', {}).catch(() => undefined);
      expect(lines).toEqual([
        `→ POST ${loopback.server.url}/transfers`,
        `← 403 PermissionError POST ${loopback.server.url}/transfers`,
      ]);
    });

    it('never sees the token, not even in the config headers of a retried or replayed call', async () => {
      const { api } = setUp();
      const seen: string[] = [];
      const record = (config: unknown) => seen.push(JSON.stringify((config as { headers?: unknown }).headers ?? {}));
      api.interceptors.request.use((config) => (record(config), config));
      api.interceptors.response.use(
        (response) => (record(response.config), response),
        (error: AxiosError) => {
          record(error.config);
          throw error;
        },
      );
      loopback.state.apiFailures = 1;
      await api.get('/accounts');
      loopback.state.revoked.add(loopback.issued()[0]!);
      await api.get('/accounts');
      await api.post('/transfers', {}).catch(() => undefined);
      expect(seen.length).toBeGreaterThanOrEqual(8);
      for (const headers of seen) {
        expect(headers).not.toMatch(/authorization/i);
        for (const token of loopback.issued()) expect(headers).not.toContain(token);
      }
    });
  });

  it('checks the URL a request interceptor produced, whichever was registered first', async () => {
    const elsewhere = await startServer((_req, res) => json(res, 200, { elsewhere: true }));
    try {
      const api = axios.create({ baseURL: loopback.server.url });
      attachAuth(api, provider());
      api.interceptors.request.use((config) => ({ ...config, baseURL: elsewhere.url })); // added after attachAuth
      await api.get('/accounts');
      expect(elsewhere.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
      expect(loopback.state.tokens).toBe(0);
    } finally {
      await elsewhere.close();
    }
  });
});
