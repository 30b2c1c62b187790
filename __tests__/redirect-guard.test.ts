/**
 * Issue 9, test strength: the redirect guard (src/redirect-guard.ts) strips the Authorization header
 * from a redirect to an origin the token may not go to. axios 1.8.2's http adapter keeps the header
 * wherever follow-redirects keeps it, and follow-redirects keeps it on a redirect to a subdomain of
 * the current host on the same port (`api.localhost:P` → `evil.api.localhost:P`): there only the guard
 * protects the token. Newer axios strips it on any cross-origin redirect itself. Unit tables of the
 * guard, then that redirect on a loopback server in both jest projects (names resolved to 127.0.0.1
 * by axios's `lookup` option, so no resolver is needed).
 */
import axios, { type AxiosRequestConfig } from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { OriginPolicy } from '../src/origin.js';
import { RedirectGuard } from '../src/redirect-guard.js';
import { json, startServer, type SeenRequest } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';

const API = 'https://api.example.com';
type Redirect = (options: Record<string, unknown>, ...rest: unknown[]) => void;

/** The guard for `hook` as a plain function (follow-redirects calls it with the redirect's options). */
function guardOf(guards: RedirectGuard, hook?: unknown): Redirect {
  return guards.wrap(hook) as unknown as Redirect;
}

/** The options follow-redirects hands `beforeRedirect`: where the redirect goes, and the headers it will send. */
function redirectTo(href: string, headers: Record<string, unknown> = { Authorization: 'Bearer tok', Accept: 'application/json' }) {
  const url = new URL(href);
  return { href, protocol: url.protocol, hostname: url.hostname, port: url.port, path: url.pathname, headers };
}

