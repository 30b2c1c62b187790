// Figures 7 and 9 (issue 6): a fleet of 8 Node processes, each sending concurrent requests from
// cold, sharing one loopback authorization server, one API and (for the Redis rows) one
// redis-server. Figure 7 counts token requests per cold round of 8 × 100 requests. Figure 9 times
// how long a waiting process takes to hold the token another process fetched: from the fetching
// process's `token` event (source `grant`, emitted as the token arrives, before it is stored) to
// the waiting process's `token` event (source `store`), each process's clock offset to this one
// measured and removed. It is measured twice: with 1 request per process (the mechanism alone),
// and in the 8 × 100 rounds, where 2 cores serve 9 busy processes.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { now, within } from '../lib/clock.mjs';
import { percentile, round } from '../lib/stats.mjs';
import { withServers } from '../lib/servers.mjs';

export const PROCESSES = 8;
export const CONCURRENCY = 100;
const TOKEN_DELAY_MS = 100;
/** Kinds of round: which client each process builds, requests per process, how many rounds. */
const PLAN = [
  { name: 'redis-light', stack: 'ours-redis', concurrency: 1, rounds: 20 },
  { name: 'ours-redis', stack: 'ours-redis', concurrency: CONCURRENCY, rounds: 5 },
  { name: 'ours-memory', stack: 'ours-memory', concurrency: CONCURRENCY, rounds: 2 },
  { name: 'peer', stack: 'peer', concurrency: CONCURRENCY, rounds: 2 },
];
const WORKER = fileURLToPath(new URL('../fleet-worker.mjs', import.meta.url));

function startWorker(config) {
  const child = fork(WORKER, [JSON.stringify(config)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  child.on('message', (message) => waiters.shift()?.resolve(message));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`fleet worker ${child.pid} exited (${code ?? signal}) while the bench waited for: ${w.what}`));
  });
  return {
    child,
    exited,
    next: (what, ms = 40_000) => within(new Promise((resolve, reject) => waiters.push({ resolve, reject, what })), ms, `fleet worker ${child.pid}: ${what}`),
    send: (message) => child.send(message),
  };
}

/** This process's clock minus the worker's: the best of 5 round trips. */
async function clockOffset(worker) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const sent = now();
    const reply = worker.next('clock', 5_000);
    worker.send({ type: 'clock' });
    const { t } = await reply;
    const back = now();
    if (back - sent < best.rtt) best = { rtt: back - sent, offset: (sent + back) / 2 - t };
  }
  return best.offset;
}

/** Like Promise.all, but waits for every promise, so no later rejection is left unhandled. */
async function all(promises) {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => s.value);
}

async function runRound(workers, message) {
  const replies = workers.map((w) => w.next(`round ${message.round}`));
  for (const w of workers) w.send(message);
  return all(replies);
}

/**
 * @param {{ redisPath?: string, redisStoreMissing?: string }} options  without `redisPath` the
 *   Redis rows print as pending.
 */
export async function fleet({ redisPath }) {
  return withServers({ delayMs: TOKEN_DELAY_MS }, async ({ auth, api }) => {
    const workers = Array.from({ length: PROCESSES }, () => startWorker({ tokenUrl: auth.tokenUrl, apiUrl: api.url, redisPath }));
    try {
      await all(workers.map((w) => w.next('start', 30_000).then((m) => m.type === 'ready' || Promise.reject(new Error(`worker: ${JSON.stringify(m)}`)))));
      const offsets = [];
      for (const w of workers) offsets.push(await clockOffset(w));

      const results = {};
      for (const plan of PLAN) {
        if (plan.stack === 'ours-redis' && !redisPath) continue;
        const res = (results[plan.name] = { tokenRequests: [], ok: 0, sent: 0, waits: [], late: 0, failures: [], storeErrors: [] });
        for (let r = 1; r <= plan.rounds; r++) {
          const before = auth.requests;
          const message = { type: 'round', round: r, stack: plan.stack, prefix: `bench:${plan.name}:${r}:`, concurrency: plan.concurrency };
          const replies = await runRound(workers, message);
          res.tokenRequests.push(auth.requests - before);
          res.sent += PROCESSES * plan.concurrency;
          for (const reply of replies) {
            res.ok += reply.ok ?? 0;
            if (reply.crashed || reply.failed) res.failures.push(reply.crashed ?? reply.failure);
            for (const error of reply.errors ?? []) res.storeErrors.push(`round ${r}: ${error}`);
          }
          if (plan.stack !== 'ours-redis') continue;
          // Clocks moved onto this process's: the first grant, then every process that took the token from the store.
          const aligned = replies.map((reply, i) => ({ goAt: reply.goAt + offsets[i], token: reply.firstToken && { ...reply.firstToken, at: reply.firstToken.at + offsets[i] } }));
          const grants = aligned.filter((a) => a.token?.source === 'grant').map((a) => a.token.at);
          if (grants.length === 0) continue;
          const fetchedAt = Math.min(...grants);
          for (const a of aligned) {
            if (a.token?.source !== 'store') continue;
            if (a.goAt < fetchedAt) res.waits.push(a.token.at - fetchedAt);
            else res.late++; // started after the token was fetched: it never waited
          }
        }
      }
      return results;
    } finally {
      for (const w of workers) if (w.child.connected) w.send({ type: 'exit' });
      await within(Promise.all(workers.map((w) => w.exited)), 10_000, 'fleet workers exit').catch(() => {
        for (const w of workers) w.child.kill('SIGKILL');
      });
    }
  });
}

