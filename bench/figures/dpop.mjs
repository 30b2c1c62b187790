// Figure 14 (issue 12): what DPoP (RFC 9449) costs an API call, and how many nonce challenges a burst meets.
// 14a: CPU per request with the token cached and an adapter that answers at once (figure 3's method), the
// provider with `dpop: true` against the same provider without it (a bearer token): the proof, one ES256
// signature and the token's cached `ath`, should be the only new work. Measured in the same alternating rounds:
// openid-client's `fetchProtectedResource` with a DPoP handle (its own ES256 key from `randomDPoPKeyPair`) and
// without, over a `customFetch` that answers at once; and one bare ES256 signature with node:crypto (the floor).
// 14b: 1000 concurrent requests with a cached DPoP token to a node:http resource server in this process that
// demands a nonce (401 `DPoP error="use_dpop_nonce"` + `DPoP-Nonce` to a proof without the current one, the
// nonce on every answer) and checks each proof (typ, alg, ES256 signature by the header's jwk, htm, htu, ath,
// a unique jti): nonce challenges and token requests. 14c: the same burst again after the server rotated its
// nonce without announcing it (the client holds a stale one). The token endpoint is a tiny node:http server
// answering token_type DPoP to a request with a proof.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, createServer } from 'node:http';
import { close, listen } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';

export const ROUNDS = 7;
export const PER_ROUND = 2000;
const WARM_UP = 2000;
export const BURST = 1000;
const baseURL = 'https://api.bench.invalid';

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const ath = (token) => createHash('sha256').update(token).digest('base64url');
const version = (name) =>
  JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;

/** A token endpoint: token_type DPoP to a request that carries a `DPoP` proof, Bearer otherwise; counts requests. */
async function startTokenServer() {
  const stats = { requests: 0, withProof: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      stats.requests++;
      const dpop = typeof req.headers.dpop === 'string';
      if (dpop) stats.withProof++;
      const token = `t${stats.requests}.${randomBytes(24).toString('base64url')}`;
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ access_token: token, token_type: dpop ? 'DPoP' : 'Bearer', expires_in: 3600 }));
    });
  });
  const url = await listen(server);
  return { stats, tokenUrl: `${url}/token`, close: () => close(server) };
}

const publicKeys = new Map();

/**
 * Why a `DPoP` proof for `token` on a `method` request to `htu` is wrong, or `undefined` when it is right
 * (signature, typ, alg, htm, htu, ath, jti unique in `jtis`); the nonce is checked by the caller.
 */
function proofProblem(proof, { method, htu, token, jtis }) {
  const parts = typeof proof === 'string' ? proof.split('.') : [];
  if (parts.length !== 3) return 'no proof';
  const [h, p, s] = parts;
  const header = b64json(h);
  const claims = b64json(p);
  if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256' || header.jwk?.kty !== 'EC') return 'header';
  const jwkText = JSON.stringify(header.jwk);
  let key = publicKeys.get(jwkText);
  if (!key) publicKeys.set(jwkText, (key = createPublicKey({ key: header.jwk, format: 'jwk' })));
  const input = Buffer.from(`${h}.${p}`);
  if (!verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) return 'signature';
  if (claims.htm !== method || claims.htu !== htu || claims.ath !== ath(token)) return 'htm, htu or ath';
  if (typeof claims.jti !== 'string' || typeof claims.iat !== 'number' || jtis.has(claims.jti)) return 'jti or iat';
  jtis.add(claims.jti);
  return undefined;
}

/**
 * A resource server that demands the current DPoP nonce (RFC 9449 §9) and checks every proof; the nonce is sent
 * on every answer. `rotate()` changes it without announcing it. Counts requests, challenges and bad proofs.
 */
async function startNonceApi() {
  const stats = { requests: 0, challenges: 0, accepted: 0, bad: 0, notDpop: 0, problems: new Set() };
  const jtis = new Set();
  let nonce = randomBytes(16).toString('base64url');
  const server = createServer((req, res) => {
    stats.requests++;
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'DPoP') stats.notDpop++;
    const htu = `http://${req.headers.host}${req.url.split('?')[0]}`;
    const problem = proofProblem(req.headers.dpop, { method: req.method, htu, token, jtis });
    const proofNonce = problem ? undefined : b64json(req.headers.dpop.split('.')[1]).nonce;
    const answer = (status, extra = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', 'dpop-nonce': nonce, ...extra }).end('{}');
    if (problem || scheme !== 'DPoP') {
      stats.bad++;
      stats.problems.add(problem ?? `scheme ${scheme}`);
      return answer(401, { 'www-authenticate': 'DPoP error="invalid_dpop_proof", algs="ES256"' });
    }
    if (proofNonce !== nonce) {
      stats.challenges++;
      return answer(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"' });
    }
    stats.accepted++;
    answer(200);
  });
  const url = await listen(server);
  return {
    url,
    stats,
    rotate: () => (nonce = randomBytes(16).toString('base64url')),
    close: () => close(server),
  };
}

/** A `customFetch` for openid-client that answers at once, without any network (the instant adapter's twin). */
const instantFetch = () =>
  Promise.resolve(new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } }));