describe('RedirectGuard', () => {
  // Built in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test.
  let guards: RedirectGuard;
  beforeEach(() => {
    guards = new RedirectGuard(new OriginPolicy([API, 'http://127.0.0.1:8080']));
  });

  test.each([
    ['another host', 'https://evil.test/x'],
    ['a subdomain of the API host', 'https://evil.api.example.com/x'],
    ['a host that starts like the API host', 'https://api.example.com.evil.test/x'],
    ['another port of the API host', 'https://api.example.com:8443/x'],
    ['plain http to the API host', 'http://api.example.com/x'],
    ['a host hidden behind user info', 'https://api.example.com@evil.test/x'],
    ['another port of an allowed loopback origin', 'http://127.0.0.1:8081/x'],
  ])('strips Authorization from a redirect to %s, and keeps every other header', (_, href) => {
    const redirect = redirectTo(href);
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual({ Accept: 'application/json' });
  });

  test.each([
    ['the API origin', 'https://api.example.com/other/path'],
    ['the API origin with its default port', 'https://api.example.com:443/x'],
    ['the API origin in capitals', 'HTTPS://API.EXAMPLE.COM/x'],
    ['another allowed origin', 'http://127.0.0.1:8080/x'],
  ])('keeps Authorization on a redirect to %s', (_, href) => {
    const redirect = redirectTo(href);
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual({ Authorization: 'Bearer tok', Accept: 'application/json' });
  });

  test('strips the header in whatever case it is written, and every copy of it', () => {
    const redirect = redirectTo('https://evil.test/x', { authorization: 'Bearer a', AUTHORIZATION: 'Bearer b', 'Proxy-Authorization': 'Basic p', 'X-Authorization-Hint': 'h' });
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual({ 'Proxy-Authorization': 'Basic p', 'X-Authorization-Hint': 'h' });
  });

  test.each<[string, Record<string, unknown>, boolean]>([
    ['protocol, host name and port', { protocol: 'https:', hostname: 'api.example.com', port: 8443 }, false],
    ['protocol, host name and a port as text', { protocol: 'http:', hostname: '127.0.0.1', port: '8081' }, false],
    ['protocol and host name of another host', { protocol: 'https:', hostname: 'evil.test', port: '' }, false],
    ['protocol and host name of the API', { protocol: 'https:', hostname: 'api.example.com', port: '' }, true],
    ['protocol, host name and port of an allowed origin', { protocol: 'http:', hostname: '127.0.0.1', port: 8080 }, true],
  ])('without an href, reads the target from %s', (_, target, kept) => {
    const redirect: Record<string, unknown> = { ...target, headers: { Authorization: 'Bearer tok' } };
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual(kept ? { Authorization: 'Bearer tok' } : {});
  });

  test('goes by href when there is one, whatever the other fields say', () => {
    const toEvil: Record<string, unknown> = { href: 'https://evil.test/x', protocol: 'https:', hostname: 'api.example.com', port: '', headers: { Authorization: 'Bearer tok' } };
    guardOf(guards)(toEvil);
    expect(toEvil.headers).toEqual({});
    const toApi: Record<string, unknown> = { href: 'https://api.example.com/x', protocol: 'https:', hostname: 'evil.test', port: '', headers: { Authorization: 'Bearer tok' } };
    guardOf(guards)(toApi);
    expect(toApi.headers).toEqual({ Authorization: 'Bearer tok' });
  });

  test('does nothing to a redirect without headers', () => {
    const redirect: Record<string, unknown> = { href: 'https://evil.test/x' };
    expect(() => guardOf(guards)(redirect)).not.toThrow();
    expect(redirect).toEqual({ href: 'https://evil.test/x' });
  });

  test('then calls the request\'s own beforeRedirect with the stripped options and every other argument', () => {
    const calls: unknown[][] = [];
    const hook: Redirect = (options, ...rest) => calls.push([{ ...(options.headers as object) }, ...rest]);
    const redirect = redirectTo('https://evil.test/x');
    guardOf(guards, hook)(redirect, { statusCode: 302 }, { url: 'https://api.example.com/a' });
    expect(calls).toEqual([[{ Accept: 'application/json' }, { statusCode: 302 }, { url: 'https://api.example.com/a' }]]);
  });

  test('makes one guard per hook and one for no hook, and reuses them', () => {
    const hook: Redirect = () => undefined;
    const other: Redirect = () => undefined;
    expect(guards.wrap(hook)).toBe(guards.wrap(hook));
    expect(guards.wrap(undefined)).toBe(guards.wrap(undefined));
    expect(guards.wrap(hook)).not.toBe(guards.wrap(other));
    expect(guards.wrap(hook)).not.toBe(guards.wrap(undefined));
    expect(guards.wrap(hook)).not.toBe(hook);
  });

  test('treats a beforeRedirect that is not a function as none', () => {
    expect(guards.wrap('not a function')).toBe(guards.wrap(undefined));
    expect(guards.wrap({})).toBe(guards.wrap(undefined));
    expect(guards.wrap(null)).toBe(guards.wrap(undefined));
  });

  test('wrapping its own guard again wraps the original hook, so the hook runs once per redirect', () => {
    let runs = 0;
    const hook: Redirect = () => void runs++;
    const once = guards.wrap(hook);
    expect(guards.wrap(once)).toBe(once);
    guardOf(guards, guards.wrap(once))(redirectTo('https://evil.test/x'));
    expect(runs).toBe(1);
  });

  test('a guard made by another RedirectGuard keeps its own policy', () => {
    const strict = new RedirectGuard(new OriginPolicy(['https://other.example.com']));
    const hook: Redirect = () => undefined;
    const redirect = redirectTo('https://api.example.com/x');
    guardOf(strict, guards.wrap(hook))(redirect);
    expect(redirect.headers).toEqual({ Accept: 'application/json' });
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a same-port subdomain redirect, which follow-redirects would send the header along.

/** Resolves every host name to 127.0.0.1 (axios's `lookup` option). */
const toLoopback = (_host: string, _options: object, callback: (error: Error | null, address: string, family: 4) => void): void => callback(null, '127.0.0.1', 4);

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

  test('to a subdomain does not carry the token, and the request\'s own beforeRedirect still runs', async () => {
    const { port, at } = await redirectingServer((p) => `http://evil.api.localhost:${p}/landing`);
    const client = await clientFor(port);
    const seen: unknown[] = [];
    await client.get('/start', { beforeRedirect: (options) => void seen.push((options.headers as Record<string, unknown>).Authorization) });
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
