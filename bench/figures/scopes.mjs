// Figure 15 (issue 13): least privilege, a token per scope set.
// 15a: 1000 concurrent cold requests over 3 scope sets, each set spelled two ways (string or list, order, repeats),
// through one provider and one axios instance: token requests (one per set), and every request checked to have
// carried its own set's token. Peer: the stack users assemble today needs an instance per scope set (three
// axios-oauth-client + axios-token-interceptor + axios-auth-refresh stacks, each with its scope), same burst.
// 15b: CPU per request with the token cached and a per-request `clientCredentials.scope` (a fresh object literal
// per call, as users write it), ÷ bare axios, beside the same provider's requests without a scope (figure 3's
// ratio), in the same alternating rounds as figure 3 (its adapter that answers at once, process.cpuUsage()).
import axios from 'axios';
import { createAuthRefreshInterceptor } from 'axios-auth-refresh';
import { clientCredentials } from 'axios-oauth-client';
import tokenProvider from 'axios-token-interceptor';
import { within } from '../lib/clock.mjs';
import { CLIENT, withServers } from '../lib/servers.mjs';
import { createBare, createOurs, instantAdapter } from '../lib/stacks.mjs';
import { median, round } from '../lib/stats.mjs';
import { alternatingRounds, baseURL, modes, PER_ROUND, ROUNDS } from './cpu.mjs';

const BURST = 1000;
const DEFAULT_SCOPE = ['banking/read', 'banking/write'];
/** Three scope sets, each in two spellings that name the same set. */
const SETS = [
  { scope: 'banking/read', spellings: ['banking/read', ['banking/read']] },
  { scope: 'banking/write', spellings: ['banking/write', ['banking/write', 'banking/write']] },
  { scope: 'banking/read payments/read', spellings: [['payments/read', 'banking/read'], 'banking/read payments/read'] },
];
const WARM_UP = 10_000;
const LOOKUPS = 1_000_000;

/** The peer stack of figure 1 (stacks.mjs `createPeer`), with the scope its token is asked for. */
function createPeerFor(scope, { tokenUrl, baseURL: url }) {
  const getClientCredentials = clientCredentials(axios.create(), tokenUrl, CLIENT.id, CLIENT.secret, scope);
  const cache = tokenProvider.tokenCache(() => getClientCredentials(), {
    getMaxAge: (body) => body.expires_in * 1000,
  });
  const api = axios.create({ baseURL: url });
  api.interceptors.request.use(
    tokenProvider({ getToken: cache, headerFormatter: (body) => 'Bearer ' + body.access_token }),
  );
  createAuthRefreshInterceptor(api, (failedRequest) => {
    cache.reset();
    return cache().then((body) => {
      failedRequest.response.config.headers['Authorization'] = 'Bearer ' + body.access_token;
    });
  });
  return api;
}

/** 15a, ours: one provider, one instance; request i asks for set i % 3 in spelling ⌊i / 3⌋ % 2. */
async function oursBurst() {
  return withServers({}, async ({ auth, api }) => {
    const stack = createOurs({ tokenUrl: auth.tokenUrl, baseURL: api.url, scope: DEFAULT_SCOPE });
    const asked = [];
    stack.provider.on('token', (e) => asked.push(e.requestedScope.join(' ')));
    api.tracing = true;
    const results = await within(
      Promise.allSettled(
        Array.from({ length: BURST }, (_, i) =>
          stack.api.get('/accounts', {
            headers: { 'x-bench-id': String(i % SETS.length) },
            clientCredentials: { scope: SETS[i % SETS.length].spellings[Math.floor(i / SETS.length) % 2] },
          }),
        ),
      ),
      30_000,
      'mixed cold burst',
    );
    const tokens = SETS.map((set) => stack.provider.peekToken({ scope: set.scope })?.accessToken);
    const wrong = api.trace.filter((t) => t.token !== tokens[Number(t.id)]).length;
    return {
      tokenRequests: auth.requests,
      ok: results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length,
      asked: [...asked].sort(),
      distinct: new Set(tokens.filter(Boolean)).size,
      wrong,
    };
  });
}

/** 15a, peer: one stack per scope set, the same burst spread over them. */
async function peerBurst() {
  return withServers({}, async ({ auth, api }) => {
    const stacks = SETS.map((set) => createPeerFor(set.scope, { tokenUrl: auth.tokenUrl, baseURL: api.url }));
    const results = await within(
      Promise.allSettled(Array.from({ length: BURST }, (_, i) => stacks[i % SETS.length].get('/accounts'))),
      30_000,
      'peer mixed cold burst',
    );
    return {
      tokenRequests: auth.requests,
      ok: results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length,
    };
  });
}

