// Figure 5 (issue 4): 50 concurrent requests against a token endpoint that always answers 500:
// token requests sent, time until every request has rejected, and API requests sent.
import { now, within } from '../lib/clock.mjs';
import { withServers } from '../lib/servers.mjs';
import { createOurs, createPeer } from '../lib/stacks.mjs';
import { round } from '../lib/stats.mjs';

const BURST = 50;

async function measure(create) {
  return withServers({ delayMs: 0 }, async ({ auth, api }) => {
    auth.mode = 'fail';
    const stack = create({ tokenUrl: auth.tokenUrl, baseURL: api.url });
    const start = now();
    const settled = await within(
      Promise.all(
        Array.from({ length: BURST }, () =>
          stack.api.get('/accounts').then(
            () => ({ ok: true, at: now() }),
            (error) => ({ ok: false, at: now(), name: error?.name ?? String(error) }),
          ),
        ),
      ),
      30_000,
      'failing endpoint burst',
    );
    const rejected = settled.filter((s) => !s.ok);
    const names = {};
    for (const s of rejected) names[s.name] = (names[s.name] ?? 0) + 1;
    return {
      tokenRequests: auth.requests,
      rejected: rejected.length,
      lastRejectMs: Math.max(...settled.map((s) => s.at - start)),
      apiRequests: api.requests,
      errors: Object.entries(names)
        .map(([n, c]) => `${c}× ${n}`)
        .join(', '),
    };
  });
}

export async function failingEndpoint() {
  const ours = await measure(createOurs);
  const peer = await measure(createPeer);
  const method = `A token endpoint that answers 500 to every request (no delay); ${BURST} GETs started at once; default options of each stack (ours retries 3 times with jittered backoff). Counted at the servers; time from the burst's start until the last request rejected.`;
  return [
    {
      id: '5a',
      label: 'Token endpoint 500 ×50: token requests',
      name: `Failing token endpoint (always 500): token requests for ${BURST} concurrent requests`,
      ours: ours.tokenRequests,
      peer: peer.tokenRequests,
      target: '≤ 4',
      pass: ours.tokenRequests <= 4,
      note: `API requests sent: ours ${ours.apiRequests}, peer ${peer.apiRequests}; errors: ours ${ours.errors}; peer ${peer.errors}`,
      method,
    },
    {
      id: '5b',
      label: 'Token endpoint 500 ×50: time to reject',
      name: `Failing token endpoint: time until all ${BURST} rejected (ms)`,
      ours: round(ours.lastRejectMs, 0),
      peer: round(peer.lastRejectMs, 0),
      oursText: `${round(ours.lastRejectMs, 0)} ms (${ours.rejected}/${BURST} rejected)`,
      peerText: `${round(peer.lastRejectMs, 0)} ms (${peer.rejected}/${BURST} rejected)`,
      target: `≤ 10000 ms, ${BURST}/${BURST} rejected, 0 API requests`,
      pass:
        ours.lastRejectMs <= 10_000 &&
        ours.rejected === BURST &&
        ours.apiRequests === 0 &&
        /^\d+× TokenEndpointError$/.test(ours.errors),
      method,
    },
  ];
}
