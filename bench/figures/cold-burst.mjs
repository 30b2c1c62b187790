// Figure 1 (issue 3): token requests for a cold burst of 1000 concurrent requests.
import { within } from '../lib/clock.mjs';
import { withServers } from '../lib/servers.mjs';
import { createOurs, createPeer } from '../lib/stacks.mjs';

const BURST = 1000;

async function measure(create) {
  return withServers({}, async ({ auth, api }) => {
    const stack = create({ tokenUrl: auth.tokenUrl, baseURL: api.url });
    const results = await within(
      Promise.allSettled(Array.from({ length: BURST }, () => stack.api.get('/accounts'))),
      30_000,
      'cold burst',
    );
    return { tokenRequests: auth.requests, ok: results.filter((r) => r.status === 'fulfilled').length };
  });
}

export async function coldBurst() {
  const ours = await measure(createOurs);
  const peer = await measure(createPeer);
  return [
    {
      id: '1',
      label: 'Cold burst ×1000: token requests',
      name: `Cold burst: token requests for ${BURST} concurrent requests`,
      ours: ours.tokenRequests,
      peer: peer.tokenRequests,
      target: '1',
      pass: ours.tokenRequests === 1 && ours.ok === BURST,
      note: `succeeded: ours ${ours.ok}/${BURST}, peer ${peer.ok}/${BURST}`,
      method: `A fresh client and fresh loopback servers per stack; ${BURST} GETs started at once with no token cached; the authorization server counts token requests (it answers after 20 ms).`,
    },
  ];
}
