/**
 * Where attachAuth sends the token, end to end on loopback servers: only to the origin of baseURL or of the
 * `origins` list, never to another absolute or protocol-relative URL, whatever request interceptors did to the URL,
 * and never across a redirect to another origin. The host-name variants are in attach-auth-origins.test.ts, the
 * unit tables of the policy in origin.test.ts. Both jest projects.
 */
import axios from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';
import { attachedClient } from './helpers/attached-client.js';

describe('origins', () => {
  test('the token goes only to the origin of baseURL by default, never to another absolute URL', async () => {
    const { auth, client } = await attachedClient();
    const other = await startServer((_req, res) => json(res, 200, {}));
    await client.get(`${other.url}/steal`);
    await client.get(`${other.url.replace('127.0.0.1', 'localhost')}/steal`);
    expect(other.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('a protocol-relative URL never gets the token', async () => {
    const { auth, client } = await attachedClient();
    await client.get('//127.0.0.1:1/x').catch(() => undefined);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('with allowAbsoluteUrls: false a foreign absolute url gets no token, even though axios keeps it under baseURL', async () => {
    const { auth, api, client } = await attachedClient();
    await client.get('https://evil.example.com/x', { allowAbsoluteUrls: false }).catch(() => undefined);
    expect(api.requests[0]!.url).toBe('/banking/https://evil.example.com/x');
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('with allowAbsoluteUrls: false an absolute url of the allowed origin gets the token', async () => {
    const { api, client } = await attachedClient();
    await client.get(`${api.url}/x`, { allowAbsoluteUrls: false });
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  test('an explicit origins list allows those origins and no others', async () => {
    const auth = await startAuthServer();
    const a = await startApiServer(auth);
    const b = await startApiServer(auth);
    const c = await startApiServer(auth);
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create();
    attachAuth(client, provider, { origins: [a.url, `${b.url}/some/path`] });
    await client.get(`${a.url}/x`);
    await client.get(`${b.url}/x`);
    await client.get(`${c.url}/x`).catch(() => undefined);
    expect([a, b, c].map((s) => s.requests[0]!.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      undefined,
    ]);
  });

  test('a URL changed by a request interceptor registered before attachAuth is still checked', async () => {
    const auth = await startAuthServer();
    const api = await startApiServer(auth);
    const other = await startServer((_req, res) => json(res, 200, {}));
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    // Registered first, so axios runs it after attachAuth's interceptor.
    client.interceptors.request.use((config) => ({ ...config, baseURL: other.url }));
    attachAuth(client, provider);
    await client.get('/x');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('a URL changed by a request interceptor registered after attachAuth is checked too', async () => {
    const { api, client } = await attachedClient();
    const other = await startServer((_req, res) => json(res, 200, {}));
    client.interceptors.request.use((config) => ({ ...config, url: `${other.url}/x` }));
    await client.get('/x');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(api.requests).toHaveLength(0);
  });

  test('a redirect to another origin does not carry the token', async () => {
    const { api, client } = await attachedClient();
    const other = await startServer((_req, res) => json(res, 200, {}));
    await client.get(`${api.url}/redirect?to=${encodeURIComponent(`${other.url}/landing`)}`);
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('a 401 from a redirect target the token was withheld from neither drops the token nor replays', async () => {
    const { auth, api, client } = await attachedClient();
    const other = await startServer((_req, res) => json(res, 401, {}, { 'WWW-Authenticate': 'Bearer' }));
    for (let i = 0; i < 3; i++) {
      const error = await client
        .get(`${api.url}/redirect?to=${encodeURIComponent(`${other.url}/file`)}`)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AxiosError', response: { status: 401 } });
    }
    expect(auth.tokenRequests).toHaveLength(1);
    expect(other.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined]);
  });

  test('a redirect to a subdomain, which follow-redirects would keep the header for, does not carry the token', async () => {
    const auth = await startAuthServer();
    const target = await startServer((_req, res) => json(res, 200, {}));
    const port = Number(new URL(target.url).port);
    const api = await startServer((_req, res) => {
      res.writeHead(302, { Location: `http://evil.api.test:${port}/landing` });
      res.end();
    });
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const apiPort = new URL(api.url).port;
    const client = axios.create({
      baseURL: `http://api.test:${apiPort}`,
      lookup: ((_host: string, _opts: unknown, cb: (e: null, a: string, f: number) => void) =>
        cb(null, '127.0.0.1', 4)) as never,
    });
    attachAuth(client, provider, { allowInsecureHttp: true });
    await client.get('/start');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(target.requests[0]!.headers.host).toBe(`evil.api.test:${port}`);
    expect(target.requests[0]!.headers.authorization).toBeUndefined();
  });
});
