/**
 * Issue 4, "Seeing what it does": the provider's events (token, error, retry, replay, denied),
 * the same events on `node:diagnostics_channel`, and no secret or token in any of them.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import axios from 'axios';
import {
  attachAuth,
  CHANNELS,
  ClientCredentialsProvider,
  TokenEndpointError,
  type ClientCredentialsOptions,
  type ProviderEventName,
  type ProviderEvents,
} from '../src/index.js';
import { json, startServer, type TestServer } from './helpers/http.js';
import { basicOf, closedPortUrl, manualClock, rejectionOf, until } from './helpers/vendors/common.js';
import { startTokenEndpoint } from './helpers/vendors/token-endpoint.js';

const NAMES: ProviderEventName[] = ['token', 'error', 'retry', 'replay', 'denied'];
type Recorded = { [K in ProviderEventName]: { name: K; event: ProviderEvents[K] } }[ProviderEventName];

/** Every event of `provider`, in order. */
function record(provider: ClientCredentialsProvider): Recorded[] {
  const seen: Recorded[] = [];
  for (const name of NAMES)
    provider.on(name, (event: ProviderEvents[typeof name]) => void seen.push({ name, event } as Recorded));
  return seen;
}

/** Every message published on the library's diagnostics channels while the test runs. */
function subscribeAll(): { messages: { name: string; message: unknown }[]; stop(): void } {
  const messages: { name: string; message: unknown }[] = [];
  const handlers = NAMES.map((name) => {
    const handler = (message: unknown) => messages.push({ name, message });
    diagnosticsChannel.subscribe(CHANNELS[name], handler);
    return () => diagnosticsChannel.unsubscribe(CHANNELS[name], handler);
  });
  return { messages, stop: () => handlers.forEach((h) => h()) };
}

const credentials = { clientId: 'events-client', clientSecret: 'Ev3nt/s3cr3t+key=&x' };

/** An API with a route that answers 401 once, a route that answers 403 with a required scope, and a plain route. */
async function startApi(): Promise<TestServer> {
  let rejectedOnce = false;
  return startServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/reports/stale' && !rejectedOnce) {
      rejectedOnce = true;
      return json(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    if (path === '/transfers')
      return json(
        res,
        403,
        { error: 'insufficient_scope' },
        { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="moneyMovement/write"' },
      );
    json(res, 200, { ok: true });
  });
}

describe('events', () => {
  it('emits token with its expiry, lifetime, granted, asked and missing scope, request duration, attempts and source', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.extra = { scope: 'banking/read' };
    const clock = manualClock();
    const provider = new ClientCredentialsProvider({
      tokenUrl: endpoint.tokenUrl,
      ...credentials,
      scope: ['banking/read', 'banking/write'],
      now: clock.now,
    });
    const events = record(provider);
    const sentAt = clock.now();
    const release = endpoint.hold();
    const pending = provider.getToken();
    await until(() => endpoint.tokenRequests.length === 1, 'the token request');
    clock.advance(250);
    release();
    await pending;
    expect(events).toEqual([
      {
        name: 'token',
        event: {
          source: 'grant',
          expiresAt: sentAt + 3600_000,
          lifetimeMs: 3600_000,
          scope: ['banking/read'],
          requestedScope: ['banking/read', 'banking/write'],
          missingScope: ['banking/write'],
          durationMs: 250,
          attempts: 1,
          background: false,
        },
      },
    ]);
  });

  it('emits retry (attempt, delay, reason) before each retry, then token with the attempts it took', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.script({ status: 503, body: {} }, { status: 429, body: {}, headers: { 'Retry-After': '0' } });
    const provider = new ClientCredentialsProvider({
      tokenUrl: endpoint.tokenUrl,
      ...credentials,
      retry: { baseDelayMs: 10 },
    });
    const events = record(provider);
    await provider.getToken();
    expect(events.map((e) => e.name)).toEqual(['retry', 'retry', 'token']);
    expect(events[0]?.event).toEqual({ attempt: 1, delayMs: expect.any(Number), reason: 'HTTP 503', request: 'token' });
    expect(events[1]?.event).toEqual({ attempt: 2, delayMs: 0, reason: 'HTTP 429', request: 'token' });
    expect(events[2]?.event).toMatchObject({ attempts: 3 });
  });

  it('emits error with the TokenEndpointError and phase token once per failed cycle, however many waited', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.fallback = { status: 400, body: { error: 'invalid_scope' } };
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const events = record(provider);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => provider.getToken()));
    const error = (outcomes[0] as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(events).toEqual([{ name: 'error', event: { error, phase: 'token' } }]);
  });

  it('emits replay when a 401 from the API is replayed with a fresh token, with the URL without its query', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startApi();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const events = record(provider);
    await client.get('/reports/stale', { params: { key: 'query-secret' } });
    expect(events.map((e) => e.name)).toEqual(['token', 'replay', 'token']);
    expect(events[1]?.event).toEqual({ method: 'GET', url: `${api.url}/reports/stale`, status: 401 });
  });

  it('emits denied with the scope the API requires when it answers 403', async () => {
    const endpoint = await startTokenEndpoint();
    const api = await startApi();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const events = record(provider);
    await rejectionOf(client.post('/transfers', { amount: 1 }));
    expect(events.map((e) => e.name)).toEqual(['token', 'denied']);
    expect(events[1]?.event).toEqual({
      method: 'POST',
      url: `${api.url}/transfers`,
      requiredScope: ['moneyMovement/write'],
    });
  });

  it('keeps going when a listener throws', async () => {
    const endpoint = await startTokenEndpoint();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    provider.on('token', () => {
      throw new Error('listener bug');
    });
    const events = record(provider);
    await expect(provider.getToken()).resolves.toMatchObject({ tokenType: 'Bearer' });
    expect(events.map((e) => e.name)).toEqual(['token']);
  });
});

