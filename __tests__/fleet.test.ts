// A fleet of 8 real Node processes (fixtures/fleet-worker.ts), each with its own providers and Redis
// client (4 ioredis, 4 node-redis), sharing one real redis-server, one loopback authorization server
// and one loopback resource server, all run by this test process. Issue 6: "Make a fleet behave like
// one process: one token request per token lifetime, whatever the number of processes."
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import axios from 'axios';
import Redis from 'ioredis';
import { attachAuth, ClientCredentialsProvider } from '../src/index.js';
import { redisStore } from '../src/provider/stores/redis.js';
import type { FromWorker, ToWorker } from './fixtures/fleet-worker.js';
import { busyFor, commandOnTheWire } from './helpers/event-loop.js';
import {
  burstAll,
  CONCURRENCY,
  FLEET_SIZE,
  forkWorker,
  stopFleet,
  type BurstResult,
  type FleetProcess,
  type RedisClientKind,
} from './helpers/fleet-process.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

jest.setTimeout(60_000);

const CLIENT_ID = 'fleet-client';
const CLIENT_SECRET = `fleet-secret-${randomBytes(16).toString('hex')}`;
/**
 * The workers' providers keep the defaults of the token request time limit and the store lock's
 * TTL: the test of a lock holder killed mid-fetch measures how soon the default lets another
 * process take over (issue 9, hole 6: within 3 s of the holder's death).
 */
const TAKEOVER_WITHIN_MS = 3_000;

// ---------------------------------------------------------------------------------------------
// Loopback authorization server: counts token requests per scope, issues random opaque tokens,
// and can hold the next answer for a scope (to catch a lock holder mid-fetch).

interface TokenRequest {
  scope: string;
  worker: string;
  /** When it reached the server (monotonic ms, comparable with the workers' `at`). */
  at: number;
}

interface AuthServer {
  url: string;
  readonly requests: TokenRequest[];
  /** Access tokens issued, with their scope. */
  readonly issued: Map<string, string>;
  requestsFor(scope: string): number;
  /** Holds the answer to the next token request for `scope`; resolves with the worker that sent it. */
  holdNext(scope: string): Promise<{ worker: string; release(): void }>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  // 8 processes open 100 connections each at once: more than the default backlog of 511.
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function startAuthServer(): Promise<AuthServer> {
  const requests: TokenRequest[] = [];
  const issued = new Map<string, string>();
  const holds = new Map<string, (hold: { worker: string; release(): void }) => void>();
  const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;

  const server = createServer(async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    if (req.method !== 'POST' || req.url !== '/token') return sendJson(res, 404, { error: 'not_found' });
    if (req.headers.authorization !== basic) return sendJson(res, 401, { error: 'invalid_client' });
    if (form.get('grant_type') !== 'client_credentials') return sendJson(res, 400, { error: 'unsupported_grant_type' });
    const scope = form.get('scope') ?? '';
    const worker = String(req.headers['x-fleet-worker']);
    requests.push({ scope, worker, at: monotonicMs() });
    const answer = () => {
      const accessToken = randomBytes(24).toString('base64url');
      issued.set(accessToken, scope);
      sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope });
    };
    const hold = holds.get(scope);
    if (hold) {
      holds.delete(scope);
      hold({ worker, release: answer });
    } else {
      answer();
    }
  });
  const url = await listen(server);
  return {
    url,
    requests,
    issued,
    requestsFor: (scope) => requests.filter((r) => r.scope === scope).length,
    holdNext: (scope) => new Promise((resolve) => holds.set(scope, resolve)),
    close: () => closeServer(server),
  };
}

// ---------------------------------------------------------------------------------------------
// Loopback resource server: 200 for a token the auth server issued and that is not revoked.

interface ApiServer {
  url: string;
  /** Bearer tokens on accepted requests. */
  readonly accepted: string[];
  /** Revokes every token issued so far for `scope`. */
  revoke(scope: string): void;
  close(): Promise<void>;
}

