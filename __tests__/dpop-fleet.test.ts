// Issue 12, item 5: DPoP across a fleet. 8 real Node processes (fixtures/dpop-fleet-worker.ts), each with its
// own Redis client (4 ioredis, 4 node-redis) and its own providers, sharing one real redis-server, one real
// oidc-provider (DPoP with its nonce required at the token endpoint) and one resource server that verifies
// every proof with jose and demands its own nonce; both servers are child processes over https with a test CA.
// With `dpop: true` the generated key travels with the token in Redis, encrypted like it, so the fleet makes
// one token request and every process proves possession of the key the token is bound to (`cnf.jkt`). With a
// key pair of each process's own, the key's thumbprint is part of the cache key: the processes never share.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { DpopScenario, FromWorker, ToWorker } from './fixtures/dpop-fleet-worker.js';
import {
  burstAll,
  CONCURRENCY,
  FLEET_SIZE,
  forkWorker,
  stopFleet,
  type FleetProcess,
} from './helpers/fleet-process.js';
import { startOidcServer, type OidcServer, type OidcServerSnapshot } from './helpers/oidc-server.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import {
  startResourceServer,
  type ResourceRequestRecord,
  type ResourceServer,
  type ResourceServerCounters,
} from './helpers/resource-server.js';

jest.setTimeout(60_000);

const CLIENT_ID = 'dpop-fleet-client';
const CLIENT_SECRET = `dpop-fleet-secret-${randomBytes(16).toString('hex')}`;
const SCOPE = 'accounts';
/** A JWT (an access token or a DPoP proof), a private JWK member, a PEM. */
const LEAKS = [/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*/, /"d"\s*:/, /"kty"\s*:/, /-----BEGIN/];

type Worker = FleetProcess<FromWorker, ToWorker>;

const WORKER_SCRIPT = join(__dirname, 'fixtures', 'dpop-fleet-worker.ts');

let redis: RedisServer;
let oidc: OidcServer;
let api: ResourceServer;
let fleet: Worker[] = [];

function spawnWorker(index: number): Promise<Worker> {
  return forkWorker<FromWorker, ToWorker>(WORKER_SCRIPT, {
    id: `w${index + 1}`,
    client: index % 2 === 0 ? 'ioredis' : 'node-redis',
    redisPath: redis.path!,
    env: {
      DPOP_FLEET_ISSUER: oidc.issuer,
      DPOP_FLEET_CA: oidc.ca.cert,
      DPOP_FLEET_API_URL: api.url,
      DPOP_FLEET_CLIENT_ID: CLIENT_ID,
      DPOP_FLEET_CLIENT_SECRET: CLIENT_SECRET,
      DPOP_FLEET_SCOPE: SCOPE,
    },
  });
}

const delta = (after: ResourceServerCounters, before: ResourceServerCounters) =>
  Object.fromEntries(
    Object.entries(after).map(([name, value]) => [name, value - before[name as keyof ResourceServerCounters]]),
  ) as unknown as ResourceServerCounters;

/** What one fleet burst of `scenario` did at both servers and in every worker. */
async function runScenario(scenario: DpopScenario) {
  const [asBefore, rsBefore] = await Promise.all([oidc.snapshot(), api.counters()]);
  const started = performance.now();
  const { ok, failures } = await burstAll(fleet, { scenario, count: CONCURRENCY });
  const ms = performance.now() - started;
  const [asAfter, rsAfter, records] = await Promise.all([oidc.snapshot(), api.counters(), api.records()]);
  const as = asAfter.counters;
  const was = asBefore.counters;
  const events = fleet.flatMap((w) =>
    w.messages.flatMap((m) => ('scenario' in m && m.scenario === scenario ? [{ worker: w.id, ...m }] : [])),
  );
  return {
    ms,
    ok,
    failures,
    authorizationServer: {
      tokenRequests: as.tokenRequests - was.tokenRequests,
      tokensIssued: as.tokensIssued - was.tokensIssued,
      dpopTokensIssued: as.dpopTokensIssued - was.dpopTokensIssued,
      nonceChallenges: as.dpopNonceChallenges - was.dpopNonceChallenges,
      tokenErrors: as.tokenErrors - was.tokenErrors,
    },
    tokenRequests: asAfter.tokenRequests.slice(asBefore.tokenRequests.length),
    tokenErrorMessages: asAfter.tokenErrorMessages.slice(asBefore.tokenErrorMessages.length),
    resourceServer: delta(rsAfter, rsBefore),
    records: records.filter((r) => r.path.startsWith(`/${scenario}/`)),
    grants: events.filter((e) => e.type === 'token' && e.source === 'grant').map((e) => e.worker),
    fromStore: events.filter((e) => e.type === 'token' && e.source === 'store').map((e) => e.worker),
    errors: events.flatMap((e) => (e.type === 'error' ? [`${e.worker} ${e.phase}: ${e.message}`] : [])),
    ownKeys: new Map(events.flatMap((e) => (e.type === 'own-key' ? [[e.worker, e.jkt] as const] : []))),
  };
}