describe('listeners', () => {
  it('calls a once listener for the first event only, and lets off remove it before it fires', async () => {
    const endpoint = await startTokenEndpoint();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const first: unknown[] = [];
    const removed: unknown[] = [];
    const onceListener = (e: unknown) => void first.push(e);
    const removedListener = (e: unknown) => void removed.push(e);
    provider.once('token', onceListener).once('token', removedListener).off('token', removedListener);
    await provider.getToken();
    await provider.getToken({ forceRefresh: true });
    expect(first).toHaveLength(1);
    expect(removed).toEqual([]);
  });

  it('calls a once listener once even when another listener causes the same event during its emit', async () => {
    const endpoint = await startTokenEndpoint();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const calls: unknown[] = [];
    let nested = false;
    provider.on('denied', (event) => {
      if (nested) return;
      nested = true;
      provider.emit('denied', event); // as a listener that reacts by making another denied request could
    });
    provider.once('denied', (event) => void calls.push(event));
    provider.emit('denied', { method: 'GET', url: 'http://127.0.0.1/x', requiredScope: [] });
    expect(calls).toHaveLength(1);
  });

  it('removes a listener with off', async () => {
    const endpoint = await startTokenEndpoint();
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const calls: unknown[] = [];
    const listener = (e: unknown) => void calls.push(e);
    provider.on('token', listener);
    await provider.getToken();
    provider.off('token', listener);
    await provider.getToken({ forceRefresh: true });
    expect(calls).toHaveLength(1);
  });
});

describe('diagnostics_channel', () => {
  it('names one channel per event, axios-client-credentials:<event>', () => {
    expect(CHANNELS).toEqual({
      token: 'axios-client-credentials:token',
      error: 'axios-client-credentials:error',
      retry: 'axios-client-credentials:retry',
      replay: 'axios-client-credentials:replay',
      denied: 'axios-client-credentials:denied',
    });
  });

  it('publishes every event on its channel, the same payload in the same order, with no listener on the provider', async () => {
    const channels = subscribeAll();
    try {
      const endpoint = await startTokenEndpoint();
      endpoint.script({ status: 502, body: {} });
      const api = await startApi();
      const provider = new ClientCredentialsProvider({
        tokenUrl: endpoint.tokenUrl,
        ...credentials,
        retry: { baseDelayMs: 5 },
      });
      const client = axios.create({ baseURL: api.url });
      attachAuth(client, provider);
      await client.get('/reports/stale');
      await rejectionOf(client.post('/transfers', {}));
      const failing = new ClientCredentialsProvider({ tokenUrl: await closedPortUrl(), ...credentials, retry: false });
      await rejectionOf(failing.getToken());
      expect(channels.messages.map((m) => m.name)).toEqual(['retry', 'token', 'replay', 'token', 'denied', 'error']);

      // With a listener too, the listener and the channel get the very same objects.
      channels.messages.length = 0;
      const listened = record(provider);
      provider.invalidate((await provider.getToken()).accessToken);
      await client.post('/transfers', {}).catch(() => undefined);
      expect(listened.map((e) => e.name)).toEqual(['token', 'denied']);
      expect(channels.messages.map((m) => m.message)).toEqual(listened.map((e) => e.event));
      channels.messages.forEach((m, i) => expect(m.message).toBe(listened[i]?.event));
    } finally {
      channels.stop();
    }
  });
});