/** Table rows for figures 7 and 9 from {@link fleet}'s results; `pending` replaces every Redis figure when the store is missing. */
export function fleetRows(results, pending) {
  const first = (r) => r.tokenRequests[0];
  const rounds = (r) => `rounds: ${r.tokenRequests.join(', ')}`;
  const okText = (r) => `${r.ok}/${r.sent} succeeded${r.failures.length ? ` (first failure: ${r.failures[0]})` : ''}`;
  const method = `${PROCESSES} Node processes, each with its own client, ${CONCURRENCY} concurrent GETs each, started together on the parent's word; token endpoint answers after ${TOKEN_DELAY_MS} ms; every round is cold (new clients, new Redis key prefix). The figure is the first round; every round is listed when they differ, and provider \`error\` events (e.g. a store call over its time limit) are reported.`;
  const redis = results['ours-redis'];
  const light = results['redis-light'];
  const memory = results['ours-memory'];
  const peer = results.peer;
  const waitMethod = `From the fetching process's \`token\` event (source grant, as the token arrives, before it is written to Redis) to each waiting process's \`token\` event (source store); process clocks aligned to the bench's by the best of 5 IPC round trips each. Only processes that started before the token was fetched count. The store polls Redis every 10 ms (its default).`;
  const errorsText = (r) =>
    r.storeErrors.length ? `${r.storeErrors.length} provider error events, first: ${r.storeErrors[0]}` : 'no provider error events';
  const waitText = (r) => (r.waits.length ? `${round(percentile(r.waits, 50), 1)} / ${round(percentile(r.waits, 99), 1)} ms` : 'no samples');
  const waitNote = (r) => `${r.waits.length} samples over ${r.tokenRequests.length} rounds, max ${round(Math.max(...r.waits), 1)} ms; token requests per round: ${r.tokenRequests.join(', ')}; ${okText(r)}; ${errorsText(r)}`;
  /** A figure-9 row: p50/p99 wait of the processes that took another's token. */
  const waitRow = (id, label, what, r, rowMethod) => ({
    id,
    label,
    name: `Fleet: time for a waiting process to get the token another fetched, p50 / p99, ${what}`,
    ours: pending ?? round(percentile(r.waits, 99), 1),
    oursText: pending ?? waitText(r),
    peer: 'n/a (no sharing)',
    target: 'p99 ≤ 50 ms',
    pass: pending ? null : r.waits.length > 0 && percentile(r.waits, 99) <= 50,
    note: pending ? undefined : waitNote(r),
    method: rowMethod,
  });
  return [
    {
      id: '7a',
      label: 'Fleet 8×100 cold, Redis: token requests',
      name: `Fleet ${PROCESSES}×${CONCURRENCY} cold: token requests with the Redis store`,
      ours: pending ?? first(redis),
      oursText: pending ?? (redis.tokenRequests.every((n) => n === first(redis)) ? String(first(redis)) : `${first(redis)} (rounds: ${redis.tokenRequests.join(', ')})`),
      peer: 'n/a (no sharing)',
      target: '1',
      pass: pending ? null : redis.tokenRequests.every((n) => n === 1) && redis.ok === redis.sent,
      note: pending ? undefined : `ours ${rounds(redis)}; ${okText(redis)}; ${errorsText(redis)}`,
      method,
    },
    {
      id: '7b',
      label: 'Fleet 8×100 cold, no store: token req.',
      name: `Fleet ${PROCESSES}×${CONCURRENCY} cold: token requests without a shared store`,
      ours: first(memory),
      peer: first(peer),
      target: `${PROCESSES} (one per process)`,
      pass: memory.tokenRequests.every((n) => n === PROCESSES) && memory.ok === memory.sent,
      note: `ours ${rounds(memory)}, ${okText(memory)}; peer ${rounds(peer)}, ${okText(peer)}`,
      method,
    },
    waitRow('9a', 'Fleet wait for shared token p50/p99 (8×1)', `${PROCESSES} processes × 1 request`, light, waitMethod),
    waitRow('9b', 'Same, under 8×100 load', `in the ${PROCESSES}×${CONCURRENCY} rounds (2 cores, 9 busy processes)`, redis, `${waitMethod} Here every process also sends ${CONCURRENCY} API requests as soon as it has the token, so CPU contention is part of the figure.`),
  ];
}