/** The worker that sent a request, from its path `/<scenario>/<worker>/<i>`. */
const workerOf = (record: ResourceRequestRecord): string => record.path.split('/')[2]!;

/** The `cnf.jkt` of every token issued 200 in `requests`, and the key of each one's proof (they must be the same). */
function issuedJkts(requests: OidcServerSnapshot['tokenRequests']) {
  return requests
    .filter((r) => r.status === 200)
    .map((r) => ({ token: r.accessTokenJkt, proof: r.dpop && 'jkt' in r.dpop ? r.dpop.jkt : undefined }));
}

/** How the resource server answered, by outcome. */
function outcomes(records: ResourceRequestRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

type ScenarioResult = Awaited<ReturnType<typeof runScenario>>;

function report(scenario: string, result: ScenarioResult): void {
  console.log(
    `dpop fleet (${scenario}): ${result.ok} calls in ${result.ms.toFixed(0)} ms; token endpoint: ${result.authorizationServer.tokensIssued} issued, ${result.authorizationServer.nonceChallenges} nonce challenge(s); resource server: ${result.resourceServer.proofsVerified} proofs verified, ${result.resourceServer.nonceChallenges} nonce challenge(s), ${result.resourceServer.replaysRejected} replays rejected`,
  );
}

/** Runs `scenario` and logs it as `label`: every call of every process succeeded, and no provider reported an error. */
async function runCleanly(scenario: DpopScenario, label: string): Promise<ScenarioResult> {
  const result = await runScenario(scenario);
  report(label, result);
  expect({ ok: result.ok, failures: result.failures, errors: result.errors }).toEqual({
    ok: FLEET_SIZE * CONCURRENCY,
    failures: [],
    errors: [],
  });
  return result;
}

/** The token endpoint issued `tokens` DPoP tokens, each after at most one nonce challenge (its nonce is required), and nothing else. */
function expectTokensIssued({ authorizationServer: as }: ScenarioResult, tokens: number): void {
  expect(as.nonceChallenges).toBeLessThanOrEqual(tokens);
  expect({ ...as, nonceChallenges: undefined }).toEqual({
    tokenRequests: tokens + as.nonceChallenges,
    tokensIssued: tokens,
    dpopTokensIssued: tokens,
    nonceChallenges: undefined,
    tokenErrors: as.nonceChallenges,
  });
}

/**
 * The resource server verified a proof for each of the 800 calls, each process's first request met its nonce
 * challenge once (it has no nonce yet, and its other 99 requests wait for that answer), and nothing else failed.
 */
function expectEveryProofVerified({ resourceServer: rs, records }: ScenarioResult): void {
  expect(rs.proofsVerified).toBe(FLEET_SIZE * CONCURRENCY);
  expect(rs.replaysRejected).toBe(0);
  expect(rs.nonceChallenges).toBe(FLEET_SIZE);
  expect(rs.dpopRequests).toBe(rs.proofsVerified + rs.nonceChallenges);
  expect(rs.distinctJtis).toBe(rs.dpopRequests);
  expect(outcomes(records)).toEqual({ ok: FLEET_SIZE * CONCURRENCY, use_dpop_nonce: rs.nonceChallenges });
}

beforeAll(async () => {
  [redis, oidc] = await Promise.all([
    startRedisServer(),
    startOidcServer({
      scopes: [SCOPE],
      dpop: { nonce: true },
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, dpop_bound_access_tokens: true }],
    }),
  ]);
  api = await startResourceServer({
    ca: oidc.ca,
    issuer: oidc.issuer,
    jwks: oidc.jwks,
    audience: oidc.audience,
    dpop: { requireNonce: true },
  });
  fleet = await Promise.all(Array.from({ length: FLEET_SIZE }, (_, i) => spawnWorker(i)));
}, 60_000);

afterAll(async () => {
  await stopFleet(fleet);
  await Promise.all([api?.close(), oidc?.close(), redis?.close()]);
});

