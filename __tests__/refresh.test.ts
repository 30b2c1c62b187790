/**
 * Issue 4, "Background refresh" and "Clock": a token past its refresh point is still used at once
 * while one refresh runs in the background; only an expired token makes callers wait; `expiresAt`
 * counts from when the token request was sent. Injected clock where possible; the one real-time
 * test (2 s tokens under steady traffic) asserts counts, never durations.
 */
import axios from 'axios';
import {
  attachAuth,
  ClientCredentialsProvider,
  type ErrorEvent,
  type GetTokenOptions,
  type TokenEvent,
} from '../src/index.js';
import { manualClock, track, until } from './helpers/vendors/common.js';
import { startCheckingApi, startTokenEndpoint, type TokenEndpoint } from './helpers/vendors/token-endpoint.js';

const credentials = { clientId: 'refresh-client', clientSecret: 'refresh-secret-31d0' };
const SECOND = 1000;

/** Lets the event loop run long enough for a token request that was started to reach the server. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function setup(options: { refreshRatio?: number | false; expiryLeewaySeconds?: number } = {}) {
  const endpoint = await startTokenEndpoint();
  endpoint.expiresIn = 100;
  const clock = manualClock();
  const provider = new ClientCredentialsProvider({
    tokenUrl: endpoint.tokenUrl,
    ...credentials,
    now: clock.now,
    retry: false,
    ...options,
  });
  const tokens: TokenEvent[] = [];
  const errors: ErrorEvent[] = [];
  provider.on('token', (e) => tokens.push(e));
  provider.on('error', (e) => errors.push(e));
  const first = await provider.getToken();
  return { endpoint, clock, provider, tokens, errors, first };
}

/**
 * With a 100 s token and the default 30 s leeway: stale at 70 s. The refresh starts ahead of that by what
 * the token endpoint needs, at least 1 s (here, with no retries and an endpoint that answers at once on
 * the injected clock), plus the 1 s failure cooldown: from 68 s.
 */
const REFRESH_AT = 68 * SECOND;
const STALE_AT = 70 * SECOND;

