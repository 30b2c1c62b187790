/**
 * Issue 4, "A token endpoint that misbehaves": which failures are retried, how long the provider
 * waits between tries, one retry cycle for every waiter, the failure cooldown, and the bounds of a
 * token request (its own timeout, and the waiting API request's timeout and signal).
 * Every test runs against loopback servers; none asserts how fast something happened, only
 * counts, order, and lower bounds that timers guarantee.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import axios from 'axios';
import {
  attachAuth,
  ClientCredentialsProvider,
  TokenEndpointError,
  type RetryEvent,
  type RetryOptions,
} from '../src/index.js';
import { parseRetryAfter, retryDelay, resolveRetry } from '../src/grant/retry.js';
import { json } from './helpers/http.js';
import { closedPortUrl, manualClock, rejectionOf, until } from './helpers/vendors/common.js';
import { startCheckingApi, startTokenEndpoint, type TokenEndpoint } from './helpers/vendors/token-endpoint.js';

const credentials = { clientId: 'retry-client', clientSecret: 'retry-secret-9f8e7d' };

function providerFor(
  endpoint: { tokenUrl: string },
  options: { retry?: RetryOptions | false; timeoutMs?: number; failureCooldownMs?: number; now?: () => number } = {},
) {
  const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials, ...options });
  const retries: RetryEvent[] = [];
  provider.on('retry', (event) => retries.push(event));
  return { provider, retries };
}

describe('transient failures are retried', () => {
  it('retries a connection refused (nothing listening) with backoff, then fails with a TokenEndpointError naming it', async () => {
    const tokenUrl = await closedPortUrl();
    const { provider, retries } = providerFor({ tokenUrl }, { retry: { retries: 2, baseDelayMs: 20 } });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ attempts: 3, retryable: true, status: undefined });
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(retries.map((r) => [r.attempt, r.reason, r.request])).toEqual([
      [1, 'ECONNREFUSED', 'token'],
      [2, 'ECONNREFUSED', 'token'],
    ]);
  });

  it.each([
    ['destroyed before any answer', 'reset'],
    ['destroyed in the middle of the answer', 'cut'],
  ] as const)('retries when the connection is %s, and uses the next answer', async (_, step) => {
    const endpoint = await startTokenEndpoint();
    endpoint.script(step);
    const { provider, retries } = providerFor(endpoint, { retry: { baseDelayMs: 10 } });
    const token = await provider.getToken();
    expect(endpoint.tokenRequests).toHaveLength(2);
    expect(token.accessToken).toBe(endpoint.issued[0]?.token);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.reason).not.toMatch(/^HTTP /);
  });

  it('gives up on an attempt after timeoutMs when the server never answers, and retries it', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = 'hang';
    const { provider, retries } = providerFor(endpoint, { timeoutMs: 100, retry: { retries: 1, baseDelayMs: 1 } });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as Error).message).toContain('no answer within 100 ms');
    expect(error).toMatchObject({ attempts: 2, retryable: true });
    expect(endpoint.tokenRequests).toHaveLength(2);
    expect(retries.map((r) => r.reason)).toEqual(['timeout']);
  });

  it('uses the answer of the next attempt after a timed-out one', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.script('hang');
    const { provider } = providerFor(endpoint, { timeoutMs: 100, retry: { baseDelayMs: 1 } });
    const token = await provider.getToken();
    expect(endpoint.tokenRequests).toHaveLength(2);
    expect(token.accessToken).toBe(endpoint.issued[0]?.token);
  });

  it.each([429, 500, 502, 503, 504])(
    'retries HTTP %i with a backoff delay below the base, then uses the token',
    async (status) => {
      const endpoint = await startTokenEndpoint();
      endpoint.script({ status, body: { error: 'temporarily_unavailable' } });
      const { provider, retries } = providerFor(endpoint, { retry: { baseDelayMs: 30 } });
      const token = await provider.getToken();
      expect(endpoint.tokenRequests).toHaveLength(2);
      expect(token.accessToken).toBe(endpoint.issued[0]?.token);
      expect(retries).toEqual([
        { attempt: 1, delayMs: expect.any(Number), reason: `HTTP ${status}`, request: 'token' },
      ]);
      expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(0);
      expect(retries[0]!.delayMs).toBeLessThan(30);
    },
  );
});

describe('failures that retrying cannot fix', () => {
  it.each([
    [400, { error: 'invalid_scope', error_description: 'unknown scope' }],
    [401, { error: 'invalid_client', error_description: 'bad secret' }],
  ])('never retries HTTP %i: one request, a TokenEndpointError with its status and error', async (status, body) => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status, body };
    const { provider, retries } = providerFor(endpoint);
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({
      status,
      error: body.error,
      errorDescription: body.error_description,
      attempts: 1,
      retryable: false,
    });
    expect(endpoint.tokenRequests).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('sends exactly one request with retry: false', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 503, body: { error: 'temporarily_unavailable' } };
    const { provider, retries } = providerFor(endpoint, { retry: false });
    const error = await rejectionOf(provider.getToken());
    expect(error).toMatchObject({ name: 'TokenEndpointError', status: 503, attempts: 1 });
    expect(endpoint.tokenRequests).toHaveLength(1);
    expect(retries).toEqual([]);
  });
});

describe('backoff', () => {
  it('retries three times by default, each delay under its exponential ceiling (200, 400, 800 ms)', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 503, body: {} };
    const { provider, retries } = providerFor(endpoint);
    const error = await rejectionOf(provider.getToken());
    expect(error).toMatchObject({ name: 'TokenEndpointError', status: 503, attempts: 4, retryable: true });
    expect(endpoint.tokenRequests).toHaveLength(4);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    retries.forEach((r, i) => expect(r.delayMs).toBeLessThan(200 * 2 ** i));
  });

  it('keeps every delay under maxDelayMs however many retries', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 502, body: {} };
    const { provider, retries } = providerFor(endpoint, { retry: { retries: 6, baseDelayMs: 4, maxDelayMs: 20 } });
    await rejectionOf(provider.getToken());
    expect(endpoint.tokenRequests).toHaveLength(7);
    retries.forEach((r) => expect(r.delayMs).toBeLessThan(Math.min(20, 4 * 2 ** (r.attempt - 1))));
  });

  it('has the defaults the issue names: 3 retries, 200 ms base, 5 s cap, 429/500/502/503/504', () => {
    expect(resolveRetry(undefined)).toMatchObject({
      retries: 3,
      baseDelayMs: 200,
      maxDelayMs: 5000,
      statuses: [429, 500, 502, 503, 504],
    });
    expect(resolveRetry(false).retries).toBe(0);
  });

  it('draws each delay from zero up to min(cap, base × 2^(attempt−1)) (full jitter)', () => {
    const policy = resolveRetry({ baseDelayMs: 200, maxDelayMs: 5000 });
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(policy, attempt, undefined, top))).toEqual([
      199, 399, 799, 1599, 3199, 4999, 4999,
    ]);
    expect(retryDelay(policy, 5, undefined, () => 0)).toBe(0);
  });
});

describe('Retry-After', () => {
  /** 503 with this Retry-After once, then a token; records arrival times. */
  async function retryAfterOnce(value: () => string): Promise<TokenEndpoint> {
    const endpoint = await startTokenEndpoint();
    endpoint.script((_req, res) => json(res, 503, { error: 'temporarily_unavailable' }, { 'Retry-After': value() }));
    return endpoint;
  }

  it('waits the seconds Retry-After gives instead of the backoff', async () => {
    const endpoint = await retryAfterOnce(() => '1');
    const { provider, retries } = providerFor(endpoint);
    await provider.getToken();
    expect(retries.map((r) => r.delayMs)).toEqual([1000]);
    expect(endpoint.arrivals[1]! - endpoint.arrivals[0]!).toBeGreaterThanOrEqual(990);
  });

  it('waits until the HTTP date Retry-After gives', async () => {
    let sent = '';
    const endpoint = await retryAfterOnce(() => (sent = new Date(Date.now() + 2000).toUTCString()));
    const { provider, retries } = providerFor(endpoint);
    await provider.getToken();
    // The date has whole seconds: it lies 1 to 2 s after the first request arrived. The backoff alone
    // would retry within 200 ms; the retry must not come before the date.
    const date = Date.parse(sent);
    const [first, second] = endpoint.arrivals as [number, number];
    expect(date - first).toBeGreaterThanOrEqual(1000);
    expect(second).toBeGreaterThanOrEqual(date - 10);
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(date - first);
  });

  it.each([
    ['seconds', () => '120'],
    ['an HTTP date', () => new Date(Date.now() + 120_000).toUTCString()],
  ])('caps a Retry-After in %s by maxRetryAfterMs', async (_, value) => {
    const endpoint = await retryAfterOnce(value);
    const { provider, retries } = providerFor(endpoint, { retry: { maxRetryAfterMs: 50 } });
    await provider.getToken();
    expect(retries.map((r) => r.delayMs)).toEqual([50]);
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('caps Retry-After at 10 s by default', () => {
    expect(retryDelay(resolveRetry(undefined), 1, 3_600_000)).toBe(10_000);
  });

  it.each([
    ['delay-seconds', '7', 7000],
    ['delay-seconds with spaces', ' 3 ', 3000],
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:57 GMT', 20_000],
    ['obsolete RFC 850 date', 'Sunday, 06-Nov-94 08:49:57 GMT', 20_000],
    ['obsolete asctime date', 'Sun Nov  6 08:49:57 1994', 20_000],
    ['date in the past', 'Sun, 06 Nov 1994 08:49:00 GMT', 0],
  ])('reads a Retry-After %s', (_, value, expected) => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('reads an asctime Retry-After as GMT whatever the local time zone', async () => {
    // The zone is process-wide and jest's sandbox cannot change it: ask a Node process started in New York.
    const script =
      "const { parseRetryAfter } = require('./src/grant/retry.ts'); process.stdout.write(String(parseRetryAfter('Sun Nov  6 08:49:57 1994', Date.parse('Sun, 06 Nov 1994 08:49:37 GMT'))))";
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, TZ: 'America/New_York' },
    });
    expect(stdout).toBe('20000');
  });

  it.each(['-1', '1.5', 'x 1', 'soon', '', '12abc'])(
    'ignores a Retry-After of %j, which is neither delay-seconds nor an HTTP date, and backs off instead',
    (value) => {
      // Date.parse('1.5') is a day in 2001: read as a date, it would make the retry immediate.
      expect(parseRetryAfter(value, Date.now())).toBeUndefined();
    },
  );
});

