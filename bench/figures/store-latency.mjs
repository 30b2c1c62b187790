// Figure 8 (issue 6): added latency per request with a locally cached token, Redis store against
// the default (no shared store, token kept in process memory), each as a ratio to bare axios with
// a fixed Authorization header. With a cached token nothing should leave the process, so the
// added latency is the time spent on the request path itself: measured with the adapter that
// answers at once, as CPU time per sequential request (on this shared 2-core machine, loopback
// HTTP and even wall-clock time varied by 2× between rounds as other processes took the cores,
// far above the effect being measured; wall-clock figures are kept in the note). Alternating
// rounds, median round. The Redis server's own command counter (INFO commandstats) shows whether
// any request touched Redis.
import { median, medianInterval, round } from '../lib/stats.mjs';
import { withServers } from '../lib/servers.mjs';
import { createBare, createOurs, createPeer, instantAdapter } from '../lib/stacks.mjs';
import { alternatingRounds, baseURL, modes, pairedRatio } from './cpu.mjs';

const ROUNDS = 10;
const PER_ROUND = 5_000;
const WARM_UP = 5_000;

/** Calls of every Redis command since the server started, except INFO itself. */
async function commandCalls(redis) {
  const text = await redis.info('commandstats');
  let calls = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (match[1] !== 'info') calls += Number(match[2]);
  return calls;
}

/** @param {{ redisPath?: string, redisStore?: Function }} options  without both, only the memory and peer figures. */
export async function storeLatency({ redisPath, redisStore }) {
  return withServers({ delayMs: 0 }, async ({ auth }) => {
    const { Redis } = await import('ioredis');
    const client = redisPath && redisStore ? new Redis({ path: redisPath }) : undefined;
    try {
      const options = { tokenUrl: auth.tokenUrl, baseURL, adapter: instantAdapter };
      const stacks = {
        bare: createBare({ baseURL, adapter: instantAdapter }),
        memory: createOurs(options),
        ...(client
          ? { redis: createOurs({ ...options, store: redisStore(client, { prefix: 'bench:latency:' }) }) }
          : {}),
        peer: createPeer(options),
      };
      for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
      // The first fetch hands its token to the caller before it finishes storing it and releasing
      // the lock; the counted window starts once Redis holds the token and no lock.
      if (client) {
        for (let i = 0; i < 200; i++) {
          const [tokens, locks] = await Promise.all([
            client.keys('bench:latency:*:token'),
            client.keys('bench:latency:*:lock'),
          ]);
          if (tokens.length > 0 && locks.length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      const callsBefore = client ? await commandCalls(client) : 0;
      const tokensBefore = auth.requests;
      const { wall, cpu } = await alternatingRounds(stacks, modes.sequential, {
        rounds: ROUNDS,
        perRound: PER_ROUND,
        warmUp: WARM_UP,
        label: 'latency',
      });
      const redisCalls = client ? (await commandCalls(client)) - callsBefore : undefined;
      if (auth.requests !== tokensBefore) throw new Error('token requests during the latency rounds');
      const names = Object.keys(stacks);
      const medians = (rounds) => Object.fromEntries(names.map((name) => [name, median(rounds[name])]));
      return { cpuMedian: medians(cpu), wallMedian: medians(wall), cpuRounds: cpu, redisCalls };
    } finally {
      await client?.quit().catch(() => client.disconnect());
    }
  });
}

/** Rows for figure 8; `pending` replaces the Redis figure when the store is missing. */
export function storeLatencyRows(result, pending) {
  const { cpuMedian: m, wallMedian: wall, cpuRounds, redisCalls } = result;
  const ratio = (name) => pairedRatio(cpuRounds, name);
  const text = (name) => `${round(ratio(name), 3)} (${round(m[name], 1)} µs)`;
  const method = `Adapter that answers at once; token cached in the process (lifetime 1 h); ${WARM_UP} warm-up requests per client, then ${ROUNDS} alternating rounds of ${PER_ROUND} sequential requests per client (order rotated, gc before each); time on the request path as process.cpuUsage() µs per request (wall-clock was dominated by other processes on this machine), median round; ratio = median over rounds of (client / bare axios with a fixed Authorization header, ${round(m.bare, 1)} µs) in the same round. Redis commands counted by the server (INFO commandstats) over the measured rounds. Pass: no Redis command, and the 95 % interval of the Redis/memory ratio reaches within ±5 % of 1 (a difference this run could not tell from noise, or a small one).`;
  const interval = pending ? [NaN, NaN] : medianInterval(cpuRounds.redis.map((v, i) => v / cpuRounds.memory[i]));
  const rounds = Object.fromEntries(Object.entries(cpuRounds).map(([k, v]) => [k, v.map((x) => round(x, 1))]));
  return [
    {
      id: '8a',
      label: 'Cached-token latency, memory, ÷ bare',
      name: 'Latency per request, token cached locally, default store (process memory), ratio to bare axios',
      ours: round(ratio('memory'), 3),
      peer: round(ratio('peer'), 3),
      oursText: text('memory'),
      peerText: `${text('peer')}, own cache`,
      target: 'reference for 8b',
      pass: null,
      note: `wall-clock µs/request (median round): bare ${round(wall.bare, 1)}, memory ${round(wall.memory, 1)}${wall.redis ? `, Redis ${round(wall.redis, 1)}` : ''}, peer ${round(wall.peer, 1)}`,
      details: { cpuUsPerRound: rounds },
      method,
    },
    {
      id: '8b',
      label: 'Cached-token latency, Redis, ÷ bare',
      name: 'Latency per request, token cached locally, Redis store, ratio to bare axios',
      ours: pending ?? round(ratio('redis'), 3),
      peer: 'n/a (no sharing)',
      oursText: pending ?? `${text('redis')}, ${redisCalls} Redis commands`,
      target: 'no difference to memory beyond ±5 %, 0 Redis commands',
      pass: pending ? null : redisCalls === 0 && interval[0] <= 1.05 && interval[1] >= 0.95,
      note: pending
        ? undefined
        : `Redis / memory = ${round(pairedRatio(cpuRounds, 'redis', 'memory'), 3)} (median of ${ROUNDS} same-round ratios, 95 % interval ${interval.map((v) => round(v, 3)).join('–')}); Redis commands during ${ROUNDS * PER_ROUND} requests: ${redisCalls}`,
      method,
    },
  ];
}