describe('background refresh', () => {
  it('peekToken only reads: past the refresh point it starts nothing; refreshIfDue starts one refresh', async () => {
    const { endpoint, clock, provider, first } = await setup();
    clock.advance(REFRESH_AT);
    expect(provider.peekToken()).toBe(first);
    expect(provider.peekToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(1);
    const release = endpoint.hold();
    provider.refreshIfDue();
    provider.refreshIfDue();
    await until(() => endpoint.tokenRequests.length === 2, 'the background token request');
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(2);
    release();
  });

  it('refreshIfDue starts nothing before the refresh point', async () => {
    const { endpoint, clock, provider } = await setup();
    clock.advance(REFRESH_AT - 1);
    provider.refreshIfDue();
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('makes no token request before the refresh point', async () => {
    const { endpoint, clock, provider, first } = await setup();
    clock.advance(REFRESH_AT - 1);
    expect(await provider.getToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(1);
  });

  it('past the refresh point, answers every caller at once with the cached token and starts exactly one background token request', async () => {
    const { endpoint, clock, provider, tokens, first } = await setup();
    const release = endpoint.hold();
    clock.advance(REFRESH_AT);
    // The refresh is held by the server: these resolve only because nobody waits for it.
    const now = await Promise.all(Array.from({ length: 10 }, () => provider.getToken()));
    expect(now.every((t) => t === first)).toBe(true);
    await until(() => endpoint.tokenRequests.length === 2, 'the background token request');
    clock.advance(SECOND);
    expect(await provider.getToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(2);
    release();
    await until(() => tokens.length === 2, 'the refreshed token');
    expect(tokens[1]).toMatchObject({ background: true, source: 'grant' });
    const next = await provider.getToken();
    expect(next.accessToken).toBe(endpoint.issued[1]?.token);
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it('sends API requests at once with the current token while the background refresh is under way', async () => {
    const { endpoint, clock, provider, first } = await setup();
    const api = await startCheckingApi(endpoint);
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const release = endpoint.hold();
    clock.advance(REFRESH_AT);
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => client.get(`/a/${i}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
    expect(api.calls.map((c) => c.token)).toEqual(Array(5).fill(first.accessToken));
    expect(endpoint.tokenRequests).toHaveLength(2);
    release();
  });

  it('keeps using the valid token when the background refresh fails, and tries the refresh again after the failure cooldown', async () => {
    const { endpoint, clock, provider, errors, first } = await setup();
    endpoint.script({ status: 500, body: { error: 'server_error' } });
    clock.advance(REFRESH_AT);
    expect(await provider.getToken()).toBe(first);
    await until(() => errors.length === 1, 'the refresh failure');
    expect(errors[0]).toMatchObject({ phase: 'refresh', error: { name: 'TokenEndpointError', status: 500 } });
    // During the cooldown (1 s by default) the token is still used and no refresh is tried.
    clock.advance(999);
    expect(await provider.getToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(2);
    // Afterwards the next caller starts the refresh again, and still gets the valid token at once.
    clock.advance(1);
    expect(await provider.getToken()).toBe(first);
    await until(() => endpoint.issued.length === 2, 'the second refresh');
    await until(() => provider.peekToken()?.accessToken === endpoint.issued[1]?.token, 'the new token in the cache');
    expect(endpoint.tokenRequests).toHaveLength(3);
  });

  it('makes callers wait only once the token has expired (expiry minus leeway)', async () => {
    const { endpoint, clock, provider, first } = await setup({ refreshRatio: false });
    clock.advance(STALE_AT - 1);
    expect(await provider.getToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(1);
    const release = endpoint.hold();
    clock.advance(1);
    const waiting = track(provider.getToken());
    await until(() => endpoint.tokenRequests.length === 2, 'the token request');
    expect(waiting.settled).toBe(false);
    release();
    expect((await waiting.promise).accessToken).toBe(endpoint.issued[1]?.token);
  });

  it('lets callers that find the token expired join the background refresh already under way', async () => {
    const { endpoint, clock, provider } = await setup();
    const release = endpoint.hold();
    clock.advance(REFRESH_AT);
    await provider.getToken();
    await until(() => endpoint.tokenRequests.length === 2, 'the background token request');
    clock.advance(STALE_AT - REFRESH_AT);
    const waiting = Array.from({ length: 5 }, () => track(provider.getToken()));
    await settle();
    expect(waiting.some((w) => w.settled)).toBe(false);
    release();
    const tokens = await Promise.all(waiting.map((w) => w.promise));
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set([endpoint.issued[1]?.token]));
    expect(endpoint.tokenRequests).toHaveLength(2);
  });

  it.each([
    // lifetime s, refresh point s, stale point s (leeway 30 s, at most half the lifetime). The refresh
    // starts ahead of the stale point by the default retry policy's back-off (0.2 + 0.4 + 0.8 s; the
    // endpoint answers at once on the injected clock) and the 1 s failure cooldown, at most 20 % of
    // the usable lifetime.
    [2, 0.8, 1],
    [100, 67.6, 70],
    [3600, 3567.6, 3570],
  ])('for a %i s token, refreshes from %d s, before it stops using it at %d s', async (lifetime, refreshS, staleS) => {
    const endpoint = await startTokenEndpoint();
    endpoint.expiresIn = lifetime;
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials, now: clock.now });
    const first = await provider.getToken();
    const start = clock.now();
    clock.set(start + refreshS * SECOND - 1);
    expect(await provider.getToken()).toBe(first);
    await settle();
    expect(endpoint.tokenRequests).toHaveLength(1);
    const release = endpoint.hold();
    clock.set(start + refreshS * SECOND);
    expect(await provider.getToken()).toBe(first);
    await until(() => endpoint.tokenRequests.length === 2, 'the background token request');
    clock.set(start + staleS * SECOND - 1);
    expect(provider.peekToken()).toBe(first);
    clock.set(start + staleS * SECOND);
    expect(provider.peekToken()).toBeUndefined();
    release();
  });
});

describe('steady traffic', () => {
  it('with 2 s tokens for 3 s, no request waits for a token after the first, and the API never sees an expired token', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.expiresIn = 2;
    const api = await startCheckingApi(endpoint);
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    // attachAuth sends at once with peekToken()'s token; it calls getToken only when there is none to use.
    let waits = 0;
    const getToken = provider.getToken.bind(provider);
    provider.getToken = (options?: GetTokenOptions) => {
      waits++;
      return getToken(options);
    };
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    await client.get('/first');
    expect(waits).toBe(1);
    const sent: Promise<unknown>[] = [];
    const started = Date.now();
    while (Date.now() - started < 3000) {
      sent.push(client.get(`/steady/${sent.length}`));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const answers = await Promise.allSettled(sent);
    expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
    expect(waits).toBe(1);
    expect(api.calls.filter((c) => c.verdict !== 'ok')).toEqual([]);
    expect(api.calls.length).toBe(sent.length + 1);
    // A new token about every 0.8 s, each fetched in the background.
    expect(endpoint.issued.length).toBeGreaterThanOrEqual(3);
  });
});

describe('clock', () => {
  it('counts expiresAt from when the token request was sent, not from when the answer arrived', async () => {
    const endpoint = await startTokenEndpoint();
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials, now: clock.now });
    const tokens: TokenEvent[] = [];
    provider.on('token', (e) => tokens.push(e));
    const sentAt = clock.now();
    const release = endpoint.hold();
    const pending = provider.getToken();
    await until(() => endpoint.tokenRequests.length === 1, 'the token request');
    clock.advance(300);
    release();
    const token = await pending;
    expect(token.expiresAt).toBe(sentAt + 3600 * SECOND);
    expect(tokens[0]).toMatchObject({ lifetimeMs: 3600 * SECOND, durationMs: 300 });
  });

  it('counts expiresAt from the send time with the real clock, for a server that takes 300 ms to answer', async () => {
    const endpoint: TokenEndpoint = await startTokenEndpoint();
    endpoint.delayMs = 300;
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const before = Date.now();
    const token = await provider.getToken();
    const after = Date.now();
    // Sent at or after `before` and no later than the server saw it; the answer came 300 ms after that
    // (less a millisecond or two of timer rounding), so counting from the answer would be later.
    expect(token.expiresAt).toBeGreaterThanOrEqual(before + 3600 * SECOND);
    expect(token.expiresAt).toBeLessThanOrEqual(endpoint.arrivals[0]! + 3600 * SECOND);
    expect(token.expiresAt).toBeLessThanOrEqual(after - 290 + 3600 * SECOND);
  });
});
