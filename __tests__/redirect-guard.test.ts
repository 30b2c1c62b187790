/**
 * Issue 9, test strength: the redirect guard (src/interceptors/redirect-guard.ts) strips the Authorization header
 * from a redirect to an origin the token may not go to, whatever follow-redirects would keep. Unit
 * tables of the guard; the redirect that only the guard protects, a same-port subdomain redirect on
 * axios 1.8.2, is in subdomain-redirect.test.ts. This file imports the guard and the origin policy
 * alone, so mutation testing loads it for those modules only.
 */
import type { ClientCertificate } from '../src/grant/client-tls.js';
import { OriginPolicy } from '../src/interceptors/origin.js';
import { RedirectGuard } from '../src/interceptors/redirect-guard.js';

const API = 'https://api.example.com';
type Redirect = (options: Record<string, unknown>, ...rest: unknown[]) => void;

/** The guard for `hook` as a plain function (follow-redirects calls it with the redirect's options). */
function guardOf(guards: RedirectGuard, hook?: unknown): Redirect {
  return guards.wrap(hook) as unknown as Redirect;
}

/** The options follow-redirects hands `beforeRedirect`: where the redirect goes, and the headers it will send. */
function redirectTo(
  href: string,
  headers: Record<string, unknown> = { Authorization: 'Bearer tok', Accept: 'application/json' },
) {
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

  test('strips the header in whatever case it is written, every copy of it, and no other header', () => {
    const redirect = redirectTo('https://evil.test/x', {
      authorization: 'Bearer a',
      AUTHORIZATION: 'Bearer b',
      'Proxy-Authorization': 'Basic p',
      'X-Authorization-Hint': 'h',
      'Authorization-Scheme': 's',
    });
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual({
      'Proxy-Authorization': 'Basic p',
      'X-Authorization-Hint': 'h',
      'Authorization-Scheme': 's',
    });
  });

  test.each<[string, Record<string, unknown>, boolean]>([
    ['protocol, host name and port', { protocol: 'https:', hostname: 'api.example.com', port: 8443 }, false],
    ['protocol, host name and a port as text', { protocol: 'http:', hostname: '127.0.0.1', port: '8081' }, false],
    ['protocol and host name of another host', { protocol: 'https:', hostname: 'evil.test', port: '' }, false],
    ['protocol and host name of the API', { protocol: 'https:', hostname: 'api.example.com', port: '' }, true],
    [
      'protocol, host name and port of an allowed origin',
      { protocol: 'http:', hostname: '127.0.0.1', port: 8080 },
      true,
    ],
  ])('without an href, reads the target from %s', (_, target, kept) => {
    const redirect: Record<string, unknown> = { ...target, headers: { Authorization: 'Bearer tok' } };
    guardOf(guards)(redirect);
    expect(redirect.headers).toEqual(kept ? { Authorization: 'Bearer tok' } : {});
  });

  test('goes by href when there is one, whatever the other fields say', () => {
    const toEvil: Record<string, unknown> = {
      href: 'https://evil.test/x',
      protocol: 'https:',
      hostname: 'api.example.com',
      port: '',
      headers: { Authorization: 'Bearer tok' },
    };
    guardOf(guards)(toEvil);
    expect(toEvil.headers).toEqual({});
    const toApi: Record<string, unknown> = {
      href: 'https://api.example.com/x',
      protocol: 'https:',
      hostname: 'evil.test',
      port: '',
      headers: { Authorization: 'Bearer tok' },
    };
    guardOf(guards)(toApi);
    expect(toApi.headers).toEqual({ Authorization: 'Bearer tok' });
  });

  test('does nothing to a redirect without headers', () => {
    const redirect: Record<string, unknown> = { href: 'https://evil.test/x' };
    expect(() => guardOf(guards)(redirect)).not.toThrow();
    expect(redirect).toEqual({ href: 'https://evil.test/x' });
  });

  test("then calls the request's own beforeRedirect with the stripped options and every other argument", () => {
    const calls: unknown[][] = [];
    const hook: Redirect = (options, ...rest) => calls.push([{ ...(options.headers as object) }, ...rest]);
    const redirect = redirectTo('https://evil.test/x');
    guardOf(guards, hook)(redirect, { statusCode: 302 }, { url: 'https://api.example.com/a' });
    expect(calls).toEqual([
      [{ Accept: 'application/json' }, { statusCode: 302 }, { url: 'https://api.example.com/a' }],
    ]);
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

describe('RedirectGuard with a client certificate (mutual TLS)', () => {
  /** Agents as follow-redirects holds them: the certificate's agent made from a base agent, and others. */
  const base = { agent: 'base https agent' };
  const withCertificate = { agent: 'https agent presenting the certificate' };
  const other = { agent: 'another https agent' };
  const http = { agent: 'http agent' };
  const certificate = {
    owns: (agent: unknown) => agent === withCertificate,
    baseOf: (agent: unknown) => (agent === withCertificate ? base : undefined),
  } as unknown as ClientCertificate;

  let guards: RedirectGuard;
  beforeEach(() => {
    guards = new RedirectGuard(new OriginPolicy([API]), certificate);
  });

  test('falls back to the base agent on a redirect to an origin the token may not go to, so it sees no certificate', () => {
    const agents = { http, https: withCertificate };
    const redirect: Record<string, unknown> = { ...redirectTo('https://evil.test/x'), agent: withCertificate, agents };
    guardOf(guards)(redirect);
    expect(redirect.agent).toBe(base);
    expect(redirect.agents).toEqual({ http, https: base });
    expect(agents).toEqual({ http, https: withCertificate }); // the request's own agents object is left as it was
    expect(redirect.headers).toEqual({ Accept: 'application/json' });
  });

  test('falls back on either agent alone, and on a redirect that has no agents', () => {
    const agentOnly: Record<string, unknown> = { ...redirectTo('https://evil.test/x'), agent: withCertificate };
    guardOf(guards)(agentOnly);
    expect(agentOnly.agent).toBe(base);
    expect(agentOnly).not.toHaveProperty('agents');
    const agentsOnly: Record<string, unknown> = {
      ...redirectTo('https://evil.test/x'),
      agents: { https: withCertificate },
    };
    guardOf(guards)(agentsOnly);
    expect(agentsOnly.agents).toEqual({ https: base });
    expect(agentsOnly).not.toHaveProperty('agent');
  });

  test('keeps the certificate on a redirect to an allowed origin', () => {
    const agents = { http, https: withCertificate };
    const redirect: Record<string, unknown> = {
      ...redirectTo('https://api.example.com/x'),
      agent: withCertificate,
      agents,
    };
    guardOf(guards)(redirect);
    expect(redirect.agent).toBe(withCertificate);
    expect(redirect.agents).toBe(agents);
  });

  test("leaves agents that are not the certificate's alone, wherever the redirect goes", () => {
    const agents = { http, https: other };
    const redirect: Record<string, unknown> = { ...redirectTo('https://evil.test/x'), agent: other, agents };
    guardOf(guards)(redirect);
    expect(redirect.agent).toBe(other);
    expect(redirect.agents).toBe(agents);
  });
});
