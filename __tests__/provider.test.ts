import axios from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { ClientCredentialsProvider, TokenEndpointError } from '../src/index.js';
import type { ClientCredentialsOptions } from '../src/index.js';

const TOKEN_URL = 'https://auth.example.com/token';

function setup(options: Partial<ClientCredentialsOptions> = {}) {
  const clock = { now: 1_700_000_000_000 };
  const httpClient = axios.create();
  const mock = new MockAdapter(httpClient);
  let n = 0;
  const provider = new ClientCredentialsProvider({
    tokenUrl: TOKEN_URL,
    clientId: 'id',
    clientSecret: 'secret',
    retry: false,
    refreshRatio: false,
    now: () => clock.now,
    ...options,
    httpClient,
  });
  const reply = (body: (n: number) => object) => mock.onPost(TOKEN_URL).reply(() => [200, body(++n)]);
  return { clock, mock, provider, reply, requests: () => mock.history.post.length };
}

function jwt(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('the cache', () => {
  test('reuses the token until expiry minus the default 30 s leeway', async () => {
    const { clock, provider, reply, requests } = setup();
    reply((n) => ({ access_token: `t${n}`, expires_in: 3600 }));
    expect((await provider.getToken()).accessToken).toBe('t1');
    clock.now += 3569_000;
    expect((await provider.getToken()).accessToken).toBe('t1');
    clock.now += 1_000;
    expect((await provider.getToken()).accessToken).toBe('t2');
    expect(requests()).toBe(2);
  });

  test('never keeps a leeway of more than half the lifetime: a 2 s token is renewed after 1 s', async () => {
    const { clock, provider, reply } = setup();
    reply((n) => ({ access_token: `t${n}`, expires_in: 2 }));
    await provider.getToken();
    clock.now += 999;
    expect((await provider.getToken()).accessToken).toBe('t1');
    clock.now += 1;
    expect((await provider.getToken()).accessToken).toBe('t2');
  });

  test('honours expiryLeewaySeconds', async () => {
    const { clock, provider, reply } = setup({ expiryLeewaySeconds: 100 });
    reply((n) => ({ access_token: `t${n}`, expires_in: 1000 }));
    await provider.getToken();
    clock.now += 899_999;
    expect((await provider.getToken()).accessToken).toBe('t1');
    clock.now += 1;
    expect((await provider.getToken()).accessToken).toBe('t2');
  });

  test('uses the JWT exp claim when expires_in is missing', async () => {
    const { clock, provider, reply } = setup();
    const exp = Math.floor(clock.now / 1000) + 600;
    reply(() => ({ access_token: jwt({ exp }) }));
    const token = await provider.getToken();
    expect(token.expiresAt).toBe(exp * 1000);
  });

  test('ignores a JWT exp further away than ten years and falls back to defaultExpiresInSeconds', async () => {
    const { clock, provider, reply } = setup({ defaultExpiresInSeconds: 100, expiryLeewaySeconds: 0 });
    reply((n) => ({ access_token: jwt({ exp: Math.floor(clock.now / 1000) + 20 * 365 * 24 * 3600, n }) }));
    const first = await provider.getToken();
    expect(first.expiresAt).toBeUndefined();
    clock.now += 100_000;
    expect((await provider.getToken()).accessToken).not.toBe(first.accessToken);
  });

  test('falls back to defaultExpiresInSeconds for an opaque token without expires_in', async () => {
    const { clock, provider, reply } = setup({ defaultExpiresInSeconds: 100, expiryLeewaySeconds: 0 });
    reply((n) => ({ access_token: `t${n}` }));
    const first = await provider.getToken();
    expect(first.expiresAt).toBeUndefined();
    clock.now += 99_999;
    expect((await provider.getToken()).accessToken).toBe('t1');
    clock.now += 1;
    expect((await provider.getToken()).accessToken).toBe('t2');
  });

  test('forceRefresh fetches a new token even while one is cached', async () => {
    const { provider, reply, requests } = setup();
    reply((n) => ({ access_token: `t${n}`, expires_in: 3600 }));
    await provider.getToken();
    expect((await provider.getToken({ forceRefresh: true })).accessToken).toBe('t2');
    expect(requests()).toBe(2);
  });
});

describe('granted scope', () => {
  test("grantedScope is the cached token's scope, which may be a subset of requestedScope", async () => {
    const { provider, reply } = setup({ scope: ['a', 'b'] });
    reply(() => ({ access_token: 't', expires_in: 60, scope: 'a' }));
    expect(provider.grantedScope).toBeUndefined();
    await provider.getToken();
    expect(provider.requestedScope).toEqual(['a', 'b']);
    expect(provider.grantedScope).toEqual(['a']);
  });
});

describe('single-flight', () => {
  test('coalesces 200 concurrent getToken calls into one token request', async () => {
    const { provider, reply, requests } = setup();
    reply((n) => ({ access_token: `t${n}`, expires_in: 3600 }));
    const tokens = await Promise.all(Array.from({ length: 200 }, () => provider.getToken()));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['t1']));
    expect(requests()).toBe(1);
  });

  test('rejects every waiter with the same error and does not cache the failure past the cooldown', async () => {
    const { clock, mock, provider } = setup({ failureCooldownMs: 1000 });
    mock
      .onPost(TOKEN_URL)
      .replyOnce(400, { error: 'invalid_client' })
      .onPost(TOKEN_URL)
      .reply(200, { access_token: 'ok', expires_in: 60 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => provider.getToken()));
    const errors = new Set(results.map((r) => (r as PromiseRejectedResult).reason));
    expect(errors.size).toBe(1);
    expect([...errors][0]).toBeInstanceOf(TokenEndpointError);
    expect(mock.history.post).toHaveLength(1);
    await expect(provider.getToken()).rejects.toBe([...errors][0]);
    expect(mock.history.post).toHaveLength(1);
    clock.now += 1000;
    expect((await provider.getToken()).accessToken).toBe('ok');
    expect(mock.history.post).toHaveLength(2);
  });
});

