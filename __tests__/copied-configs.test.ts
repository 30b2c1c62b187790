/**
 * Issue 9, hole 8: "this request carried our token" has one source of truth that a copy of a config
 * cannot fake. Users copy configs (`{ ...error.config }`, axios's config merge, resending
 * `error.config`); a copy is a new request, whatever it was copied from.
 */
import axios, { AxiosError, type InternalAxiosRequestConfig } from 'axios';
import { AuthenticationError, ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';

async function setup() {
  const auth = await startAuthServer();
  const api = await startApiServer(auth);
  const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
  const client = axios.create({ baseURL: api.url });
  attachAuth(client, provider);
  return { auth, api, provider, client };
}

test('a copy of a sent config that meets a 401 at an origin that never got the token drops nothing (fetch adapter)', async () => {
  const { auth, api, provider, client } = await setup();
  const other = await startServer((_req, res) =>
    json(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
  );
  const sent = (await client.get('/a', { adapter: 'fetch' })).config;
  const error = await client.request({ ...sent, url: `${other.url}/elsewhere` }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AxiosError);
  expect(error).not.toBeInstanceOf(AuthenticationError);
  expect(other.requests[0]!.headers.authorization).toBeUndefined();
  // The good token was neither dropped nor replaced.
  expect(provider.peekToken()?.accessToken).toBe('tok-1');
  await client.get('/b', { adapter: 'fetch' });
  expect(auth.tokenRequests).toHaveLength(1);
  expect(api.seenTokens).toEqual(['tok-1', 'tok-1']);
});

test('clientCredentials.skip holds on a copy of a config that was sent with the token', async () => {
  const { auth, api, client } = await setup();
  const sent = (await client.get('/a')).config;
  await client.request({ ...sent, url: '/public', clientCredentials: { skip: true } }).catch(() => undefined);
  expect(api.requests[1]!.headers.authorization).toBeUndefined();
  expect(auth.tokenRequests).toHaveLength(1);
});

test("a copy of a replay's config is a new request: its 401 is replayed once with a fresh token", async () => {
  const auth = await startAuthServer();
  const refusals = { left: 0 };
  const api = await startServer((_req, res) => {
    if (refusals.left > 0) {
      refusals.left--;
      return json(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    json(res, 200, { ok: true });
  });
  const client = axios.create({ baseURL: api.url });
  attachAuth(
    client,
    new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' }),
  );
  refusals.left = 2; // the request and its replay
  const failed = await client.get('/b').catch((e: unknown) => e);
  expect(failed).toBeInstanceOf(AuthenticationError);
  expect((failed as AuthenticationError).reason).toBe('rejected-after-replay');
  const replayConfig = (failed as AuthenticationError).config as InternalAxiosRequestConfig;
  expect(replayConfig.clientCredentials?.isReplay).toBe(true);
  refusals.left = 1; // the copy's first send only
  const resent = await client.request({ ...replayConfig });
  expect(resent.status).toBe(200);
  expect(api.requests).toHaveLength(4);
  expect(auth.tokenRequests).toHaveLength(4);
});

test('an adapter that throws at once leaves no token on config.headers', async () => {
  const { client } = await setup();
  let seen: InternalAxiosRequestConfig | undefined;
  const error = await client
    .get('/a', {
      adapter: (config) => {
        seen = config;
        throw new Error('adapter failed');
      },
    })
    .catch((e: unknown) => e);
  expect((error as Error).message).toBe('adapter failed');
  expect(seen).toBeDefined();
  expect(seen!.headers.Authorization).toBeUndefined();
  expect(JSON.stringify(seen!.headers)).not.toContain('tok-1');
});
