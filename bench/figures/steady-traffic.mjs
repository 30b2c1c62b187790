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
      requests.push(
        stack.api.get('/accounts', { headers: { 'x-bench-id': id } }).then(
          (r) => r.status,
          (e) => e?.response?.status ?? 'error',
        ),
      );
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

/**
 * Grants per token lifetime for long tokens, on an injected clock: one GET every `STEP_S` virtual
 * seconds for `LIFETIMES` token lifetimes. Ours takes the clock as its `now` option; the peer stack's
 * token cache reads `Date.now`, which is pointed at the same virtual clock for the run. The rate is
 * measured between the first and the last grant, so the cold start and the cut at the end do not count.
 */
const LONG_LIFETIME_S = 3600;
const LIFETIMES = 3;
const STEP_S = 1;

async function longTokens(create) {
  return withServers({ delayMs: 0, expiresInS: LONG_LIFETIME_S }, async ({ auth, api }) => {
    const realNow = Date.now;
    let virtual = realNow();
    Date.now = () => virtual;
    try {
      const stack = create({ tokenUrl: auth.tokenUrl, baseURL: api.url, now: () => virtual });
      const grantTimes = [];
      const end = virtual + LONG_LIFETIME_S * 1000 * LIFETIMES;
      for (; virtual < end; virtual += STEP_S * 1000) {
        await stack.api.get('/accounts');
        await new Promise((resolve) => setImmediate(resolve)); // lets a background refresh that started reach the server
        while (grantTimes.length < auth.requests) grantTimes.push(virtual);
      }
      const span = grantTimes.at(-1) - grantTimes[0];
      return {
        grants: auth.requests,
        perLifetime: span > 0 ? ((grantTimes.length - 1) * LONG_LIFETIME_S * 1000) / span : NaN,
      };
    } finally {
      Date.now = realNow;
    }
  });
}

export async function steadyTraffic() {
  const [ours, peer] = await Promise.all([measure(createOurs), measure(createPeer)]);
  const [oursLong, peerLong] = [await longTokens(createOurs), await longTokens(createPeer)];
  const lifetimes = DURATION_MS / 1000 / LIFETIME_S;
  const perLifetime = (r) => Math.round((r.tokenRequests / lifetimes) * 100) / 100;
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
    {
      id: '6c',
      label: 'Steady 10 s, 2 s tokens: grants per lifetime',
      name: `Steady traffic, ${LIFETIME_S} s tokens: token requests per token lifetime`,
      ours: perLifetime(ours),
      peer: perLifetime(peer),
      target: 'reported (a 2 s token is stale after 1 s: the leeway is at most half the lifetime)',
      pass: true,
      note: `ours ${ours.tokenRequests}, peer ${peer.tokenRequests} token requests in ${lifetimes} lifetimes`,
      method,
    },
    {
      id: '6d',
      label: `${LONG_LIFETIME_S} s tokens, injected clock: grants per lifetime`,
      name: `Steady traffic, ${LONG_LIFETIME_S} s tokens for ${LIFETIMES} lifetimes on an injected clock: token requests per token lifetime`,
      ours: Math.round(oursLong.perLifetime * 10000) / 10000,
      peer: Math.round(peerLong.perLifetime * 10000) / 10000,
      target: '≤ 1.05',
      pass: oursLong.perLifetime <= 1.05,
      note: `ours ${oursLong.grants}, peer ${peerLong.grants} token requests; the peer uses each token up to its expiry (it meets expired tokens at the API), ours stops 30 s before`,
      method: `One GET every ${STEP_S} virtual second for ${LIFETIMES} lifetimes of ${LONG_LIFETIME_S} s tokens, on a virtual clock (ours: the now option; the peer: Date.now), token endpoint answering at once; grants per lifetime = lifetime ÷ the mean time between grants.`,
    },
  ];
}