async function startApiServer(auth: AuthServer): Promise<ApiServer> {
  const revoked = new Set<string>();
  const accepted: string[] = [];
  const server = createServer((req, res) => {
    const token = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    if (token === undefined || !auth.issued.has(token) || revoked.has(token)) {
      return sendJson(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    accepted.push(token);
    sendJson(res, 200, { ok: true });
  });
  const url = await listen(server);
  return {
    url,
    accepted,
    revoke: (scope) => auth.issued.forEach((tokenScope, token) => tokenScope === scope && revoked.add(token)),
    close: () => closeServer(server),
  };
}

// ---------------------------------------------------------------------------------------------
// The fleet.

type Worker = FleetProcess<FromWorker, ToWorker>;

const WORKER_SCRIPT = join(__dirname, 'fixtures', 'fleet-worker.ts');

let redis: RedisServer;
let auth: AuthServer;
let api: ApiServer;
let fleet: Worker[] = [];
let spawned = 0;

function spawnWorker(client: RedisClientKind): Promise<Worker> {
  return forkWorker<FromWorker, ToWorker>(WORKER_SCRIPT, {
    id: `w${++spawned}`,
    client,
    redisPath: redis.path!,
    env: {
      FLEET_TOKEN_URL: `${auth.url}/token`,
      FLEET_API_URL: api.url,
      FLEET_CLIENT_ID: CLIENT_ID,
      FLEET_CLIENT_SECRET: CLIENT_SECRET,
    },
  });
}

/** Sends `count` concurrent API requests from `worker` for a provider of `scope`. */
function burst(worker: Worker, scope: string, count = CONCURRENCY): Promise<BurstResult> {
  return worker.burst({ scope, count });
}

/** A burst from every process at once; resolves to the total of successes and every failure. */
function fleetBurst(scope: string, workers = fleet, count = CONCURRENCY): Promise<BurstResult> {
  return burstAll(workers, { scope, count });
}

function tokenEvents(scope: string) {
  return fleet.flatMap((w) =>
    w.messages.flatMap((m) =>
      m.type === 'token' && m.scope === scope ? [{ worker: w.id, source: m.source, at: m.at }] : [],
    ),
  );
}

/**
 * Store failures of `scope` (from message `since` of each worker on): those its providers reported, and every
 * store call that failed, reported or not (a provider reports one failure per outage: one still marked down
 * from an earlier outage reports none until a call has succeeded).
 */
function storeErrors(scope: string, since = new Map<Worker, number>()): string[] {
  return fleet.flatMap((w) =>
    w.messages.slice(since.get(w) ?? 0).flatMap((m) => {
      if (m.type === 'store-error' && m.scope === scope) return [`${w.id}: ${m.message}`];
      if (m.type === 'store-call-failed' && m.scope === scope) return [`${w.id}: ${m.method} failed: ${m.message}`];
      return [];
    }),
  );
}

/** Monotonic ms, comparable with the workers' `at` (same clock, one machine). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * What happened to `scope`'s lock and token requests (from message `since` of each worker on), in order:
 * shown when a scenario made more than one token request, so that a failure says why.
 */
function timeline(scope: string, requestsBefore: number, since = new Map<Worker, number>()): string[] {
  const start = auth.requests.filter((r) => r.scope === scope)[requestsBefore]?.at ?? 0;
  const events = [
    ...auth.requests
      .filter((r) => r.scope === scope)
      .slice(requestsBefore)
      .map((r) => ({ at: r.at, what: `${r.worker}: token request` })),
    ...fleet.flatMap((w) =>
      w.messages.slice(since.get(w) ?? 0).flatMap((m) => {
        if (m.type === 'lock' && m.scope === scope) return [{ at: m.at, what: `${w.id}: lock ${m.event}` }];
        if (m.type === 'stored' && m.scope === scope) return [{ at: m.at, what: `${w.id}: stored` }];
        if (m.type === 'store-call-failed' && m.scope === scope)
          return [{ at: m.at, what: `${w.id}: store ${m.method} failed: ${m.message}` }];
        if (m.type === 'token' && m.scope === scope && m.source === 'grant')
          return [{ at: m.at, what: `${w.id}: granted` }];
        return [];
      }),
    ),
  ];
  return events.sort((a, b) => a.at - b.at).map((e) => `${(e.at - start).toFixed(1)} ms ${e.what}`);
}

/**
 * What a scenario with Redis up must show: no failed request, exactly one token request, and no store failure
 * (counted from message `since` of each worker on); with more than one, the lock's timeline too.
 */
function outcome(scope: string, result: BurstResult, requestsBefore = 0, since?: Map<Worker, number>) {
  const tokenRequests = auth.requestsFor(scope) - requestsBefore;
  return {
    failures: result.failures,
    tokenRequests,
    storeErrors: storeErrors(scope, since),
    ...(tokenRequests === 1 ? {} : { timeline: timeline(scope, requestsBefore, since) }),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

beforeAll(async () => {
  redis = await startRedisServer();
  auth = await startAuthServer();
  api = await startApiServer(auth);
  fleet = await Promise.all(
    Array.from({ length: FLEET_SIZE }, (_, i) => spawnWorker(i % 2 === 0 ? 'ioredis' : 'node-redis')),
  );
});

afterAll(async () => {
  await stopFleet(fleet);
  await Promise.all([api?.close(), auth?.close(), redis?.close()]);
});

describe('a fleet of 8 processes sharing one Redis', () => {
  it('makes exactly 1 token request when 8 processes cold start with 100 concurrent requests each', async () => {
    const result = await fleetBurst('cold');
    expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
    expect(outcome('cold', result)).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
  });

  it('hands a token to every waiting process within 50 ms of it being stored', async () => {
    const delays: number[] = [];
    for (let round = 1; round <= 20; round++) {
      const scope = `latency-${round}`;
      const held = auth.holdNext(scope);
      const waiting = new Map(
        fleet.map((w) => [
          w.id,
          w.next((m): m is Extract<FromWorker, { type: 'lock-busy' }> => m.type === 'lock-busy' && m.scope === scope),
        ]),
      );
      const result = fleetBurst(scope, fleet, 1);
      const { worker: holder, release } = await held;
      // Every other process has found the lock taken and waits; only then does the token arrive.
      waiting.delete(holder);
      await Promise.all(waiting.values());
      // The holder learns that its token is stored when Redis answers its SET; the waiters may have it sooner,
      // from the message published with it, and finish their bursts before that answer.
      const holderStored = fleet
        .find((w) => w.id === holder)!
        .next((m): m is Extract<FromWorker, { type: 'stored' }> => m.type === 'stored' && m.scope === scope);
      release();
      expect(outcome(scope, await result)).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
      await holderStored;
      const stored = fleet.flatMap((w) =>
        w.messages.flatMap((m) => (m.type === 'stored' && m.scope === scope ? [m.at] : [])),
      );
      expect(stored).toHaveLength(1);
      for (const e of tokenEvents(scope)) if (e.source === 'store') delays.push(e.at - stored[0]!);
    }
    const [p50, p90, p99] = [percentile(delays, 0.5), percentile(delays, 0.9), percentile(delays, 0.99)];
    console.log(
      `fleet: a waiting process had the stored token after p50 ${p50.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms (${delays.length} waits)`,
    );
    expect(delays).toHaveLength(20 * (FLEET_SIZE - 1));
    // The tail is the OS scheduler's on a shared 2-CPU runner (p99 26-73 ms there, p50 8-10 ms);
    // 9 waits in 10 within 50 ms shows the hand-over is by polling, not by a lock expiring.
    expect(p90).toBeLessThan(50);
  });

  it('makes exactly 1 new grant across all 8 processes when the API revokes the token', async () => {
    expect(outcome('revoke', await fleetBurst('revoke'))).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
    api.revoke('revoke');
    const result = await fleetBurst('revoke');
    expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
    expect(outcome('revoke', result, 1)).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
  });

  it('still serves every other process, with at most one more token request, when the lock holder is killed mid-fetch', async () => {
    const held = auth.holdNext('kill');
    const bursts = new Map(fleet.map((w) => [w, burst(w, 'kill')]));
    const { worker: holderId } = await held; // the lock holder's token request is in flight, unanswered
    const holder = fleet.find((w) => w.id === holderId)!;
    // Its own burst ends with it (rejected: the process exited mid-burst).
    bursts.get(holder)!.catch(() => {});
    bursts.delete(holder);
    const gone = new Promise((resolve) => holder.proc.once('exit', resolve));
    const killedAt = monotonicMs();
    holder.proc.kill('SIGKILL');
    await gone;

    const results = await Promise.all(bursts.values());
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(results.reduce((n, r) => n + r.ok, 0)).toBe((FLEET_SIZE - 1) * CONCURRENCY);
    expect(auth.requestsFor('kill')).toBeLessThanOrEqual(2);
    // The takeover: the next token request for the scope, from another process, once the dead holder's lock expired.
    const takeover = auth.requests.filter((r) => r.scope === 'kill')[1];
    expect(takeover?.worker).not.toBe(holderId);
    const takeoverMs = takeover!.at - killedAt;
    console.log(`fleet: the next token request came ${takeoverMs.toFixed(0)} ms after the lock holder was killed`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_WITHIN_MS);

    const replacement = await spawnWorker(holder.client);
    fleet = [...fleet.filter((w) => w !== holder), replacement];
    // Bring the newcomer to where the others are: a cached token for 'cold', taken from the store.
    expect(await burst(replacement, 'cold', 1)).toEqual({ ok: 1, failures: [] });
    expect(auth.requestsFor('cold')).toBe(1);
  });

  describe('while Redis is down', () => {
    /** Where each worker's messages stood when Redis went down. */
    const atOutage = new Map<Worker, number>();

    it('fails no request when Redis stops while the fleet waits for the lock holder', async () => {
      const held = auth.holdNext('midrun');
      const result = fleetBurst('midrun');
      const { release } = await held;
      for (const w of fleet) atOutage.set(w, w.messages.length);
      await redis.stop();
      release();
      const { ok, failures } = await result;
      expect(failures).toEqual([]);
      expect(ok).toBe(FLEET_SIZE * CONCURRENCY);
    });

    it('serves requests from each process cache without a token request', async () => {
      const before = auth.requests.length;
      const result = await fleetBurst('cold');
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
      expect(auth.requests.length).toBe(before);
    });

    it('fails no request when the API revokes the token, each process fetching its own', async () => {
      api.revoke('cold');
      const before = auth.requestsFor('cold');
      const result = await fleetBurst('cold');
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
      expect(auth.requestsFor('cold') - before).toBeLessThanOrEqual(FLEET_SIZE);
    });

    it('fails no request on a cold start', async () => {
      const result = await fleetBurst('cold-while-down');
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
    });

    it('reports the store failure at most once per provider for the whole outage', () => {
      const count = (w: Worker, scope: string) =>
        w.messages.slice(atOutage.get(w)).filter((m) => m.type === 'store-error' && m.scope === scope).length;
      for (const scope of ['midrun', 'cold', 'cold-while-down']) {
        const counts = fleet.map((w) => count(w, scope));
        expect({ scope, moreThanOnce: counts.filter((n) => n > 1) }).toEqual({ scope, moreThanOnce: [] });
      }
      // A cold start has to ask the store, so every process's new provider noticed the outage.
      expect(fleet.map((w) => count(w, 'cold-while-down'))).toEqual(fleet.map(() => 1));
    });
  });

  describe('once Redis is back', () => {
    beforeAll(async () => {
      const reconnected = fleet.map((w) => w.next((m): m is { type: 'redis-ready' } => m.type === 'redis-ready'));
      await redis.start();
      await Promise.all(reconnected);
    });

    it('shares a cold start again: exactly 1 token request', async () => {
      const result = await fleetBurst('cold-after-restart');
      expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
      expect(outcome('cold-after-restart', result)).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
    });

    it('shares a revocation again: exactly 1 new grant across all 8 processes', async () => {
      // Every process holds its own token for 'cold', fetched while Redis was down.
      api.revoke('cold');
      const before = auth.requestsFor('cold');
      const since = new Map(fleet.map((w) => [w, w.messages.length]));
      const result = await fleetBurst('cold');
      expect(result.ok).toBe(FLEET_SIZE * CONCURRENCY);
      expect(outcome('cold', result, before, since)).toEqual({ failures: [], tokenRequests: 1, storeErrors: [] });
    });

    it('keeps neither an access token nor the client secret readable in Redis', async () => {
      const client = new Redis({ path: redis.path! });
      try {
        const keys = await client.keys('*');
        const values = await Promise.all(keys.map((k) => client.get(k)));
        expect(keys.length).toBeGreaterThan(0);
        const secrets = [
          CLIENT_SECRET,
          Buffer.from(CLIENT_SECRET).toString('base64'),
          Buffer.from(CLIENT_SECRET).toString('base64url'),
        ];
        for (const text of [...keys, ...values.map(String)]) {
          for (const token of auth.issued.keys()) expect(text).not.toContain(token);
          for (const secret of secrets) expect(text).not.toContain(secret);
          expect(text).not.toContain(CLIENT_ID);
        }
      } finally {
        client.disconnect();
      }
    });
  });
});

describe('a provider with redisStore in a busy process', () => {
  // Default timeouts (storeTimeoutMs 250, commandTimeoutMs 200). Redis answers in well under a
  // millisecond, but the process is busy for 300 ms right after asking: the answer is in the socket
  // when the loop comes back, yet timers run before I/O in a loop turn.
  it('takes the shared token instead of declaring Redis down and fetching its own', async () => {
    const client = new Redis({ path: redis.path! });
    client.on('error', () => {});
    const options = {
      tokenUrl: `${auth.url}/token`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scope: 'busy',
      store: redisStore(client),
    };
    try {
      const first = new ClientCredentialsProvider(options);
      await first.getToken();
      expect(auth.requestsFor('busy')).toBe(1);

      const second = new ClientCredentialsProvider(options);
      const storeErrors: string[] = [];
      second.on('error', ({ phase, error }) => phase === 'store' && storeErrors.push(error.message));
      const api2 = axios.create({ baseURL: api.url });
      attachAuth(api2, second);
      const pending = api2.get('/data');
      await commandOnTheWire();
      busyFor(300);
      await expect(pending).resolves.toMatchObject({ status: 200 });
      expect({ storeErrors, tokenRequests: auth.requestsFor('busy') }).toEqual({ storeErrors: [], tokenRequests: 1 });
    } finally {
      client.disconnect();
    }
  });
});
