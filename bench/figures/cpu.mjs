// Figure 3 (issue 3): CPU cost per request with the token cached, against bare axios with a fixed
// Authorization header. An adapter that answers at once (no network) leaves only the client's own
// work; process.cpuUsage() measures it. Rounds alternate between the stacks (the order rotates
// each round), after a warm-up, and the median round is taken.
import { now, within } from '../lib/clock.mjs';
import { median, round } from '../lib/stats.mjs';
import { withServers } from '../lib/servers.mjs';
import { createBare, createOurs, createPeer, instantAdapter } from '../lib/stacks.mjs';

export const ROUNDS = 5;
export const PER_ROUND = 20_000;
const WARM_UP = 10_000;
export const baseURL = 'https://api.bench.invalid';
const WIDTH = 100;

export const modes = {
  sequential: async (api, n) => {
    for (let i = 0; i < n; i++) await api.get('/accounts');
  },
  concurrent: async (api, n) => {
    for (let i = 0; i < n; i += WIDTH) await Promise.all(Array.from({ length: WIDTH }, () => api.get('/accounts')));
  },
};

/** CPU µs and wall-clock µs per request of one round. */
export async function timedRound(run, api, n) {
  globalThis.gc?.();
  const before = process.cpuUsage();
  const start = now();
  await run(api, n);
  const wallMs = now() - start;
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / n, wall: (wallMs * 1000) / n };
}

/**
 * Warms every stack, then runs `rounds` alternating rounds of `perRound` requests per stack (the
 * order rotates each round). Returns, per stack, the µs per request of each round.
 */
export async function alternatingRounds(
  stacks,
  run,
  { rounds = ROUNDS, perRound = PER_ROUND, warmUp = WARM_UP, label = '' } = {},
) {
  const names = Object.keys(stacks);
  for (const name of names) await run(stacks[name].api, warmUp);
  const cpu = Object.fromEntries(names.map((name) => [name, []]));
  const wall = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
    for (const name of order) {
      const result = await within(timedRound(run, stacks[name].api, perRound), 60_000, `${label} ${name} round`);
      cpu[name].push(result.cpu);
      wall[name].push(result.wall);
    }
  }
  return { cpu, wall };
}

const signed = (v) => `${v >= 0 ? '+' : ''}${round(v, 1)}`;

/** Median over rounds of (stack / bare) within the same round: slow drift in machine load cancels out. */
export function pairedRatio(perRound, name, reference = 'bare') {
  return median(perRound[name].map((v, i) => v / perRound[reference][i]));
}

/** Clients with a cached token, all answering through the instant adapter. */
export async function cachedClients(auth) {
  const stacks = {
    bare: createBare({ baseURL, adapter: instantAdapter }),
    ours: createOurs({ tokenUrl: auth.tokenUrl, baseURL, adapter: instantAdapter }),
    peer: createPeer({ tokenUrl: auth.tokenUrl, baseURL, adapter: instantAdapter }),
  };
  for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
  return stacks;
}

export async function cpu() {
  return withServers({ delayMs: 0 }, async ({ auth }) => {
    const stacks = await cachedClients(auth);
    const tokensAfterWarm = auth.requests;
    const rows = [];
    for (const [mode, run] of Object.entries(modes)) {
      const names = Object.keys(stacks);
      const { cpu: perRequest } = await alternatingRounds(stacks, run, { label: mode });
      const us = Object.fromEntries(names.map((name) => [name, median(perRequest[name])]));
      const ratio = (name) => pairedRatio(perRequest, name);
      const spread = (name) => {
        const ratios = perRequest[name].map((v, i) => v / perRequest.bare[i]);
        return `${round(Math.min(...ratios), 3)}–${round(Math.max(...ratios), 3)}`;
      };
      const added = (name) => median(perRequest[name].map((v, i) => v - perRequest.bare[i]));
      rows.push({
        id: mode === 'sequential' ? '3a' : '3b',
        label:
          mode === 'sequential' ? 'CPU/request cached, sequential, ÷ bare' : 'CPU/request cached, concurrent, ÷ bare',
        name: `CPU per request, token cached, ${mode === 'sequential' ? 'sequential (awaited one by one)' : `concurrent (${WIDTH} at a time)`}, ratio to bare axios`,
        ours: round(ratio('ours'), 3),
        peer: round(ratio('peer'), 3),
        oursText: `${round(ratio('ours'), 3)} (${round(us.ours, 1)} µs)`,
        peerText: `${round(ratio('peer'), 3)} (${round(us.peer, 1)} µs)`,
        target: '≤ 1.05',
        pass: ratio('ours') <= 1.05,
        note: `bare axios ${round(us.bare, 1)} µs/request; added per request (median of same-round differences): ours ${signed(added('ours'))} µs, peer ${signed(added('peer'))} µs; per-round ratios: ours ${spread('ours')}, peer ${spread('peer')}`,
        details: { usPerRequest: Object.fromEntries(names.map((n) => [n, perRequest[n].map((v) => round(v, 2))])) },
        method: `Adapter answers at once (no network); ${WARM_UP} warm-up requests per stack, then ${ROUNDS} alternating rounds of ${PER_ROUND} requests per stack (order rotated, gc before each); process.cpuUsage() user+system per request; µs = median round; ratio = median over rounds of (stack / bare axios with a fixed Authorization header) in the same round.`,
      });
    }
    if (auth.requests !== tokensAfterWarm)
      throw new Error(`token requests during the CPU rounds: ${auth.requests - tokensAfterWarm}`);
    return rows;
  });
}
