/**
 * Issue 9, test strength: the origin policy (src/interceptors/origin.ts) decides whether a request may carry the
 * token. It compares origins as the URL parser gives them, never string prefixes, so a host that
 * merely starts like the API's (`https://api.example.com.evil.test`), another port, user info that
 * hides the real host (`https://api.example.com@evil.test`), a protocol-relative URL, or an absolute
 * URL under `allowAbsoluteUrls: false` gets no token; case and default ports get it where right.
 * Unit tables and a fast-check property; the same cases through attachAuth on a loopback server are
 * in attach-auth-origins.test.ts. This file imports src/interceptors/origin.ts alone, so mutation testing loads it
 * for that module only.
 */
import fc from 'fast-check';
import { ConfigurationError } from '../src/errors.js';
import { OriginPolicy, isLoopbackHost, originOf, type UrlParts } from '../src/interceptors/origin.js';

const API = 'https://api.example.com';

describe('isLoopbackHost', () => {
  test.each([['localhost'], ['LocalHost'], ['127.0.0.1'], ['127.10.200.255'], ['127.255.255.254'], ['[::1]']])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  test.each([
    ['api.localhost', 'a subdomain of localhost: resolvers may send it to DNS'],
    ['localhost.evil.test', 'a name that starts like localhost'],
    ['evil-localhost', 'a name that ends like localhost'],
    ['xlocalhost', 'localhost with a prefix'],
    ['localhostx', 'localhost with a suffix'],
    ['127.0.0.1.evil.test', 'a name that starts like a loopback address'],
    ['x127.0.0.1', 'a loopback address with a prefix'],
    ['1127.0.0.1', 'a number that ends like a loopback address'],
    ['127.0.0.1234', 'a fourth part of four digits'],
    ['127.0.0', 'three parts'],
    ['127.0.0.0.1', 'five parts'],
    ['128.0.0.1', 'another network'],
    ['10.0.0.1', 'a private address'],
    ['0.0.0.0', 'the unspecified address'],
    ['[::2]', 'another IPv6 address'],
    ['[::1]x', 'the IPv6 loopback with a suffix'],
    ['::1', 'the IPv6 loopback without the brackets a URL hostname has'],
    ['', 'nothing'],
  ])('%s is not loopback (%s)', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('originOf', () => {
  test.each<[string, string | undefined]>([
    ['https://api.example.com/v1/accounts?x=1#top', 'https://api.example.com'],
    ['HTTPS://API.EXAMPLE.COM', 'https://api.example.com'],
    ['https://api.example.com:443/', 'https://api.example.com'],
    ['http://api.example.com:80/', 'http://api.example.com'],
    ['https://api.example.com:80/', 'https://api.example.com:80'],
    ['https://api.example.com:8443/x', 'https://api.example.com:8443'],
    ['https://user:password@api.example.com/x', 'https://api.example.com'],
    ['https://api.example.com@evil.test/x', 'https://evil.test'],
    ['https://api.example.com.evil.test/x', 'https://api.example.com.evil.test'],
    ['http://[::1]:8080/x', 'http://[::1]:8080'],
    ['http://[0:0:0:0:0:0:0:1]:8080/x', 'http://[::1]:8080'],
    ['http://127.1:8080/', 'http://127.0.0.1:8080'],
    ['ftp://api.example.com/', undefined],
    ['ws://api.example.com/', undefined],
    ['file:///etc/passwd', undefined],
    ['javascript:alert(1)', undefined],
    ['//api.example.com/x', undefined],
    ['/v1/accounts', undefined],
    ['api.example.com', undefined],
    ['https://', undefined],
    ['', undefined],
  ])('%j → %j', (url, origin) => {
    expect(originOf(url)).toBe(origin);
  });
});

describe('OriginPolicy.fromOptions', () => {
  test.each<[string, unknown, unknown, string[]]>([
    [
      'the origin of an explicit entry, without path, query or fragment',
      ['https://api.example.com/v1?x=1#f'],
      undefined,
      [API],
    ],
    ['explicit origins rather than the baseURL', ['https://other.example.com'], API, ['https://other.example.com']],
    ['the origin of the baseURL when no origins are given', undefined, 'https://api.example.com/banking/', [API]],
    [
      'each origin once, however it was written',
      [API, 'HTTPS://API.EXAMPLE.COM/x', 'https://api.example.com:443'],
      undefined,
      [API],
    ],
    [
      'every origin given, in order',
      ['https://b.example.com', 'https://a.example.com:8443'],
      undefined,
      ['https://b.example.com', 'https://a.example.com:8443'],
    ],
    ['plain http on localhost', ['http://localhost:8080'], undefined, ['http://localhost:8080']],
    ['plain http on 127.0.0.1', ['http://127.0.0.1:1234/x'], undefined, ['http://127.0.0.1:1234']],
    ['plain http on [::1]', ['http://[::1]:1234'], undefined, ['http://[::1]:1234']],
  ])('takes %s', (_, origins, baseURL, expected) => {
    expect(OriginPolicy.fromOptions(origins, baseURL, false).origins).toEqual(expected);
  });

  test('takes plain http on a non-loopback host with allowInsecureHttp', () => {
    expect(OriginPolicy.fromOptions(['http://api.internal:8080'], undefined, true).origins).toEqual([
      'http://api.internal:8080',
    ]);
    expect(OriginPolicy.fromOptions(undefined, 'http://api.internal', true).origins).toEqual(['http://api.internal']);
  });

  test.each<[string, unknown, unknown, RegExp]>([
    ['an empty list', [], API, /non-empty array of URLs.*origins: \["https:\/\/api\.example\.com"\]/],
    ['a string instead of a list', API, undefined, /non-empty array of URLs/],
    ['a list with a number', [API, 443], undefined, /non-empty array of URLs/],
    ['no origins and no baseURL', undefined, undefined, /does not know where the token may be sent.*baseURL.*origins/],
    ['no origins and an empty baseURL', undefined, '', /does not know where the token may be sent/],
    [
      'no origins and a baseURL that is not a string',
      undefined,
      new URL(API),
      /does not know where the token may be sent/,
    ],
    [
      'a relative baseURL',
      undefined,
      '/banking',
      /origin "\/banking" is not an absolute http\(s\) URL; write it as "https:\/\/api\.example\.com"/,
    ],
    [
      'a host without a scheme',
      ['api.example.com'],
      undefined,
      /origin "api\.example\.com" is not an absolute http\(s\) URL/,
    ],
    [
      'another scheme',
      ['ftp://api.example.com'],
      undefined,
      /origin "ftp:\/\/api\.example\.com" is not an absolute http\(s\) URL/,
    ],
    ['a protocol-relative origin', ['//api.example.com'], undefined, /is not an absolute http\(s\) URL/],
    [
      'plain http on a public host',
      ['http://api.example.com'],
      undefined,
      /send the token in clear to http:\/\/api\.example\.com; bearer tokens need TLS.*allowInsecureHttp: true/,
    ],
    [
      'plain http on a subdomain of localhost',
      ['http://api.localhost:8080'],
      undefined,
      /in clear to http:\/\/api\.localhost:8080/,
    ],
    ['plain http on a host that starts like a loopback address', ['http://127.0.0.1.evil.test'], undefined, /in clear/],
    [
      'plain http as the baseURL',
      undefined,
      'http://api.example.com/banking',
      /in clear to http:\/\/api\.example\.com;/,
    ],
  ])('refuses %s with a ConfigurationError that says what to do', (_, origins, baseURL, message) => {
    const build = () => OriginPolicy.fromOptions(origins, baseURL, false);
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(message);
  });
});

describe('OriginPolicy.fullUrl builds the URL as axios does', () => {
  test.each<[UrlParts, string]>([
    [{ baseURL: 'https://api.example.com/v1', url: '/accounts' }, 'https://api.example.com/v1/accounts'],
    [{ baseURL: 'https://api.example.com/v1/', url: 'accounts' }, 'https://api.example.com/v1/accounts'],
    [{ baseURL: 'https://api.example.com/v1//', url: 'accounts' }, 'https://api.example.com/v1/accounts'],
    [{ baseURL: 'https://api.example.com/v1', url: 'accounts/1' }, 'https://api.example.com/v1/accounts/1'],
    [{ baseURL: 'https://api.example.com/v1/' }, 'https://api.example.com/v1/'],
    [{ baseURL: 'https://api.example.com/v1', url: '' }, 'https://api.example.com/v1'],
    [{ baseURL: API, url: 'https://evil.test/x' }, 'https://evil.test/x'],
    [{ baseURL: API, url: 'HTTPS://evil.test/x' }, 'HTTPS://evil.test/x'],
    [{ baseURL: API, url: '//evil.test/x' }, '//evil.test/x'],
    [
      { baseURL: API, url: 'https://evil.test/x', allowAbsoluteUrls: false },
      'https://api.example.com/https://evil.test/x',
    ],
    [{ baseURL: API, url: 'https://evil.test/x', allowAbsoluteUrls: true }, 'https://evil.test/x'],
    [{ baseURL: API, url: '//evil.test/x', allowAbsoluteUrls: false }, 'https://api.example.com/evil.test/x'],
    [{ baseURL: API, url: 'v1//accounts' }, 'https://api.example.com/v1//accounts'],
    [{ baseURL: API, url: 'web3://evil.test/x' }, 'web3://evil.test/x'],
    [{ baseURL: API, url: 'mailto:someone@evil.test' }, 'https://api.example.com/mailto:someone@evil.test'],
    [{ baseURL: '', url: '/accounts' }, '/accounts'],
    [{ url: 'https://api.example.com/x' }, 'https://api.example.com/x'],
    [{ url: '/accounts' }, '/accounts'],
    [{}, ''],
  ])('%j → %s', (config, url) => {
    expect(OriginPolicy.fullUrl(config)).toBe(url);
  });
});

// Policies are built in beforeEach, not when the file loads, so that the code they run counts for the
// test that uses it (mutation testing tells such code from code run at load time, which every test covers).

describe('OriginPolicy.allows', () => {
  let policy: OriginPolicy;
  beforeEach(() => {
    policy = OriginPolicy.fromOptions([API], undefined, false);
  });

  test.each<[string, UrlParts]>([
    ['a relative url under the baseURL', { baseURL: API, url: '/accounts' }],
    ['a url under a baseURL with a path', { baseURL: 'https://api.example.com/v1/', url: 'accounts' }],
    ['the baseURL alone', { baseURL: API }],
    ['the baseURL with the default port', { baseURL: 'https://api.example.com:443/v1', url: '/x' }],
    ['the baseURL in capitals', { baseURL: 'HTTPS://API.EXAMPLE.COM/', url: '/x' }],
    ['an absolute url to the API without a baseURL', { url: 'https://api.example.com/accounts' }],
    ['an absolute url to the API in capitals', { url: 'HTTPS://API.EXAMPLE.COM/accounts' }],
    ['an absolute url to the API with the default port', { url: 'https://api.example.com:443/accounts' }],
    [
      'an absolute url to the API whatever the baseURL',
      { baseURL: 'https://evil.test', url: 'https://api.example.com/x' },
    ],
    ['an absolute url to the API with user info', { url: 'https://user:password@api.example.com/x' }],
    [
      'an absolute url to the API under its own baseURL with allowAbsoluteUrls: false',
      { baseURL: API, url: 'https://api.example.com/x', allowAbsoluteUrls: false },
    ],
    ['a relative url with allowAbsoluteUrls: false', { baseURL: API, url: '/x', allowAbsoluteUrls: false }],
    ['a relative url with a double slash inside', { baseURL: API, url: 'v1//accounts' }],
  ])('lets %s carry the token', (_, config) => {
    expect(policy.allows(config)).toBe(true);
  });

  test.each<[string, UrlParts]>([
    ['a host that starts like the API', { url: 'https://api.example.com.evil.test/x' }],
    ['a baseURL whose host starts like the API', { baseURL: 'https://api.example.com.evil.test', url: '/x' }],
    ['another port', { url: 'https://api.example.com:8443/x' }],
    ['a baseURL with another port', { baseURL: 'https://api.example.com:8443', url: '/x' }],
    ['port 80 over https', { url: 'https://api.example.com:80/x' }],
    ['user info that hides another host', { url: 'https://api.example.com@evil.test/x' }],
    ['a baseURL with user info that hides another host', { baseURL: 'https://api.example.com@evil.test', url: '/x' }],
    ['plain http to the API host', { url: 'http://api.example.com/x' }],
    ['a baseURL on plain http', { baseURL: 'http://api.example.com', url: '/x' }],
    ['a parent domain', { url: 'https://example.com/x' }],
    ['a subdomain', { url: 'https://evil.api.example.com/x' }],
    ['a host with a trailing dot', { url: 'https://api.example.com./x' }],
    ['a host that ends like the API', { url: 'https://evilapi.example.com/x' }],
    ['a protocol-relative url', { url: '//api.example.com/x' }],
    ['a protocol-relative url to another host under the baseURL', { baseURL: API, url: '//evil.test/x' }],
    ['a protocol-relative url to the API host under the baseURL', { baseURL: API, url: '//api.example.com/x' }],
    ['an absolute foreign url under the baseURL', { baseURL: API, url: 'https://evil.test/x' }],
    [
      'an absolute foreign url under the baseURL with allowAbsoluteUrls: true',
      { baseURL: API, url: 'https://evil.test/x', allowAbsoluteUrls: true },
    ],
    [
      'an absolute foreign url under the baseURL with allowAbsoluteUrls: false',
      { baseURL: API, url: 'https://evil.test/x', allowAbsoluteUrls: false },
    ],
    [
      'an absolute url to the API under a foreign baseURL with allowAbsoluteUrls: false',
      { baseURL: 'https://evil.test', url: 'https://api.example.com/x', allowAbsoluteUrls: false },
    ],
    ['a relative url without a baseURL', { url: '/accounts' }],
    ['a relative url under a relative baseURL', { baseURL: '/api', url: '/accounts' }],
    ['a relative url under a baseURL that is not a URL', { baseURL: 'not a url', url: '/accounts' }],
    ['nothing at all', {}],
    ['another scheme', { url: 'ftp://api.example.com/x' }],
    ['an absolute url whose scheme has a digit, under the baseURL', { baseURL: API, url: 'web3://evil.test/x' }],
    ['a baseURL with another scheme', { baseURL: 'wss://api.example.com', url: '/x' }],
  ])('refuses %s', (_, config) => {
    expect(policy.allows(config)).toBe(false);
  });

  test('refuses a baseURL it refused before, and allows one it allowed before, however many were seen in between', () => {
    const seen = OriginPolicy.fromOptions([API], undefined, false);
    for (let i = 0; i < 200; i++) {
      expect(seen.allows({ baseURL: `https://api.example.com/v${i}`, url: '/x' })).toBe(true);
      expect(seen.allows({ baseURL: `https://api.example.com.evil${i}.test`, url: '/x' })).toBe(false);
    }
    expect(seen.allows({ baseURL: 'https://api.example.com/v0', url: '/x' })).toBe(true);
    expect(seen.allows({ baseURL: 'https://api.example.com.evil0.test', url: '/x' })).toBe(false);
  });

  test('allows each of several origins, and an IPv6 loopback one by its canonical form', () => {
    const several = OriginPolicy.fromOptions(['https://a.example.com', 'http://[::1]:8080'], undefined, false);
    expect(several.allows({ url: 'https://a.example.com/x' })).toBe(true);
    expect(several.allows({ url: 'http://[::1]:8080/x' })).toBe(true);
    expect(several.allows({ url: 'http://[0:0:0:0:0:0:0:1]:8080/x' })).toBe(true);
    expect(several.allows({ url: 'http://[::1]:8081/x' })).toBe(false);
    expect(several.allows({ url: 'http://127.0.0.1:8080/x' })).toBe(false);
    expect(several.allows({ url: 'https://b.example.com/x' })).toBe(false);
  });

  test("a URL is allowed exactly when its parsed origin is an allowed origin, whatever follows the allowed origin's text", () => {
    const tail = fc.string({
      unit: fc.constantFrom('.', '@', ':', '/', '?', '#', '%', '\\', '-', '_', 'a', 'z', '0', '8', ' ', '[', ']'),
      maxLength: 12,
    });
    fc.assert(
      fc.property(
        tail,
        fc.constantFrom('https://api.example.com', 'HTTPS://api.EXAMPLE.com', 'https://api.example.com:443'),
        (rest, start) => {
          const url = `${start}${rest}`;
          expect(policy.allows({ url })).toBe(originOf(url) === API);
          expect(policy.allowsUrl(url)).toBe(originOf(url) === API);
          expect(policy.allows({ baseURL: url, url: '/x' })).toBe(originOf(url) === API);
        },
      ),
    );
  });
});

describe('OriginPolicy.allowsUrl', () => {
  let policy: OriginPolicy;
  beforeEach(() => {
    policy = new OriginPolicy([API]);
  });

  test.each<[string, boolean]>([
    ['https://api.example.com/x', true],
    ['https://API.example.com:443', true],
    ['https://api.example.com.evil.test/x', false],
    ['https://api.example.com:8443/x', false],
    ['https://api.example.com@evil.test/x', false],
    ['//api.example.com/x', false],
    ['/x', false],
    ['', false],
  ])('%j → %s', (url, allowed) => {
    expect(policy.allowsUrl(url)).toBe(allowed);
  });
});