describe('no secret in any event', () => {
  /** What must never show: the secret (raw and form-encoded), the Basic credentials, and every access token issued. */
  function forbidden(issued: string[]): string[] {
    const basic = basicOf(credentials.clientId, credentials.clientSecret);
    const formEncoded = new URLSearchParams({ s: credentials.clientSecret }).toString().slice(2);
    return [
      credentials.clientSecret,
      formEncoded,
      encodeURIComponent(credentials.clientSecret),
      basic,
      basic.slice('Basic '.length),
      ...issued,
    ];
  }

  it('serialises no event, with JSON.stringify or util.inspect (depth: null), to text holding the client secret, the Basic credentials or an access token', async () => {
    const channels = subscribeAll();
    const seen: Recorded[] = [];
    const issued: string[] = [];
    const watch = (options: ClientCredentialsOptions) => {
      const provider = new ClientCredentialsProvider(options);
      for (const name of NAMES)
        provider.on(name, (event: ProviderEvents[typeof name]) => void seen.push({ name, event } as Recorded));
      return provider;
    };
    try {
      // A token endpoint that misbehaves: it echoes what it received into its error answers.
      const echoing = await startServer((req, res) => {
        const echo = `got ${req.headers.authorization ?? ''} ${req.body.toString()}`;
        json(res, 401, { error: 'invalid_client', error_description: echo });
      });
      const endpoint = await startTokenEndpoint();
      endpoint.script({ status: 503, body: {} });
      const api = await startApi();
      const clock = manualClock();

      // token, retry, replay, denied, and a failed background refresh
      const good = watch({
        tokenUrl: endpoint.tokenUrl,
        ...credentials,
        scope: 'banking/read',
        retry: { baseDelayMs: 5 },
        now: clock.now,
      });
      const client = axios.create({ baseURL: api.url });
      attachAuth(client, good);
      await client.get('/reports/stale');
      await rejectionOf(client.post('/transfers', {}));
      const echoFailure = (_req: unknown, res: Parameters<typeof json>[0]) =>
        json(res, 500, { error: 'server_error', error_description: `no ${credentials.clientSecret}` });
      endpoint.script(echoFailure, echoFailure, echoFailure, echoFailure);
      clock.advance(3569_000); // past the refresh point of the 3600 s token (3568 s), before it goes stale
      await client.get('/plain');
      await until(() => seen.some((e) => e.name === 'error'), 'the failed background refresh');

      // errors: an echoing endpoint with Basic and with client_secret_post, a network failure, a bad discovery
      for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
        await rejectionOf(watch({ tokenUrl: `${echoing.url}/token`, ...credentials, authMethod }).getToken());
      }
      await rejectionOf(
        watch({ tokenUrl: await closedPortUrl(), ...credentials, retry: { retries: 1, baseDelayMs: 1 } }).getToken(),
      );
      const issuer = await startServer((_req, res) =>
        json(res, 200, { issuer: 'https://elsewhere.example/', token_endpoint: `https://elsewhere.example/token` }),
      );
      await rejectionOf(watch({ issuer: issuer.url, ...credentials }).getToken());
      issued.push(...endpoint.issued.map((i) => i.token));

      expect(new Set(seen.map((e) => e.name))).toEqual(new Set(NAMES));
      expect(seen.filter((e) => e.name === 'error').length).toBeGreaterThanOrEqual(5);
      const payloads = [...seen.map((e) => e.event), ...channels.messages.map((m) => m.message)];
      const texts = payloads.flatMap((payload) => [JSON.stringify(payload), inspect(payload, { depth: null })]);
      const leaks = texts.flatMap((text) =>
        forbidden(issued)
          .filter((secret) => text.includes(secret))
          .map((secret) => ({ secret, text })),
      );
      expect(leaks).toEqual([]);
    } finally {
      channels.stop();
    }
  });

  it.each([
    ['the raw secret', () => credentials.clientSecret, 'client_secret_basic'],
    [
      'the form-encoded secret',
      () => new URLSearchParams({ s: credentials.clientSecret }).toString().slice(2),
      'client_secret_post',
    ],
  ] as const)(
    'keeps no part of %s that an echoing endpoint puts across the 500-character cut of error_description',
    async (_, secretAsSent, authMethod) => {
      const seen: unknown[] = [];
      const secret = secretAsSent();
      const echoing = await startServer((_req, res) =>
        json(res, 400, { error: 'invalid_request', error_description: `${'x'.repeat(500 - 6)}${secret} was refused` }),
      );
      const provider = new ClientCredentialsProvider({ tokenUrl: `${echoing.url}/token`, ...credentials, authMethod });
      provider.on('error', (event) => seen.push(event));
      const error = await rejectionOf(provider.getToken());
      const texts = [error, ...seen].flatMap((payload) => [JSON.stringify(payload), inspect(payload, { depth: null })]);
      // The first 6 characters of the secret would sit before the cut.
      expect(texts.filter((text) => text.includes(secret.slice(0, 6)))).toEqual([]);
    },
  );
});
