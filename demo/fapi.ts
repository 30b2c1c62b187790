/**
 * `npm run demo -- --fapi`: the demo's Apiture-shaped client in FAPI 2.0 mode, on 127.0.0.1 and
 * offline. oidc-provider runs its FAPI 2.0 profile with DPoP nonces required; the client authenticates
 * with private_key_jwt (an EC key made at start) and asks for DPoP-bound tokens (`dpop: true`); the bank
 * API verifies the DPoP proof of every call with jose and demands a nonce of its own.
 *
 * Each step prints one line with what the servers counted (grants, nonce challenges at the token
 * endpoint and at the API, proofs verified) and checks it; a summary line ends the run. Exits 0 only
 * if every check held. `--verbose` also prints the provider's events. As in the default demo, reads ask for a
 * token with `banking/read` alone and transfers for one with `banking/write` alone (least privilege).
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { attachAuth, ClientCredentialsProvider } from 'axios-client-credentials';
import { createClient } from '../examples/apiture/client/client';
import { createTransfer, getAccount, getTransfer, listAccountBalances } from '../examples/apiture/client';
import { useStolen, wiretap } from './attacker.js';
import { startFapiServers, type FapiServers } from './fapi-servers.js';
import { Console, grantsText, jwtClaims, leastPrivilege, plural, tokenLabel } from './narration.js';

const BURST = 100;
/** What each SDK call passes through to axios: reads ask for a banking/read token, transfers for a banking/write one. */
const read = { clientCredentials: { scope: 'banking/read' } };
const write = { clientCredentials: { scope: 'banking/write' } };

/** What the servers counted (and the replays the provider reported), at one moment or over a step. */
interface Tally {
  api: number;
  tokenRequests: number;
  grants: number;
  asNonce: number;
  apiNonce: number;
  /** Proofs verified by the bank API (with the token and its binding). */
  verified: number;
  replays: number;
  /** Proofs a server refused for anything but a nonce challenge. */
  rejected: number;
}

interface StepResult {
  name: string;
  ok: boolean;
  tally: Tally;
}

/** Everything a step needs. */
interface Demo {
  out: Console;
  servers: FapiServers;
  tokens: ClientCredentialsProvider;
  api: AxiosInstance;
  client: ReturnType<typeof createClient>;
  agent: Agent;
  results: StepResult[];
  replays: number;
  callerErrors: number;
}

/** A tally of nothing. */
const snapshotZero = (): Tally => ({
  api: 0,
  tokenRequests: 0,
  grants: 0,
  asNonce: 0,
  apiNonce: 0,
  verified: 0,
  replays: 0,
  rejected: 0,
});

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

function snapshot(demo: Demo): Tally {
  const { auth, bank } = demo.servers;
  return {
    api: bank.counters.requests,
    tokenRequests: auth.counters.tokenRequests,
    grants: auth.counters.tokensIssued,
    asNonce: auth.counters.dpopNonceChallenges,
    apiNonce: bank.counters.nonceChallenges,
    verified: bank.counters.proofsVerified,
    replays: demo.replays,
    rejected: sum(bank.counters.proofsRejected) + auth.counters.tokenErrors - auth.counters.dpopNonceChallenges,
  };
}

function since(demo: Demo, before: Tally): Tally {
  const now = snapshot(demo);
  const keys = Object.keys(now) as (keyof Tally)[];
  return Object.fromEntries(keys.map((k) => [k, now[k] - before[k]])) as unknown as Tally;
}

function step(demo: Demo, name: string, ok: boolean, tally: Tally, text: string): void {
  demo.results.push({ name, ok, tally });
  demo.out.line(`${ok ? '✓' : '✗'} ${String(demo.results.length)}. ${name.padEnd(12)} ${text}`);
}

