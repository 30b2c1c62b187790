/**
 * Issue 9, test strength: a same-port subdomain redirect. axios 1.8.2's http adapter keeps the
 * Authorization header wherever follow-redirects keeps it, and follow-redirects keeps it on a redirect
 * to a subdomain of the current host on the same port (`api.localhost:P` → `evil.api.localhost:P`):
 * there only the redirect guard (src/interceptors/redirect-guard.ts) protects the token. Newer axios strips the
 * header on any cross-origin redirect itself. A loopback server answers for both names (axios's
 * `lookup` option maps them to 127.0.0.1, so no resolver is needed); both jest projects.
 */
import axios, { type AxiosRequestConfig } from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer, type SeenRequest } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';

/** Resolves every host name to 127.0.0.1 (axios's `lookup` option). */
const toLoopback = (
  _host: string,
  _options: object,
  callback: (error: Error | null, address: string, family: 4) => void,
): void => callback(null, '127.0.0.1', 4);

/**
 * One loopback server for two names on one port: `api.localhost` redirects to `to(port)`, any other
 * name answers 200. It records every request with its Host header.
 */
async function redirectingServer(to: (port: number) => string) {
  let port = 0;
  const server = await startServer((req, res) => {
    if (req.headers.host === `api.localhost:${port}` && req.url.startsWith('/start')) {
      res.writeHead(302, { Location: to(port) });
      res.end();
      return;
    }
    json(res, 200, { host: req.headers.host });
  });
  port = Number(new URL(server.url).port);
  const at = (host: string): SeenRequest[] => server.requests.filter((r) => r.headers.host === `${host}:${port}`);
  return { server, port, at };
}

async function clientFor(port: number, options: AxiosRequestConfig = {}) {
  const auth = await startAuthServer();
  const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
  const client = axios.create({ baseURL: `http://api.localhost:${port}`, lookup: toLoopback, ...options });
  attachAuth(client, provider, { allowInsecureHttp: true });
  return client;
}

describe('a redirect on the same port', () => {
  test('to a subdomain of the API host does not carry the token', async () => {
    const { port, at } = await redirectingServer((p) => `http://evil.api.localhost:${p}/landing`);
    const client = await clientFor(port);
    const response = await client.get('/start');
    expect(response.data).toEqual({ host: `evil.api.localhost:${port}` });
    expect(at('api.localhost').map((r) => r.headers.authorization)).toEqual(['Bearer tok-1']);
    expect(at('evil.api.localhost').map((r) => r.headers.authorization)).toEqual([undefined]);
  });

  test("to a subdomain does not carry the token, and the request's own beforeRedirect still runs", async () => {
    const { port, at } = await redirectingServer((p) => `http://evil.api.localhost:${p}/landing`);
    const client = await clientFor(port);
    const seen: unknown[] = [];
    await client.get('/start', {
      beforeRedirect: (options) => void seen.push((options.headers as Record<string, unknown>).Authorization),
    });
    expect(seen).toEqual([undefined]);
    expect(at('evil.api.localhost').map((r) => r.headers.authorization)).toEqual([undefined]);
  });

  test('within the API origin carries the token on', async () => {
    const { port, at } = await redirectingServer((p) => `http://api.localhost:${p}/moved`);
    const client = await clientFor(port);
    await client.get('/start');
    expect(at('api.localhost').map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/start', 'Bearer tok-1'],
      ['/moved', 'Bearer tok-1'],
    ]);
  });
});
