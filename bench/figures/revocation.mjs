// Figure 2 (issue 3): token requests and successes for 1000 concurrent 401s after a revocation.
import { within } from '../lib/clock.mjs';
import { withServers } from '../lib/servers.mjs';
import { createOurs, createPeer } from '../lib/stacks.mjs';

const BURST = 1000;

async function measure(create) {
  return withServers({}, async ({ auth, api }) => {
    const stack = create({ tokenUrl: auth.tokenUrl, baseURL: api.url });
    await stack.api.get('/accounts'); // warm: one token cached
    auth.revokeAll();
    const tokensBefore = auth.requests;
    const unauthorizedBefore = api.unauthorized;
    const results = await within(
      Promise.allSettled(Array.from({ length: BURST }, () => stack.api.get('/accounts'))),
      60_000,
      '401 burst',
    );
    return {
      tokenRequests: auth.requests - tokensBefore,
      ok: results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length,
      unauthorized: api.unauthorized - unauthorizedBefore,
    };
  });
}

export async function revocation() {
  const ours = await measure(createOurs);
  const peer = await measure(createPeer);
  const method = `Warm client (one token cached), then the API revokes every token and ${BURST} GETs start at once; each first gets 401. Counted: new token requests at the authorization server, and requests that resolved 200.`;
  return [
    {
      id: '2a',
      label: '401 burst ×1000: token requests',
      name: `Revocation: token requests for ${BURST} concurrent 401s`,
      ours: ours.tokenRequests,
      peer: peer.tokenRequests,
      target: '1',
      pass: ours.tokenRequests === 1,
      note: `401s seen by the API: ours ${ours.unauthorized}, peer ${peer.unauthorized}`,
      method,
    },
    {
      id: '2b',
      label: '401 burst ×1000: succeeded',
      name: `Revocation: requests that succeeded after the 401`,
      ours: `${ours.ok}/${BURST}`,
      peer: `${peer.ok}/${BURST}`,
      target: `${BURST}/${BURST}`,
      pass: ours.ok === BURST,
      method,
    },
  ];
}