async function burstRow() {
  const ours = await oursBurst();
  const peer = await peerBurst();
  const expected = SETS.map((s) => s.scope).sort();
  return {
    id: '15a',
    label: `Cold burst ×${BURST} over ${SETS.length} scope sets: token requests`,
    name: `Cold burst: token requests for ${BURST} concurrent requests over ${SETS.length} per-request scope sets (one provider, one axios instance)`,
    ours: ours.tokenRequests,
    peer: peer.tokenRequests,
    peerText: `${peer.tokenRequests} (${SETS.length} instances)`,
    target: String(SETS.length),
    pass:
      ours.tokenRequests === SETS.length &&
      ours.ok === BURST &&
      ours.wrong === 0 &&
      ours.distinct === SETS.length &&
      ours.asked.join() === expected.join(),
    note:
      `succeeded: ours ${ours.ok}/${BURST}, peer ${peer.ok}/${BURST}; ours asked for ${ours.asked.map((s) => `"${s}"`).join(', ')}, ` +
      `${ours.distinct} distinct tokens, ${ours.wrong} requests sent with another set's token; the peer stack has no per-request scope: one stack (axios instance, token cache) per scope set`,
    method: `Fresh loopback servers per stack (the authorization server answers after 20 ms and counts token requests); ours: one provider (scope ${DEFAULT_SCOPE.join(' ')}) attached to one axios instance, ${BURST} GETs started at once with no token cached, request i with clientCredentials.scope = set i mod 3 (${SETS.map((s) => s.scope).join(' | ')}), each set spelled two ways in alternation (${SETS.map((s) => s.spellings.map((x) => JSON.stringify(x)).join(' = ')).join('; ')}); each request's token, as the API received it, compared with its set's cached token afterwards. Peer: axios-oauth-client clientCredentials(…, scope) + axios-token-interceptor + axios-auth-refresh as in figure 1, one stack per set, request i on stack i mod 3.`,
  };
}

/**
 * 15b's stacks, each behind the same `get(path)` wrapper (the scoped one passes a fresh config per call), and a
 * provider holding a token for its own set and one for banking/read, for the lookup alone.
 */
async function cpuStacks(auth) {
  const bare = createBare({ baseURL, adapter: instantAdapter });
  const plain = createOurs({ tokenUrl: auth.tokenUrl, baseURL, adapter: instantAdapter, scope: DEFAULT_SCOPE });
  const scoped = createOurs({ tokenUrl: auth.tokenUrl, baseURL, adapter: instantAdapter, scope: DEFAULT_SCOPE });
  const stacks = {
    bare: { api: { get: (path) => bare.api.get(path) } },
    // Bare axios given the same per-request config object: what axios itself charges for it.
    bareConfig: { api: { get: (path) => bare.api.get(path, { clientCredentials: { scope: 'banking/read' } }) } },
    ours: { api: { get: (path) => plain.api.get(path) } },
    oursScope: { api: { get: (path) => scoped.api.get(path, { clientCredentials: { scope: 'banking/read' } }) } },
  };
  for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
  // The scoped request carries the banking/read token, not the default set's.
  let sent;
  await scoped.api.get('/accounts', {
    clientCredentials: { scope: 'banking/read' },
    adapter: (config) => ((sent = config.headers.get('Authorization')), instantAdapter(config)),
  });
  const read = scoped.provider.peekToken({ scope: 'banking/read' });
  if (read?.scope.join(' ') !== 'banking/read' || sent !== `Bearer ${read.accessToken}`)
    throw new Error('15b: the scoped request did not carry the banking/read token');
  if (scoped.provider.peekToken() !== undefined) throw new Error('15b: the scoped stack fetched a default-set token');
  // The lookup's provider holds both tokens, its own set's and banking/read's.
  await plain.provider.getToken({ scope: 'banking/read' });
  return { stacks, provider: plain.provider };
}

const paired = (perRound, a, b) => median(perRound[a].map((v, i) => v / perRound[b][i]));
const pairedDiff = (perRound, a, b) => median(perRound[a].map((v, i) => v - perRound[b][i]));
const spread = (perRound, a, b) => {
  const ratios = perRound[a].map((v, i) => v / perRound[b][i]);
  return `${round(Math.min(...ratios), 3)}–${round(Math.max(...ratios), 3)}`;
};
const signed = (v) => `${v >= 0 ? '+' : ''}${round(v, 2)}`;