describe('one retry cycle for every waiter', () => {
  it('shares one retry cycle among concurrent callers, including one that arrives during it', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.script({ status: 503, body: {} }, { status: 503, body: {} });
    const { provider, retries } = providerFor(endpoint, { retry: { baseDelayMs: 30 } });
    const first = Array.from({ length: 20 }, () => provider.getToken());
    await until(() => retries.length >= 1, 'the first retry');
    const late = provider.getToken();
    const tokens = await Promise.all([...first, late]);
    expect(endpoint.tokenRequests).toHaveLength(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set([endpoint.issued[0]?.token]));
  });
});

describe('failure cooldown', () => {
  it('turns 50 concurrent API requests during a token endpoint outage into at most 4 token requests, each request rejecting within 10 s with a TokenEndpointError and none reaching the API', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 500, body: { error: 'server_error' } };
    const api = await startCheckingApi(endpoint);
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => client.get(`/accounts/${i}`)));
    const elapsed = Date.now() - started;
    expect(outcomes.map((o) => o.status)).toEqual(Array(50).fill('rejected'));
    for (const outcome of outcomes)
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TokenEndpointError);
    expect(endpoint.tokenRequests.length).toBeLessThanOrEqual(4);
    expect(api.requests).toHaveLength(0);
    expect(elapsed).toBeLessThan(10_000);
  });

  it('fails fast with the same error during the cooldown (1 s by default) and runs a new cycle after it', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.script({ status: 500, body: { error: 'server_error' } });
    const clock = manualClock();
    const { provider } = providerFor(endpoint, { retry: false, now: clock.now });
    const first = await rejectionOf(provider.getToken());
    expect(first).toBeInstanceOf(TokenEndpointError);
    clock.advance(999);
    expect(await rejectionOf(provider.getToken())).toBe(first);
    expect(endpoint.tokenRequests).toHaveLength(1);
    clock.advance(1);
    const token = await provider.getToken();
    expect(token.accessToken).toBe(endpoint.issued[0]?.token);
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('lets API requests through attachAuth again once the cooldown is over and the endpoint recovers', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 503, body: {} };
    const api = await startCheckingApi(endpoint);
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({
      tokenUrl: endpoint.tokenUrl,
      ...credentials,
      retry: false,
      failureCooldownMs: 5000,
      now: clock.now,
    });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    await Promise.allSettled(Array.from({ length: 10 }, () => client.get('/a')));
    endpoint.fallback = 'token';
    expect(await rejectionOf(client.get('/b'))).toBeInstanceOf(TokenEndpointError);
    expect(endpoint.tokenRequests).toHaveLength(1);
    clock.advance(5000);
    const answers = await Promise.all(Array.from({ length: 10 }, () => client.get('/c')));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(endpoint.tokenRequests).toHaveLength(2);
    expect(api.calls.map((c) => c.verdict)).toEqual(Array(10).fill('ok'));
  });
});

