/**
 * A request waiting for its token, end to end on loopback servers: its AbortSignal, CancelToken and timeout end its
 * own wait only (the timeout bounds token wait and API call together), and a failing token endpoint means the API
 * request is not sent. Both jest projects.
 */
import axios, { AxiosError } from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';
import { attachedClient } from './helpers/attached-client.js';

describe('waiting for a token', () => {
  test('an aborted request rejects at once with CanceledError while others waiting on the same token succeed', async () => {
    const { auth, client } = await attachedClient();
    let release!: () => void;
    auth.next((_req, res) =>
      new Promise<void>((r) => (release = r)).then(() => json(res, 200, { access_token: 'late', expires_in: 60 })),
    );
    auth.issued.push('late');
    const controller = new AbortController();
    const aborted = client.get('/a', { signal: controller.signal });
    const other = client.get('/b');
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const error = await aborted.catch((e: unknown) => e);
    expect(axios.isCancel(error)).toBe(true);
    release();
    expect((await other).status).toBe(200);
  });

  test('a CancelToken cancels its own waiting request only, and its listener is removed once the wait ends', async () => {
    const { auth, client } = await attachedClient();
    let release!: () => void;
    auth.next((_req, res) =>
      new Promise<void>((r) => (release = r)).then(() => json(res, 200, { access_token: 'late', expires_in: 60 })),
    );
    auth.issued.push('late');
    const source = axios.CancelToken.source();
    const other = axios.CancelToken.source();
    const waiting = client.get('/a', { cancelToken: source.token });
    const fine = client.get('/b', { cancelToken: other.token });
    await new Promise((r) => setTimeout(r, 50));
    source.cancel('stop');
    expect(axios.isCancel(await waiting.catch((e: unknown) => e))).toBe(true);
    release();
    expect((await fine).status).toBe(200);
    const listeners = (other.token as unknown as { _listeners?: unknown[] })._listeners;
    expect(listeners === undefined || listeners === null || listeners.length === 0).toBe(true);
  });

  test("a request's own timeout bounds the wait for a token endpoint that never answers", async () => {
    const { auth, api, client } = await attachedClient();
    auth.next(() => new Promise<void>(() => undefined));
    const error = await client.get('/a', { timeout: 200 }).catch((e: unknown) => e);
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as AxiosError).code).toBe('ECONNABORTED');
    expect((error as Error).message).toMatch(/timeout of 200ms exceeded while waiting for an access token/);
    expect(api.requests).toHaveLength(0);
  });

  test('the timeout is the budget of the whole call: token wait and API call together', async () => {
    const auth = await startAuthServer();
    const slowApi = await startServer((_req, res) => void setTimeout(() => json(res, 200, { ok: true }), 300));
    const c2 = axios.create({ baseURL: slowApi.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' }));
    auth.next((_req, res) => void setTimeout(() => json(res, 200, { access_token: 'slow2', expires_in: 60 }), 300));
    const timedOut = await c2.get('/x', { timeout: 450 }).catch((e: unknown) => e);
    expect(axios.isAxiosError(timedOut)).toBe(true);
    expect((timedOut as AxiosError).code).toBe('ECONNABORTED');
    expect((timedOut as AxiosError).config?.timeout).toBe(450);
  });

  test('a failing token endpoint means the API request is not sent', async () => {
    const { auth, api, client } = await attachedClient({ retry: false });
    auth.next((_req, res) => json(res, 400, { error: 'invalid_client' }));
    await expect(client.get('/a')).rejects.toMatchObject({
      name: 'TokenEndpointError',
      status: 400,
      error: 'invalid_client',
    });
    expect(api.requests).toHaveLength(0);
  });
});