/** openid-client 6: a Configuration whose fetch is `fetchImpl`, and a DPoP handle with its own ES256 key. */
async function openidClient(fetchImpl) {
  const client = await import('openid-client');
  const { CLIENT } = await import('../lib/servers.mjs');
  const server = { issuer: 'https://auth.bench.invalid', token_endpoint: 'https://auth.bench.invalid/token' };
  const config = new client.Configuration(server, CLIENT.id, CLIENT.secret);
  config[client.customFetch] = fetchImpl;
  const handle = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  return { client, config, handle };
}

/** A stack of figure 3's shape (`api.get(path)`) over openid-client's fetchProtectedResource, DPoP or not. */
function openidStack({ client, config, handle }, token, base, dpop) {
  const get = (path) =>
    client.fetchProtectedResource(config, token, new URL(path, base), 'GET', undefined, undefined, {
      ...(dpop ? { DPoP: handle } : {}),
    });
  return { api: { get } };
}

/** One ES256 signature of a proof-sized input and a SHA-256 of a token: the least a proof can cost. */
function signatureFloor() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = Buffer.from(`${'h'.repeat(230)}.${'p'.repeat(200)}`);
  const token = `t1.${randomBytes(24).toString('base64url')}`;
  const get = async () => {
    ath(token);
    return sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  };
  return { api: { get } };
}

/** Checks a request's headers as the proof-checking server would, before anything is timed. */
function checkSent(who, headers, token, htu) {
  const get = (name) => (typeof headers.get === 'function' ? headers.get(name) : headers[name]);
  if (get('authorization') !== `DPoP ${token}` && get('Authorization') !== `DPoP ${token}`)
    throw new Error(`${who}: Authorization is not DPoP <token>`);
  const problem = proofProblem(get('dpop') ?? get('DPoP'), { method: 'GET', htu, token, jtis: new Set() });
  if (problem) throw new Error(`${who}: bad DPoP proof (${problem})`);
}

/** The five stacks of 14a, each checked once; token requests so far. */
async function cpuStacks(tokens) {
  const { createOurs, instantAdapter } = await import('../lib/stacks.mjs');
  const bearer = createOurs({ tokenUrl: tokens.tokenUrl, baseURL, adapter: instantAdapter });
  const dpop = createOurs({ tokenUrl: tokens.tokenUrl, baseURL, adapter: instantAdapter, dpop: true });
  const token = await dpop.provider.getToken();
  if (token.tokenType !== 'DPoP') throw new Error(`ours: token_type ${token.tokenType}, not DPoP`);
  let seen;
  await dpop.api.get('/accounts', { adapter: (config) => ((seen = config.headers), instantAdapter(config)) });
  checkSent('ours', seen, token.accessToken, `${baseURL}/accounts`);
  const peerToken = `peer.${randomBytes(24).toString('base64url')}`;
  const peer = await openidClient((url, init) => ((seen = init.headers), instantFetch()));
  await openidStack(peer, peerToken, baseURL, true).api.get('/accounts');
  checkSent('openid-client', seen, peerToken, `${baseURL}/accounts`);
  peer.config[peer.client.customFetch] = instantFetch;
  return {
    bearer,
    dpop,
    openidDpop: openidStack(peer, peerToken, baseURL, true),
    openidBearer: openidStack(peer, peerToken, baseURL, false),
    es256: signatureFloor(),
  };
}

const pairedRatio = (perRound, a, b) => median(perRound[a].map((v, i) => v / perRound[b][i]));
const pairedDiff = (perRound, a, b) => median(perRound[a].map((v, i) => v - perRound[b][i]));
const spread = (values) => `${round(Math.min(...values), 1)}–${round(Math.max(...values), 1)}`;

/** 14a: the rounds, and the row. */
async function cpuRow() {
  const { alternatingRounds, modes } = await import('./cpu.mjs');
  const tokens = await startTokenServer();
  try {
    const stacks = await cpuStacks(tokens);
    for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
    const tokensBefore = tokens.stats.requests;
    const { cpu } = await alternatingRounds(stacks, modes.sequential, {
      rounds: ROUNDS,
      perRound: PER_ROUND,
      warmUp: WARM_UP,
      label: 'DPoP CPU',
    });
    if (tokens.stats.requests !== tokensBefore) throw new Error('token requests during the DPoP CPU rounds');
    return cpuFigure(cpu);
  } finally {
    await tokens.close();
  }
}

