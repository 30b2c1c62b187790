// Figure 4 (issue 3): heap after a burst of 10 000 requests that all waited for a token, against
// before. Needs node --expose-gc (bench/run.mjs re-spawns itself with it).
import { setImmediate as tick } from 'node:timers/promises';
import { sleep, within } from '../lib/clock.mjs';
import { withServers } from '../lib/servers.mjs';
import { createOurs, createPeer, instantAdapter } from '../lib/stacks.mjs';
import { round } from '../lib/stats.mjs';

const BURST = 10_000;
const WARM_BURST = 1_000;
const TOKEN_DELAY_MS = 100;

async function settledHeap() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await tick();
  }
  return process.memoryUsage().heapUsed;
}

async function burst(api, n) {
  const results = await within(
    Promise.allSettled(Array.from({ length: n }, () => api.get('/accounts'))),
    60_000,
    'heap burst',
  );
  return results.filter((r) => r.status === 'fulfilled').length;
}

async function measure(create) {
  return withServers({ delayMs: TOKEN_DELAY_MS }, async ({ auth }) => {
    const stack = create({ tokenUrl: auth.tokenUrl, baseURL: 'https://api.bench.invalid', adapter: instantAdapter });
    // Warm-up: the same path once, so code and lazily created structures exist before "before".
    await burst(stack.api, WARM_BURST);
    stack.dropToken();
    const before = await settledHeap();
    const tokensBefore = auth.requests;
    const ok = await burst(stack.api, BURST);
    const tokenRequests = auth.requests - tokensBefore;
    await sleep(50);
    const after = await settledHeap();
    // Two more bursts show whether anything grows per burst (retention) or was a one-off.
    const later = [];
    for (let i = 0; i < 2; i++) {
      stack.dropToken();
      await burst(stack.api, BURST);
      later.push((await settledHeap()) - before);
    }
    return { deltaBytes: after - before, later, ok, tokenRequests };
  });
}

export async function heap() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const ours = await measure(createOurs);
  const peer = await measure(createPeer);
  const mb = (bytes) => round(bytes / 1024 / 1024, 3);
  return [
    {
      id: '4',
      label: 'Heap after 10k waiting, vs before',
      name: `Heap after ${BURST} requests that waited for a token, minus before (MB)`,
      ours: mb(ours.deltaBytes),
      peer: mb(peer.deltaBytes),
      oursText: `${mb(ours.deltaBytes) >= 0 ? '+' : ''}${mb(ours.deltaBytes)} MB`,
      peerText: `${mb(peer.deltaBytes) >= 0 ? '+' : ''}${mb(peer.deltaBytes)} MB`,
      target: '≤ +1 MB',
      pass: ours.deltaBytes <= 1024 * 1024 && ours.ok === BURST,
      note: `succeeded: ours ${ours.ok}/${BURST} with ${ours.tokenRequests} token request(s), peer ${peer.ok}/${BURST} with ${peer.tokenRequests}; after a 2nd and 3rd burst: ours ${ours.later.map(mb).join(', ')} MB, peer ${peer.later.map(mb).join(', ')} MB`,
      method: `Instant adapter for the API, loopback token server answering after ${TOKEN_DELAY_MS} ms. A ${WARM_BURST}-request warm-up burst, the cached token dropped, gc×3, heapUsed; then ${BURST} concurrent requests that all wait for the new token; settled, gc×3, heapUsed again (the figure). Two more such bursts follow, to tell growth from one-off allocations.`,
    },
  ];
}
