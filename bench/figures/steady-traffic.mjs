// Figure 6 (issue 4): 10 s of steady traffic with 2 s tokens. Counted from the outside:
// - a request "waited" for a token when the token it finally reached the API with was issued
//   AFTER the request started: a token that did not exist yet cannot have been in the cache, so
//   the request was held until one arrived (at the start, or after a 401). Requests that started
//   before the very first token existed (the cold start) are left out;
// - 401s are counted by the API, which rejects expired tokens.
// Both stacks run in the same 10 s window, each against its own pair of servers.
import { now, within } from '../lib/clock.mjs';
import { withServers } from '../lib/servers.mjs';
import { createOurs, createPeer } from '../lib/stacks.mjs';

const DURATION_MS = 10_000;
const INTERVAL_MS = 10;
const LIFETIME_S = 2;
const TOKEN_DELAY_MS = 20;

function drive(stack) {
  const starts = new Map();
  const requests = [];
  const t0 = now();
  return new Promise((resolve) => {
    let i = 0;
    const timer = setInterval(() => {
      if (now() - t0 >= DURATION_MS) {
        clearInterval(timer);
        resolve({ starts, outcomes: within(Promise.all(requests), 20_000, 'steady traffic tail') });
        return;
      }
      const id = String(i++);
      starts.set(id, now());
      requests.push(stack.api.get('/accounts', { headers: { 'x-bench-id': id } }).then((r) => r.status, (e) => e?.response?.status ?? 'error'));
    }, INTERVAL_MS);
  });
}

async function measure(create) {
  return withServers({ delayMs: TOKEN_DELAY_MS, expiresInS: LIFETIME_S }, async ({ auth, api }) => {
    const stack = create({ tokenUrl: auth.tokenUrl, baseURL: api.url });
    api.tracing = true;
    const { starts, outcomes } = await drive(stack);
    const statuses = await outcomes;
    const final = new Map();
    for (const arrival of api.trace) final.set(arrival.id, arrival); // the last arrival of each request
    const firstToken = Math.min(...[...auth.issued.values()].map((t) => t.issuedAt));
    let waited = 0;
    let cold = 0;
    for (const [id, start] of starts) {
      const arrival = final.get(id);
      const issuedAt = arrival ? auth.issued.get(arrival.token)?.issuedAt : undefined;
      if (start < firstToken) cold++;
      else if (issuedAt === undefined || issuedAt > start) waited++;
    }
    return {
      requests: starts.size,
      ok: statuses.filter((s) => s === 200).length,
      waited,
      cold,
      unauthorized: api.unauthorized,
      tokenRequests: auth.requests,
    };
  });
}

export async function steadyTraffic() {
  const [ours, peer] = await Promise.all([measure(createOurs), measure(createPeer)]);
  const method = `One GET every ${INTERVAL_MS} ms for ${DURATION_MS / 1000} s, tokens living ${LIFETIME_S} s (token endpoint answers after ${TOKEN_DELAY_MS} ms), both stacks in the same window against their own servers. A request "waited" if the token it reached the API with was issued after the request started (so it could not have been cached), excluding the cold start; the API rejects expired tokens with 401 and counts them.`;
  const note = (r) => `${r.ok}/${r.requests} succeeded, ${r.tokenRequests} token requests, ${r.cold} cold-start waits`;
  return [
    {
      id: '6a',
      label: 'Steady 10 s, 2 s tokens: waited',
      name: `Steady traffic, ${LIFETIME_S} s tokens: requests that waited for a token after the first`,
      ours: ours.waited,
      peer: peer.waited,
      target: '0',
      pass: ours.waited === 0 && ours.ok === ours.requests,
      note: `ours ${note(ours)}; peer ${note(peer)}`,
      method,
    },
    {
      id: '6b',
      label: 'Steady 10 s, 2 s tokens: API 401s',
      name: `Steady traffic, ${LIFETIME_S} s tokens: 401s seen by the API`,
      ours: ours.unauthorized,
      peer: peer.unauthorized,
      target: '0',
      pass: ours.unauthorized === 0,
      method,
    },
  ];
}