describe('a DPoP fleet of 8 processes sharing one Redis', () => {
  /** The `cnf.jkt` of the one token the generated-key fleet shares. */
  let sharedJkt: string | undefined;

  it('dpop: true: 8 processes × 100 cold requests make 1 token request, and every proof is by the key the token is bound to', async () => {
    const result = await runCleanly('generated', 'dpop: true');

    // The token endpoint: one token, after at most one nonce challenge (its nonce is required); nothing else.
    expectTokensIssued(result, 1);
    expect(result.tokenErrorMessages.every((m) => m.startsWith('use_dpop_nonce'))).toBe(true);
    expect(result.grants).toHaveLength(1);
    expect(result.fromStore.sort()).toEqual(
      fleet
        .map((w) => w.id)
        .filter((id) => id !== result.grants[0])
        .sort(),
    );
    const [issued] = issuedJkts(result.tokenRequests);
    expect(issued?.token).toEqual(expect.any(String));
    expect(issued?.proof).toBe(issued?.token);
    const jkt = (sharedJkt = issued!.token!);

    // The resource server: 800 proofs verified, one nonce challenge per process, nothing else failed.
    expectEveryProofVerified(result);
    const { records } = result;
    expect(new Set(records.map((r) => r.dpop?.jti)).size).toBe(records.length);

    // Every proof, in every process, by the key of the one token: its cnf.jkt.
    const ok = records.filter((r) => r.outcome === 'ok');
    expect(new Set(ok.map((r) => r.tokenJti)).size).toBe(1);
    expect(new Set(ok.map((r) => r.tokenJkt))).toEqual(new Set([jkt]));
    expect(new Set(records.map((r) => r.dpop?.jkt))).toEqual(new Set([jkt]));
    expect(records.every((r) => r.scheme === 'DPoP' && r.dpop?.decoded && !('malformed' in r.dpop.decoded))).toBe(true);
    expect(records.some((r) => r.dpop?.decoded && 'jwkPrivate' in r.dpop.decoded && r.dpop.decoded.jwkPrivate)).toBe(
      false,
    );
    const perWorker = new Map(fleet.map((w) => [w.id, 0]));
    for (const r of ok) perWorker.set(workerOf(r), (perWorker.get(workerOf(r)) ?? 0) + 1);
    expect([...perWorker.values()]).toEqual(fleet.map(() => CONCURRENCY));
  });

  it('a key pair of its own in each process: the processes never share, 8 token requests, every call 200', async () => {
    const result = await runCleanly('own-key', 'own key pairs');

    // 8 keys, 8 cache keys: every process fetched its own token, none took another's (nor the shared one).
    const ownKeys = result.ownKeys;
    expect([...ownKeys.keys()].sort()).toEqual(fleet.map((w) => w.id).sort());
    expect(new Set(ownKeys.values()).size).toBe(FLEET_SIZE);
    expect([...ownKeys.values()]).not.toContain(sharedJkt);
    expect(result.grants.sort()).toEqual(fleet.map((w) => w.id).sort());
    expect(result.fromStore).toEqual([]);

    expectTokensIssued(result, FLEET_SIZE);
    const issued = issuedJkts(result.tokenRequests);
    expect(issued.every((i) => i.proof === i.token)).toBe(true);
    expect(new Set(issued.map((i) => i.token))).toEqual(new Set(ownKeys.values()));

    expectEveryProofVerified(result);
    const { records } = result;
    // Each process proves possession of its own key, with its own token bound to it.
    const ok = records.filter((r) => r.outcome === 'ok');
    expect(new Set(ok.map((r) => r.tokenJti)).size).toBe(FLEET_SIZE);
    const mismatches = records.filter(
      (r) => r.dpop?.jkt !== ownKeys.get(workerOf(r)) || (r.outcome === 'ok' && r.tokenJkt !== r.dpop?.jkt),
    );
    expect(mismatches).toEqual([]);
  });

  it('keeps one Redis entry per key, and neither a token nor a private key readable in it', async () => {
    const client = new Redis({ path: redis.path! });
    try {
      const keys = await client.keys('*');
      const tokenKeys = keys.filter((k) => k.endsWith(':token'));
      // The generated key's entry, and one per process's own key pair.
      expect(tokenKeys).toHaveLength(1 + FLEET_SIZE);
      const values = await Promise.all(tokenKeys.map((k) => client.get(k)));
      for (const text of [...keys, ...values.map(String)]) {
        for (const leak of LEAKS) expect(text).not.toMatch(leak);
        expect(text).not.toContain(CLIENT_SECRET);
        expect(text).not.toContain(CLIENT_ID);
      }
    } finally {
      client.disconnect();
    }
  });

  it('no worker wrote to stdout or stderr, and no message carried a key, a proof or a token', () => {
    expect(fleet.map((w) => ({ worker: w.id, stdout: w.stdout, stderr: w.stderr }))).toEqual(
      fleet.map((w) => ({ worker: w.id, stdout: '', stderr: '' })),
    );
    const messages = JSON.stringify(fleet.map((w) => w.messages));
    for (const leak of LEAKS) expect(messages).not.toMatch(leak);
    expect(messages).not.toContain(CLIENT_SECRET);
  });
});