function cpuFigure(cpu) {
  const us = (name) => median(cpu[name]);
  const ours = pairedRatio(cpu, 'dpop', 'bearer');
  const peer = pairedRatio(cpu, 'openidDpop', 'openidBearer');
  const oursToPeer = pairedRatio(cpu, 'dpop', 'openidDpop');
  const added = pairedDiff(cpu, 'dpop', 'bearer');
  return {
    id: '14a',
    label: 'DPoP CPU/request cached, ÷ bearer',
    name: 'CPU per request, token cached, provider with dpop: true (Authorization: DPoP and a fresh proof per send) ÷ the same provider with a bearer token; peer: openid-client fetchProtectedResource with a DPoP handle',
    ours: round(ours, 3),
    peer: round(us('openidDpop'), 1),
    oursText: `${round(ours, 3)} (${round(us('dpop'), 1)} µs vs ${round(us('bearer'), 1)} µs)`,
    peerText: `${round(us('openidDpop'), 1)} µs (openid-client; ${round(peer, 3)} ÷ its bearer)`,
    target: '≤ openid-client',
    pass: oursToPeer < 1,
    note:
      `µs/request, median (lowest–highest round): ours DPoP ${round(us('dpop'), 1)} (${spread(cpu.dpop)}), ours bearer ${round(us('bearer'), 1)} (${spread(cpu.bearer)}), ` +
      `openid-client DPoP ${round(us('openidDpop'), 1)} (${spread(cpu.openidDpop)}), openid-client bearer ${round(us('openidBearer'), 1)} (${spread(cpu.openidBearer)}); ` +
      `ours DPoP ÷ openid-client DPoP ${round(oursToPeer, 3)}; added by DPoP per request (median of same-round differences): ours ${round(added, 1)} µs, ` +
      `openid-client ${round(pairedDiff(cpu, 'openidDpop', 'openidBearer'), 1)} µs; one ES256 signature + SHA-256 with node:crypto alone ${round(us('es256'), 1)} µs, ` +
      `so ours adds ${round(added - us('es256'), 1)} µs beyond the signature`,
    details: { usPerRound: Object.fromEntries(Object.entries(cpu).map(([n, v]) => [n, v.map((x) => round(x, 2))])) },
    method: `Token cached; ours: attachAuth on an axios instance whose adapter answers at once (figure 3), provider with dpop: true (an ES256 key it made) and without (a bearer token from the same loopback token endpoint); openid-client ${version('openid-client')}: fetchProtectedResource(config, token, new URL(path), 'GET', undefined, undefined, { DPoP: getDPoPHandle(config, randomDPoPKeyPair('ES256')) }) and the same without DPoP, config[customFetch] answering at once with a new Response (it signs through WebCrypto, whose work runs on libuv's thread pool: process.cpuUsage() counts every thread); floor: crypto.sign('sha256', 431 bytes, ES256 P-256 KeyObject) plus a SHA-256 of a token. Every proof was checked once (signature, typ, htm, htu, ath) before timing. ${WARM_UP} warm-up requests per stack, then ${ROUNDS} alternating rounds of ${PER_ROUND} sequential requests per stack (order rotated, gc before each); process.cpuUsage() user+system µs per request, median round; ratios = median over rounds of the same-round ratio.`,
  };
}

/** Fires `n` concurrent GETs; resolves to the statuses, and the milliseconds the burst took. */
async function burst(get, n) {
  const start = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => get(`/accounts/${i}`)));
  const failed = settled.filter((s) => s.status === 'rejected' || s.value.status !== 200);
  return { failed: failed.length, firstError: failed[0]?.reason, ms: performance.now() - start };
}

/** Counters of a burst: what the API and the token endpoint saw during `fn`. */
async function counted(api, tokens, fn) {
  const before = { ...api.stats, tokens: tokens.stats.requests };
  const result = await fn();
  const delta = (name) => api.stats[name] - before[name];
  return {
    ...result,
    challenges: delta('challenges'),
    requests: delta('requests'),
    accepted: delta('accepted'),
    bad: delta('bad') + delta('notDpop'),
    tokenRequests: tokens.stats.requests - before.tokens,
  };
}