async function settle<T>(demo: Demo, calls: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  demo.callerErrors += failed.length;
  for (const f of failed.slice(0, 3)) demo.out.line(`      unexpected: ${String(f.reason)}`);
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

/** `cnf.jkt 1a2b3c…`: the thumbprint of the key a token is bound to, shortened. */
function keyLabel(accessToken: string): string {
  const cnf = jwtClaims(accessToken)['cnf'] as { jkt?: unknown } | undefined;
  return typeof cnf?.jkt === 'string' ? `cnf.jkt ${cnf.jkt.slice(0, 6)}…` : 'not bound';
}

/** `token endpoint: 2 proofs → 1 use_dpop_nonce, 1 grant`. */
const atTokenEndpoint = (t: Tally) =>
  `token endpoint: ${plural(t.tokenRequests, 'proof')} → ${t.asNonce} use_dpop_nonce, ${plural(t.grants, 'grant')}`;
/** `API: 1 use_dpop_nonce, 100 proofs verified`. */
const atApi = (t: Tally) =>
  `API: ${t.apiNonce} use_dpop_nonce, ${plural(t.verified, 'proof')} verified, ${plural(t.replays, 'replay')}`;

/** Steps 1 and 2: the first call discovers the token endpoint; a cold burst of 100 shares one grant. */
async function coldBurst(demo: Demo): Promise<string> {
  const { auth, bank } = demo.servers;
  const before = snapshot(demo);
  const answers = await settle(
    demo,
    Array.from({ length: BURST }, () => listAccountBalances({ client: demo.client, ...read })),
  );
  const t = since(demo, before);
  const token = await demo.tokens.getToken({ scope: 'banking/read' });
  demo.out.hide(token.accessToken);
  step(
    demo,
    'discovery',
    auth.counters.discoveryRequests === 1,
    snapshotZero(),
    `${auth.issuer}/.well-known/openid-configuration → token_endpoint ${auth.tokenEndpoint}: ` +
      `${plural(auth.counters.discoveryRequests, 'discovery request')}, fetched with the first call below`,
  );
  const ok =
    answers.length === BURST &&
    answers.every((r) => r.status === 200 && r.data.items.length === 3) &&
    token.tokenType === 'DPoP' &&
    auth.counters.clientAssertions === t.tokenRequests &&
    [t.tokenRequests, t.asNonce, t.grants, t.api, t.apiNonce, t.verified, t.replays, t.rejected].join() ===
      [2, 1, 1, BURST + 1, 1, BURST, 1, 0].join() &&
    bank.counters.boundKeys === 1;
  step(
    demo,
    'cold burst',
    ok,
    t,
    `${BURST} concurrent listAccountBalances → ${answers.filter((r) => r.status === 200).length} × 200; ` +
      `${atTokenEndpoint(t)} (private_key_jwt; ${token.tokenType} token ${tokenLabel(token.accessToken)}, ` +
      `${keyLabel(token.accessToken)}); ${atApi(t)}`,
  );
  return token.accessToken;
}

/**
 * Step 3: a transfer and its idempotent repeat, and a read: three proofs, each for its method and URL. The
 * transfers ask for a banking/write token (one grant, bound to the same key); the read uses the banking/read token.
 */
async function transfer(demo: Demo): Promise<void> {
  const before = snapshot(demo);
  const key = randomUUID();
  const body = {
    type: 'internal' as const,
    sourceAccount: { id: 'acc-0001' },
    targetAccount: { id: 'acc-0002' },
    amount: '125.00',
    memo: 'Demo: monthly savings',
  };
  const created = await createTransfer({ client: demo.client, ...write, body, headers: { 'Idempotency-Key': key } });
  const repeated = await createTransfer({ client: demo.client, ...write, body, headers: { 'Idempotency-Key': key } });
  const fetched = await getTransfer({ client: demo.client, ...read, path: { transferId: created.data.id } });
  const t = since(demo, before);
  const writeToken = demo.tokens.peekToken({ scope: 'banking/write' });
  if (writeToken) demo.out.hide(writeToken.accessToken);
  const ok =
    created.status === 201 &&
    repeated.status === 200 &&
    repeated.data.id === created.data.id &&
    fetched.data.id === created.data.id &&
    demo.servers.bank.counters.transfersCreated === 1 &&
    writeToken?.scope.join(' ') === 'banking/write' &&
    demo.servers.bank.counters.boundKeys === 1 &&
    t.grants === 1 &&
    t.tokenRequests === t.grants + t.asNonce &&
    [t.api, t.verified, t.apiNonce, t.rejected].join() === [3, 3, 0, 0].join();
  step(
    demo,
    'transfer',
    ok,
    t,
    `createTransfer ${body.amount} ${body.sourceAccount.id} → ${body.targetAccount.id}: ${created.status} ${created.data.id}; ` +
      `same Idempotency-Key again → ${repeated.status} ${repeated.data.id}; getTransfer → ${fetched.status}: ` +
      `${plural(t.verified, 'proof')} verified (POST, POST, GET), ${t.apiNonce} use_dpop_nonce; ` +
      `${plural(t.grants, 'grant')} for banking/write (${writeToken ? `${tokenLabel(writeToken.accessToken)}, ${keyLabel(writeToken.accessToken)}` : 'none'})`,
  );
}

/** Step 4: the API changes its nonce; the next call is challenged and replayed once, with no grant. */
async function newNonce(demo: Demo): Promise<void> {
  demo.servers.bank.rotateDpopNonce();
  const before = snapshot(demo);
  const [answer] = await settle(demo, [getAccount({ client: demo.client, ...read, path: { accountId: 'acc-0001' } })]);
  const t = since(demo, before);
  const ok =
    answer?.status === 200 &&
    [t.api, t.apiNonce, t.replays, t.verified, t.tokenRequests, t.rejected].join() === [2, 1, 1, 1, 0, 0].join();
  step(
    demo,
    'new nonce',
    ok,
    t,
    `API rotated its DPoP nonce; getAccount → 401 use_dpop_nonce, ${plural(t.replays, 'replay')} with the new nonce → ` +
      `${answer?.status ?? 'failed'}: same token, ${plural(t.tokenRequests, 'token request')}, ${plural(t.verified, 'proof')} verified`,
  );
}

/** Step 5: every token revoked at the API: 100 calls get 401, one new grant bound to the same key, 100 replays. */
async function revocation(demo: Demo, firstToken: string): Promise<void> {
  demo.servers.bank.revokeAllTokens();
  const before = snapshot(demo);
  const answers = await settle(
    demo,
    Array.from({ length: BURST }, (_, i) =>
      getAccount({ client: demo.client, ...read, path: { accountId: `acc-000${(i % 3) + 1}` } }),
    ),
  );
  const t = since(demo, before);
  const token = await demo.tokens.getToken({ scope: 'banking/read' });
  demo.out.hide(token.accessToken);
  const sameKey = keyLabel(token.accessToken) === keyLabel(firstToken);
  const ok =
    answers.length === BURST &&
    answers.every((r) => r.status === 200) &&
    token.accessToken !== firstToken &&
    sameKey &&
    t.grants === 1 &&
    t.tokenRequests === t.grants + t.asNonce &&
    [t.api, t.replays, t.verified, t.apiNonce, t.rejected].join() === [2 * BURST, BURST, BURST, 0, 0].join();
  step(
    demo,
    'revocation',
    ok,
    t,
    `API revoked every token; ${BURST} concurrent getAccount → ${BURST} × 401, ${atTokenEndpoint(t)} ` +
      `(${tokenLabel(token.accessToken)}, ${sameKey ? 'same key' : 'another key'}: ${keyLabel(token.accessToken)}), ` +
      `${plural(t.replays, 'replay')} → ${answers.filter((r) => r.status === 200).length} × 200, ` +
      `${plural(t.verified, 'proof')} verified`,
  );
}

/** Step 6: a token and proof captured on the wire are refused four ways; the client's own call still works. */
async function stolenToken(demo: Demo): Promise<void> {
  const tap = wiretap();
  const before = snapshot(demo);
  const own = await demo.api.get('/accounts/acc-0002', { ...read, adapter: tap.adapter });
  const captured = tap.captured();
  const attempts = captured ? await useStolen(captured, demo.agent) : [];
  const t = since(demo, before);
  const ok =
    own.status === 200 &&
    attempts.length === 4 &&
    attempts.every((a) => a.status === 401) &&
    [t.api, t.verified, t.rejected, t.tokenRequests].join() === [5, 1, 4, 0].join();
  step(
    demo,
    'stolen token',
    ok,
    t,
    `a call's DPoP token, proof and API key captured on the wire (the call itself → ${own.status}); the attacker tries them ` +
      `${attempts.map((a) => `${a.what} → ${a.status} (${a.refusal})`).join('; ')}: ` +
      `${plural(t.rejected, 'request')} refused, ${plural(t.tokenRequests, 'token request')}`,
  );
}

/** The provider's events: replays counted, and with `--verbose` every event printed. */
function listen(demo: Demo, verbose: boolean): void {
  const { tokens, out } = demo;
  tokens.on('replay', (e) => {
    demo.replays++;
    if (verbose) out.line(`      [replay] ${e.method} ${e.url} (was ${e.status})`);
  });
  if (!verbose) return;
  tokens.on('retry', (e) =>
    out.line(`      [retry] attempt ${e.attempt} in ${Math.round(e.delayMs)} ms (${e.reason})`),
  );
  tokens.on('token', (e) =>
    out.line(
      `      [token] scope ${e.scope.join(' ')}; lifetime ${Math.round((e.lifetimeMs ?? 0) / 1000)} s; ` +
        `${plural(e.attempts, 'token request')} in ${Math.round(e.durationMs)} ms`,
    ),
  );
  tokens.on('error', (e) => out.line(`      [error] ${e.phase}: ${e.error.name}: ${e.error.message}`));
}

function header(demo: Demo): void {
  const { auth, bank, credentials } = demo.servers;
  demo.out.line(
    'axios-client-credentials demo, FAPI 2.0: the generated Apiture SDK client with private_key_jwt and DPoP, all on 127.0.0.1',
  );
  demo.out.line(
    `  authorization server  ${auth.issuer}  (oidc-provider: FAPI 2.0 profile, DPoP-bound ES256 JWT access tokens, DPoP nonces required)`,
  );
  demo.out.line(
    `  bank API              ${bank.url}  (API-Key + DPoP token and proof verified with jose: typ, signature, htm, htu, iat, jti, ath, cnf.jkt; a nonce of its own)`,
  );
  demo.out.line(
    `  client                ${credentials.clientId}, private_key_jwt with an EC P-256 key made at start (kid ${credentials.kid.slice(0, 8)}…), ` +
      `dpop: true, scope ${credentials.scope.join(' ')} (reads ask for banking/read alone, transfers for banking/write alone)`,
  );
  demo.out.line();
}

/** What must hold over the whole run. */
function invariants(demo: Demo): (readonly [boolean, string])[] {
  const { auth, bank } = demo.servers;
  const a = auth.counters;
  const privilege = leastPrivilege(bank.counters.tokenScopes);
  return [
    [a.discoveryRequests === 1, 'discovery fetched once for the whole run'],
    [a.tokenRequestsWithApiKey === 0, 'API-Key never sent to the token endpoint'],
    [
      a.clientAssertions === a.tokenRequests,
      `every token request authenticated by private_key_jwt (no client secret exists)`,
    ],
    [
      a.dpopProofs === a.tokenRequests && a.dpopTokensIssued === a.tokensIssued,
      'every token request carried a DPoP proof; every grant a DPoP-bound token',
    ],
    [bank.counters.boundKeys === 1, 'every token the API verified was bound to the same key (one cnf.jkt)'],
    [privilege.holds, privilege.text],
    [bank.counters.missingApiKey === 0, 'API-Key on every API call'],
    [auth.serverErrors.length === 0, 'no authorization server errors'],
  ];
}

const COLUMNS = [
  'API requests',
  'token requests',
  'grants',
  'AS nonce',
  'API nonce',
  'verified',
  'replays',
  'rejected',
];

function table(demo: Demo): Tally {
  const values = (t: Tally) => [
    t.api,
    t.tokenRequests,
    t.grants,
    t.asNonce,
    t.apiNonce,
    t.verified,
    t.replays,
    t.rejected,
  ];
  const row = (label: string, cells: (string | number)[]) =>
    `  ${label.padEnd(14)}${cells.map((c, i) => String(c).padStart(COLUMNS[i]!.length + 3)).join('')}`;
  demo.out.line();
  demo.out.line(row('step', COLUMNS));
  for (const r of demo.results) demo.out.line(row(r.name, values(r.tally)));
  const total = demo.results.reduce((acc, r) => {
    const keys = Object.keys(acc) as (keyof Tally)[];
    return Object.fromEntries(keys.map((k) => [k, acc[k] + r.tally[k]])) as unknown as Tally;
  }, snapshotZero());
  demo.out.line(row('total', values(total)));
  demo.out.line(`  grants per scope set: ${grantsText(demo.servers.auth.counters.grantsByScope)}`);
  demo.out.line(
    `  (AS nonce, API nonce: use_dpop_nonce challenges at the token endpoint and at the API; verified: proofs the API ` +
      `verified with the token bound to their key; rejected: requests refused for their proof or scheme, all the attacker's.)`,
  );
  return total;
}

/** The summary: grants, nonce challenges, proofs verified (by either server), and the client's proofs rejected. */
function summary(demo: Demo, total: Tally): void {
  const stolen = demo.results.find((r) => r.name === 'stolen token')?.tally.rejected ?? 0;
  const atAs = demo.servers.auth.counters.dpopTokensIssued;
  const challenges = total.asNonce + total.apiNonce;
  demo.out.line();
  demo.out.line(
    `FAPI 2.0: ${plural(total.grants, 'grant')}, ${plural(challenges, 'nonce challenge')}, ` +
      `${plural(total.verified + atAs, 'proof')} verified, ${total.rejected - stolen} rejected`,
  );
  demo.out.line(
    `  (nonce challenges: ${total.asNonce} at the token endpoint, ${total.apiNonce} at the API; proofs verified: ${atAs} by ` +
      `oidc-provider at the token endpoint, ${total.verified} by the bank API; rejected: the client's own; ` +
      `the attacker's ${stolen} were all refused)`,
  );
  if (total.rejected !== stolen)
    demo.results.push({ name: 'a proof of the client rejected', ok: false, tally: snapshotZero() });
}

async function steps(demo: Demo): Promise<void> {
  const first = await coldBurst(demo);
  await transfer(demo);
  await newNonce(demo);
  await revocation(demo, first);
  await stolenToken(demo);
}

/** Runs the FAPI 2.0 narration; resolves the exit code: 0 only if every check held. */
export async function runFapiDemo({ verbose = false }: { verbose?: boolean } = {}): Promise<number> {
  const started = performance.now();
  const out = new Console();
  const servers = await startFapiServers();
  const { auth, bank, credentials } = servers;
  out.hide(credentials.apiKey);
  out.hide(String(credentials.privateKey.export({ format: 'jwk' }).d));
  const agent = new Agent({ keepAlive: true });
  const results: StepResult[] = [];
  try {
    // ── What a user writes ────────────────────────────────────────────────────────────────
    const tokens = new ClientCredentialsProvider({
      issuer: auth.issuer,
      clientId: credentials.clientId,
      privateKey: { key: credentials.privateKey, kid: credentials.kid }, // private_key_jwt, ES256
      dpop: true, // DPoP-bound tokens, an ES256 key pair made for this provider
      scope: credentials.scope,
    });
    const api = axios.create({ baseURL: bank.url, headers: { 'API-Key': credentials.apiKey }, httpAgent: agent });
    const handle = attachAuth(api, tokens);
    const client = createClient({ axios: api, baseURL: bank.url, throwOnError: true });
    // ──────────────────────────────────────────────────────────────────────────────────────
    const demo: Demo = { out, servers, tokens, api, client, agent, results, replays: 0, callerErrors: 0 };
    listen(demo, verbose);
    header(demo);
    await steps(demo);
    handle.detach();
    const checks = invariants(demo);
    const total = table(demo);
    for (const [holds, what] of checks) {
      out.line(`${holds ? '✓' : '✗'} ${what}`);
      if (!holds) results.push({ name: what, ok: false, tally: snapshotZero() });
    }
    if (demo.callerErrors > 0)
      results.push({ name: `${plural(demo.callerErrors, 'call')} failed`, ok: false, tally: total });
    summary(demo, total);
  } finally {
    agent.destroy();
    await servers.close();
  }
  return verdict(out, results, started);
}

function verdict(out: Console, results: StepResult[], started: number): number {
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  if (out.leaks > 0) failed.push(`${plural(out.leaks, 'line')} would have shown a secret or a token`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  out.line();
  if (failed.length === 0) {
    out.line(`Every step showed what it claims, in ${seconds} s. Servers closed.`);
    return 0;
  }
  out.line(`FAILED: ${failed.join('; ')} (${seconds} s)`);
  return 1;
}