describe('invalidate', () => {
  test('drops the cached token only if it is still that token', async () => {
    const { provider, reply, requests } = setup();
    reply((n) => ({ access_token: `t${n}`, expires_in: 3600 }));
    const first = await provider.getToken();
    const second = await provider.getToken({ forceRefresh: true });
    expect(provider.invalidate(first)).toBe(false);
    expect((await provider.getToken()).accessToken).toBe('t2');
    expect(provider.invalidate(second)).toBe(true);
    expect((await provider.getToken()).accessToken).toBe('t3');
    expect(requests()).toBe(3);
  });
});

describe('a caller that stops waiting', () => {
  test('rejects at once on abort while other waiters still get the token', async () => {
    const { mock, provider } = setup();
    let answer!: () => void;
    mock
      .onPost(TOKEN_URL)
      .reply(() => new Promise((resolve) => (answer = () => resolve([200, { access_token: 'late', expires_in: 60 }]))));
    const controller = new AbortController();
    const aborted = provider.getToken({ signal: controller.signal });
    const other = provider.getToken();
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    answer();
    expect((await other).accessToken).toBe('late');
  });
});

describe('the token object', () => {
  test('shows its access token neither in JSON nor in util.inspect', async () => {
    const { provider, reply } = setup();
    reply(() => ({ access_token: 'SECRET-TOKEN-VALUE', expires_in: 60 }));
    const token = await provider.getToken();
    expect(token.accessToken).toBe('SECRET-TOKEN-VALUE');
    expect(JSON.stringify(token)).not.toContain('SECRET-TOKEN-VALUE');
    expect(require('node:util').inspect(token, { depth: null, showHidden: false })).not.toContain('SECRET-TOKEN-VALUE');
  });
});