/** openid-client's fetchProtectedResource with DPoP over fetch, for the same bursts (a note, not the peer). */
async function openidBursts(api, tokens) {
  const peer = await openidClient(fetch);
  peer.client.allowInsecureRequests(peer.config); // loopback http
  const token = `peer.${randomBytes(24).toString('base64url')}`;
  const { get } = openidStack(peer, token, api.url, true).api;
  const cold = await counted(api, tokens, () => burst(get, BURST));
  api.rotate();
  const rotated = await counted(api, tokens, () => burst(get, BURST));
  return { cold, rotated };
}

/** 14b and 14c: two bursts of ours against the nonce-demanding server, then the same for openid-client. */
async function nonceRows() {
  const { createOurs } = await import('../lib/stacks.mjs');
  const tokens = await startTokenServer();
  const api = await startNonceApi();
  const agent = new Agent({ keepAlive: true, maxSockets: 100 });
  try {
    const ours = createOurs({ tokenUrl: tokens.tokenUrl, baseURL: api.url, dpop: true });
    ours.api.defaults.httpAgent = agent;
    const token = await ours.provider.getToken(); // cached before the burst; the API has not been called yet
    if (token.tokenType !== 'DPoP') throw new Error(`ours: token_type ${token.tokenType}, not DPoP`);
    const cold = await counted(api, tokens, () => burst((path) => ours.api.get(path), BURST));
    api.rotate();
    const rotated = await counted(api, tokens, () => burst((path) => ours.api.get(path), BURST));
    const peer = await openidBursts(api, tokens);
    if (api.stats.bad + api.stats.notDpop > 0)
      throw new Error(`bad proofs at the API: ${[...api.stats.problems].join(', ')}`);
    return [nonceRow('14b', cold, peer.cold, 'first'), nonceRow('14c', rotated, peer.rotated, 'rotated')];
  } finally {
    agent.destroy();
    await api.close();
    await tokens.close();
  }
}

function nonceRow(id, run, peer, kind) {
  if (run.failed) throw new Error(`${id}: ${run.failed} of ${BURST} requests failed: ${run.firstError?.message}`);
  const first = kind === 'first';
  // 14b: the first request to the origin goes alone and the others wait for its answer, so one challenge. 14c: every
  // proof of the burst is signed before any answer shows the new nonce, so each request may meet one challenge (the
  // least any client can do); what counts is one replay each, with the new nonce, and no grant.
  const pass = first
    ? run.challenges === 1 && run.tokenRequests === 0
    : run.challenges <= BURST && run.requests <= BURST + run.challenges && run.tokenRequests === 0;
  return {
    id,
    label: first
      ? `DPoP ${BURST} concurrent, RS demands a nonce: challenges, grants`
      : `DPoP ${BURST} concurrent after a silent nonce rotation: challenges, grants`,
    name: first
      ? `Nonce challenges and token requests for ${BURST} concurrent requests with a cached DPoP token, the resource server demanding a nonce the client has not seen yet`
      : `Nonce challenges and token requests for ${BURST} more concurrent requests after the resource server changed its nonce without announcing it (every proof of the burst carries the old one)`,
    ours: `${run.challenges} / ${run.tokenRequests}`,
    peer: 'no DPoP',
    oursText: `${run.challenges} challenge${run.challenges === 1 ? '' : 's'}, ${run.tokenRequests} token requests`,
    peerText: 'no DPoP',
    target: first ? '1 challenge, 0 token requests' : '≤ 1 challenge per request, 0 token requests',
    pass,
    note:
      `ours: ${run.requests} API requests (${run.accepted} accepted), ${run.challenges} nonce challenges, ${run.tokenRequests} token requests (the token was fetched once before 14b), ${round(run.ms, 0)} ms; ` +
      `openid-client fetchProtectedResource with DPoP (no token logic; its own nonce cache, one retry on use_dpop_nonce), the same burst: ${peer.requests} API requests, ${peer.challenges} nonce challenges, ${peer.failed} failed, ${round(peer.ms, 0)} ms`,
    method: `${BURST} concurrent GETs (Promise.all) through attachAuth over axios's http adapter (http.Agent keepAlive, maxSockets 100) to a node:http resource server in the bench process on 127.0.0.1 that demands the current DPoP nonce (401 WWW-Authenticate: DPoP error="use_dpop_nonce" with a DPoP-Nonce header to a proof without it, the nonce on every answer) and checks every proof (ES256 signature by the header's jwk, typ, htm, htu, ath, unique jti; none failed); provider with dpop: true, its token fetched with getToken() before 14b from a loopback token endpoint answering token_type DPoP; 14c runs right after 14b, once the server changed its nonce without announcing it. openid-client ${version('openid-client')} with fetch: the same bursts, after ours.`,
  };
}

export async function dpop() {
  return [await cpuRow(), ...(await nonceRows())];
}