/**
 * The provider's own part of a scoped request, without axios: ns per peekToken + refreshIfDue (what the
 * interceptor calls per request) with a fresh `{ scope }` selection, and with none; alternating, median of 5.
 */
function lookupNs(provider) {
  const withScope = () => {
    const selection = { scope: 'banking/read', resource: undefined };
    provider.peekToken(selection);
    provider.refreshIfDue(selection);
  };
  const without = () => {
    provider.peekToken(undefined);
    provider.refreshIfDue(undefined);
  };
  const time = (fn) => {
    const before = process.cpuUsage();
    for (let i = 0; i < LOOKUPS; i++) fn();
    const used = process.cpuUsage(before);
    return ((used.user + used.system) * 1000) / LOOKUPS;
  };
  time(withScope);
  time(without);
  const rounds = Array.from({ length: 5 }, () => ({ withScope: time(withScope), without: time(without) }));
  return { withScope: median(rounds.map((r) => r.withScope)), without: median(rounds.map((r) => r.without)) };
}

async function cpuRow() {
  return withServers({ delayMs: 0 }, async ({ auth }) => {
    const { stacks, provider } = await cpuStacks(auth);
    const tokensBefore = auth.requests;
    const { cpu } = await alternatingRounds(stacks, modes.sequential, { warmUp: WARM_UP, label: 'per-request scope' });
    if (auth.requests !== tokensBefore)
      throw new Error(`token requests during the CPU rounds: ${auth.requests - tokensBefore}`);
    const lookup = lookupNs(provider);
    const us = (name) => round(median(cpu[name]), 2);
    const scoped = paired(cpu, 'oursScope', 'bare');
    const without = paired(cpu, 'ours', 'bare');
    return {
      id: '15b',
      label: 'CPU/request cached, per-request scope, ÷ bare',
      name: 'CPU per request, token cached, sequential, with a per-request clientCredentials.scope, ratio to bare axios; the same provider without a scope beside it',
      ours: round(scoped, 3),
      peer: undefined,
      oursText: `${round(scoped, 3)} (${us('oursScope')} µs); without a scope ${round(without, 3)}`,
      peerText: '— (no per-request scope)',
      target: '≤ 1.03',
      pass: scoped <= 1.03,
      note:
        `µs/request (median round): bare ${us('bare')}, bare with the same per-request config ${us('bareConfig')}, ours without a scope ${us('ours')}, ours with a scope ${us('oursScope')}; ` +
        `ratios (median of same-round ratios, lowest–highest round): with a scope ÷ bare ${round(scoped, 3)} (${spread(cpu, 'oursScope', 'bare')}), ` +
        `without ÷ bare ${round(without, 3)} (${spread(cpu, 'ours', 'bare')}), with a scope ÷ bare given the same config ${round(paired(cpu, 'oursScope', 'bareConfig'), 3)} (${spread(cpu, 'oursScope', 'bareConfig')}), ` +
        `with ÷ without ${round(paired(cpu, 'oursScope', 'ours'), 3)}; added per request by the scope (same-round differences): ours ${signed(pairedDiff(cpu, 'oursScope', 'ours'))} µs, of which axios's own handling of the config ${signed(pairedDiff(cpu, 'bareConfig', 'bare'))} µs; ` +
        `the provider's lookup alone (peekToken + refreshIfDue, ${LOOKUPS} calls): ${round(lookup.withScope, 0)} ns with a fresh { scope } selection, ${round(lookup.without, 0)} ns without`,
      details: {
        usPerRequest: Object.fromEntries(Object.entries(cpu).map(([n, v]) => [n, v.map((x) => round(x, 2))])),
      },
      method: `Figure 3's method: adapter that answers at once (no network), token cached; ${WARM_UP} warm-up requests per stack, then ${ROUNDS} alternating rounds of ${PER_ROUND} sequential requests per stack (order rotated, gc before each); process.cpuUsage() user+system per request. Stacks, each called through the same get(path) wrapper: bare axios with a fixed Authorization header; the same bare instance given { clientCredentials: { scope: 'banking/read' } } per call; ours (provider scope ${DEFAULT_SCOPE.join(' ')}) without a per-request scope; another such provider with { clientCredentials: { scope: 'banking/read' } } as a fresh object literal per call (checked before timing to carry the banking/read token). Ratios = median over rounds of the same-round ratio.`,
    };
  });
}

/** 15b first: the CPU rounds run before the bursts' error-free but varied traffic reshapes axios's hot code. */
export async function scopes() {
  const cpu = await cpuRow();
  const burst = await burstRow();
  return [burst, cpu];
}