describe('bounds of a token request', () => {
  it('bounds each attempt by timeoutMs (10 s by default) even when retries are off', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = 'hang';
    const { provider } = providerFor(endpoint, { timeoutMs: 150, retry: false });
    const error = await rejectionOf(provider.getToken());
    expect(error).toMatchObject({ name: 'TokenEndpointError', attempts: 1 });
    expect((error as Error).message).toContain('no answer within 150 ms');
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('bounds an attempt by timeoutMs as a whole, even when the server keeps the connection busy by trickling its answer', async () => {
    const endpoint = await startTokenEndpoint();
    const timers: NodeJS.Timeout[] = [];
    endpoint.fallback = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' });
      timers.push(setInterval(() => res.write(' '), 20));
    };
    const { provider } = providerFor(endpoint, { timeoutMs: 200, retry: false });
    try {
      const error = await rejectionOf(provider.getToken());
      expect(error).toMatchObject({ name: 'TokenEndpointError', attempts: 1 });
      expect((error as Error).message).toContain('no answer within 200 ms');
    } finally {
      timers.forEach(clearInterval);
    }
  });

  async function slowTokenSetup() {
    const endpoint = await startTokenEndpoint();
    const release = endpoint.hold();
    const api = await startCheckingApi(endpoint);
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    return { endpoint, release, api, client };
  }

  it('rejects an API request whose signal aborts while it waits for a token with a CanceledError; the others waiting get the token', async () => {
    const { endpoint, release, api, client } = await slowTokenSetup();
    const controller = new AbortController();
    const aborted = client.get('/aborted', { signal: controller.signal });
    const others = [client.get('/one'), client.get('/two')];
    await until(() => endpoint.tokenRequests.length === 1, 'the token request');
    controller.abort();
    const error = await rejectionOf(aborted);
    expect(axios.isCancel(error)).toBe(true);
    release();
    expect((await Promise.all(others)).map((r) => r.status)).toEqual([200, 200]);
    expect(endpoint.tokenRequests).toHaveLength(1);
    expect(api.requests.map((r) => r.url).sort()).toEqual(['/one', '/two']);
  });

  it('rejects an API request whose timeout passes while it waits for a token with a timeout AxiosError; the others waiting get the token', async () => {
    const { endpoint, release, api, client } = await slowTokenSetup();
    const timedOut = client.get('/slow', { timeout: 100 });
    const other = client.get('/patient');
    const error = await rejectionOf(timedOut);
    expect(axios.isAxiosError(error)).toBe(true);
    expect(axios.isCancel(error)).toBe(false);
    expect(error).toMatchObject({ code: 'ECONNABORTED' });
    expect((error as Error).message).toMatch(/timeout of 100ms exceeded/);
    release();
    expect((await other).status).toBe(200);
    expect(endpoint.tokenRequests).toHaveLength(1);
    expect(api.requests.map((r) => r.url)).toEqual(['/patient']);
  });

  it('keeps the token request going when its only waiter gives up, so the next caller gets that token', async () => {
    const { endpoint, release, client } = await slowTokenSetup();
    const controller = new AbortController();
    const aborted = client.get('/gives-up', { signal: controller.signal });
    await until(() => endpoint.tokenRequests.length === 1, 'the token request');
    controller.abort();
    await rejectionOf(aborted);
    const next = client.get('/next');
    release();
    expect((await next).status).toBe(200);
    expect(endpoint.tokenRequests).toHaveLength(1);
  });
});
