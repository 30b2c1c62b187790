/**
 * A 401 end to end on loopback servers: the request is replayed once with a fresh token (one grant for a burst,
 * none when a newer token is already cached), and an AuthenticationError follows a second 401, a challenge of
 * another scheme only, or `replay: false`. The decision table itself is in unauthorized.test.ts. Both jest projects.
 */
import axios, { AxiosError } from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';
import { attachedClient } from './helpers/attached-client.js';

describe('401: replay once with a fresh token', () => {
  test('a burst of 200 requests that all get 401 causes one token request and 200 successful replays', async () => {
    const { auth, api, client } = await attachedClient();
    await client.get('/warm');
    api.revoke();
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => client.get(`/r/${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('a 401 for a request sent with an older token is replayed with the cached token without a new grant', async () => {
    const auth = await startAuthServer();
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const api = await startServer(async (req, res) => {
      const token = req.headers.authorization?.slice('Bearer '.length);
      if (req.url === '/slow' && token === 'tok-1') {
        await slowGate;
        return json(res, 401, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      }
      json(res, 200, { token });
    });
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const slow = client.get('/slow'); // sent with tok-1, answered 401 later
    while (api.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await provider.getToken({ forceRefresh: true }); // tok-2 is now cached
    releaseSlow();
    const response = await slow;
    expect(response.data).toEqual({ token: 'tok-2' });
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('if the replay gets 401 again, rejects with AuthenticationError', async () => {
    const { auth, client } = await attachedClient();
    const always401 = await startServer((_req, res) =>
      json(res, 401, { error: 'no' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
    );
    const c2 = axios.create({ baseURL: always401.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' }));
    const error = await c2.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AuthenticationError',
      code: 'ERR_AUTHENTICATION',
      reason: 'rejected-after-replay',
    });
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(always401.requests).toHaveLength(2);
    expect((error as { challenge?: { error?: string } }).challenge?.error).toBe('invalid_token');
    void client;
  });

  test('a 401 that challenges another scheme only keeps the token and is not replayed', async () => {
    const auth = await startAuthServer();
    const api = await startServer((_req, res) =>
      json(res, 401, { title: 'bad API key' }, { 'WWW-Authenticate': 'API-Key realm="bank"' }),
    );
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const error = await client.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'other-scheme' });
    expect((error as Error).message).toContain('API-Key');
    expect(api.requests).toHaveLength(1);
    expect(auth.tokenRequests).toHaveLength(1);
    expect(provider.peekToken()?.accessToken).toBe('tok-1');
  });

  test('replay: false turns the replay off for one request', async () => {
    const { api, client } = await attachedClient();
    await client.get('/warm');
    api.revoke();
    const error = await client.get('/x', { clientCredentials: { replay: false } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'replay-disabled' });
    expect(api.requests).toHaveLength(2);
  });
});
