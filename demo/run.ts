/**
 * `npm run demo` — the whole job, end to end, on 127.0.0.1 and offline:
 * a client generated from examples/apiture/openapi.yaml by @hey-api/openapi-ts, using an axios
 * instance with axios-client-credentials attached, against a real OAuth 2.0 authorization server
 * (oidc-provider) and a bank API that verifies JWTs and enforces scopes.
 *
 * Least privilege (issue 13): reads ask for a token with `banking/read` alone, transfers for one with
 * `banking/write` alone; the provider keeps one token per scope set, and the closing table shows the
 * grants the authorization server made for each.
 *
 * Each step prints one line with the counts that prove it; the counts come from the servers
 * (what they received) and from the provider's events, and each is checked. The process exits 0
 * only if every check held. `--verbose` also prints the provider's events as they happen.
 * `--fapi` runs the FAPI 2.0 narration instead (private_key_jwt and DPoP, demo/fapi.ts).
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider, PermissionError } from 'axios-client-credentials';
import { createClient } from '../examples/apiture/client/client';
import { createTransfer, getAccount, getTransfer, listAccountBalances, listAccounts } from '../examples/apiture/client';
import { Console, grantsText, leastPrivilege, plural, tokenLabel } from './narration.js';
import { startDemoServers } from './servers';

const verbose = process.argv.includes('--verbose');
const BURST = 100;

interface Tally {
  api: number;
  token: number;
  replays: number;
  errors: number;
  /** Tokens the authorization server issued, by the scope granted with each. */
  grants: Record<string, number>;
}

interface StepResult {
  name: string;
  ok: boolean;
  tally: Tally;
}

const none = (): Tally => ({ api: 0, token: 0, replays: 0, errors: 0, grants: {} });

/** `after` minus `before`, per scope set (a set absent before counts from 0). */
function grantsSince(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([scope, n]) => [scope, n - (before[scope] ?? 0)]));
}

/** `a` plus `b`, per scope set. */
function addGrants(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [scope, n] of Object.entries(b)) sum[scope] = (sum[scope] ?? 0) + n;
  return sum;
}

/** Whether `grants` holds exactly these grants by scope set (and no other). */
const grantedExactly = (grants: Record<string, number>, expected: Record<string, number>): boolean =>
  grantsText(grants) === grantsText(expected);

/** The closing table: one row per step and a total, with the grants per scope set in the last column. */
function closingTable(out: Console, results: readonly StepResult[]): void {
  const cols = ['API requests sent', 'token requests', 'replays', 'errors'] as const;
  const row = (label: string, t: Tally) =>
    `  ${label.padEnd(14)}${[t.api, t.token, t.replays, t.errors].map((n, i) => String(n).padStart(cols[i]!.length + 3)).join('')}` +
    `   ${grantsText(t.grants)}`.trimEnd();
  out.line(`  ${'step'.padEnd(14)}${cols.map((c) => c.padStart(c.length + 3)).join('')}   grants per scope set`);
  for (const r of results) out.line(row(r.name, r.tally));
  const total = results.reduce(
    (a, r) => ({
      api: a.api + r.tally.api,
      token: a.token + r.tally.token,
      replays: a.replays + r.tally.replays,
      errors: a.errors + r.tally.errors,
      grants: addGrants(a.grants, r.tally.grants),
    }),
    none(),
  );
  out.line(row('total', total));
}

async function main(): Promise<number> {
  const started = performance.now();
  const out = new Console();
  const servers = await startDemoServers();
  const { auth, bank, credentials } = servers;
  out.hide(credentials.clientSecret);
  out.hide(credentials.apiKey);
  out.hide(Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64'));

  const agent = new Agent({ keepAlive: true });
  const results: StepResult[] = [];
  let replays = 0;
  let retries = 0;
  let denied = 0;
  let callerErrors = 0;

  try {
    // ── What a user writes ────────────────────────────────────────────────────────────────
    const tokens = new ClientCredentialsProvider({
      issuer: auth.issuer, // in production: apitureIssuers.production
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      scope: credentials.scope, // banking/read banking/write: the default set, for calls that name none
    });
    const api = axios.create({ baseURL: bank.url, headers: { 'API-Key': credentials.apiKey }, httpAgent: agent });
    const handle = attachAuth(api, tokens);
    const client = createClient({ axios: api, baseURL: bank.url, throwOnError: true });
    // Least privilege: each SDK call passes axios config through, so reads ask for a token with
    // banking/read alone and transfers for one with banking/write alone (a token each, cached apart).
    const read = { clientCredentials: { scope: 'banking/read' } };
    const write = { clientCredentials: { scope: 'banking/write' } };
    // ──────────────────────────────────────────────────────────────────────────────────────

    tokens.on('replay', (e) => {
      replays++;
      if (verbose) out.line(`      [replay] ${e.method.toUpperCase()} ${e.url} (was ${e.status})`);
    });
    tokens.on('retry', (e) => {
      retries++;
      if (verbose) out.line(`      [retry] attempt ${e.attempt} in ${Math.round(e.delayMs)} ms (${e.reason})`);
    });
    tokens.on('denied', (e) => {
      denied++;
      if (verbose) out.line(`      [denied] ${e.method.toUpperCase()} ${e.url} needs ${e.requiredScope.join(' ')}`);
    });
    if (verbose) {
      tokens.on('token', (e) =>
        out.line(
          `      [token] scope ${e.scope.join(' ')}; lifetime ${Math.round((e.lifetimeMs ?? 0) / 1000)} s; ` +
            `${plural(e.attempts, 'token request')} in ${Math.round(e.durationMs)} ms` +
            (e.missingScope.length ? `; not granted: ${e.missingScope.join(' ')}` : ''),
        ),
      );
      tokens.on('error', (e) => out.line(`      [error] ${e.phase}: ${e.error.name}: ${e.error.message}`));
    }

    out.line(
      'axios-client-credentials demo: a generated Apiture SDK client against a real OAuth 2.0 server, all on 127.0.0.1',
    );
    out.line(
      `  authorization server  ${auth.issuer}  (oidc-provider: client credentials grant, ES256 JWT access tokens)`,
    );
    out.line(`  bank API              ${bank.url}  (API-Key + Bearer JWT verified against the JWKS, scopes enforced)`);
    out.line(`  client                ${credentials.clientId}, secret ********, scope ${credentials.scope.join(' ')}`);
    out.line('  least privilege       reads ask for a banking/read token, transfers for a banking/write token');
    out.line();

    const snapshot = (): Tally => ({
      api: bank.counters.requests,
      token: auth.counters.tokenRequests,
      replays,
      errors: callerErrors,
      grants: { ...auth.counters.grantsByScope },
    });
    const since = (before: Tally): Tally => {
      const now = snapshot();
      return {
        api: now.api - before.api,
        token: now.token - before.token,
        replays: now.replays - before.replays,
        errors: now.errors - before.errors,
        grants: grantsSince(now.grants, before.grants),
      };
    };
    const step = (name: string, ok: boolean, tally: Tally, text: string) => {
      results.push({ name, ok, tally });
      out.line(`${ok ? '✓' : '✗'} ${String(results.length)}. ${name.padEnd(12)} ${text}`);
    };
    const settle = async <T>(calls: Promise<T>[]) => {
      const settled = await Promise.allSettled(calls);
      const failed = settled.filter((s) => s.status === 'rejected');
      callerErrors += failed.length;
      for (const f of failed.slice(0, 3)) out.line(`      unexpected: ${String((f as PromiseRejectedResult).reason)}`);
      return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    };

    // 1 + 2. The cold burst: the first call discovers the token endpoint; all 100 share one banking/read token.
    let before = snapshot();
    const burst = await settle(Array.from({ length: BURST }, () => listAccountBalances({ client, ...read })));
    const burstTally = since(before);
    const first = await tokens.getToken({ scope: 'banking/read' });
    out.hide(first.accessToken);
    const discovered = auth.counters.discoveryRequests === 1 && auth.counters.tokensIssued === 1;
    step(
      'discovery',
      discovered,
      none(),
      `${auth.issuer}/.well-known/openid-configuration → token_endpoint ${auth.tokenEndpoint}: ` +
        `${plural(auth.counters.discoveryRequests, 'discovery request')}, fetched with the first call below`,
    );
    const balancesOk = burst.length === BURST && burst.every((r) => r.status === 200 && r.data.items.length === 3);
    step(
      'cold burst',
      balancesOk &&
        burstTally.token === 1 &&
        burstTally.api === BURST &&
        burstTally.replays === 0 &&
        first.scope.join(' ') === 'banking/read' &&
        grantedExactly(burstTally.grants, { 'banking/read': 1 }),
      burstTally,
      `${BURST} concurrent listAccountBalances → ${burst.filter((r) => r.status === 200).length} × 200 with ` +
        `${plural(burstTally.token, 'token request')} (${tokenLabel(first.accessToken)}, scope ${first.scope.join(' ')}, ` +
        `expires in ${Math.round(((first.expiresAt ?? 0) - Date.now()) / 1000)} s)`,
    );

    // 3. A transfer with its body, sent twice with one Idempotency-Key: one transfer. The transfers ask for a
    // banking/write token (one grant); the getTransfer that follows reads with the banking/read token.
    before = snapshot();
    const idempotencyKey = randomUUID();
    const newTransfer = {
      type: 'internal' as const,
      sourceAccount: { id: 'acc-0001' },
      targetAccount: { id: 'acc-0002' },
      amount: '125.00',
      memo: 'Demo: monthly savings',
    };
    const created = await createTransfer({
      client,
      ...write,
      body: newTransfer,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
    const repeated = await createTransfer({
      client,
      ...write,
      body: newTransfer,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
    const fetched = await getTransfer({ client, ...read, path: { transferId: created.data.id } });
    const transferTally = since(before);
    const writeToken = tokens.peekToken({ scope: 'banking/write' });
    if (writeToken) out.hide(writeToken.accessToken);
    const transferOk =
      created.status === 201 &&
      created.data.amount === newTransfer.amount &&
      created.data.memo === newTransfer.memo &&
      created.data.targetAccount.id === newTransfer.targetAccount.id &&
      repeated.status === 200 &&
      repeated.data.id === created.data.id &&
      fetched.data.id === created.data.id &&
      bank.counters.transfersCreated === 1 &&
      transferTally.token === 1 &&
      grantedExactly(transferTally.grants, { 'banking/write': 1 }) &&
      writeToken?.scope.join(' ') === 'banking/write' &&
      transferTally.api === 3;
    step(
      'transfer',
      transferOk,
      transferTally,
      `createTransfer ${newTransfer.amount} ${newTransfer.sourceAccount.id} → ${newTransfer.targetAccount.id} "${newTransfer.memo}": ` +
        `${created.status} ${created.data.id} ${created.data.state}; same Idempotency-Key again → ${repeated.status} ${repeated.data.id}; ` +
        `${plural(bank.counters.transfersCreated, 'transfer')} stored, ${plural(transferTally.token, 'token request')} ` +
        `(banking/write: ${writeToken ? tokenLabel(writeToken.accessToken) : 'none'}); getTransfer with the banking/read token`,
    );

    // 4. Every token revoked at the API: 100 concurrent reads get 401, one new banking/read grant, 100 replays.
    // The banking/write token is revoked too, but no request has used it since: it is left alone until one does.
    bank.revokeAllTokens();
    before = snapshot();
    const unauthorizedBefore = bank.counters.byStatus[401] ?? 0;
    const accounts = await settle(
      Array.from({ length: BURST }, (_, i) =>
        getAccount({ client, ...read, path: { accountId: `acc-000${(i % 3) + 1}` } }),
      ),
    );
    const revokeTally = since(before);
    const unauthorized = (bank.counters.byStatus[401] ?? 0) - unauthorizedBefore;
    const second = await tokens.getToken({ scope: 'banking/read' });
    out.hide(second.accessToken);
    const revokeOk =
      accounts.length === BURST &&
      accounts.every((r) => r.status === 200) &&
      unauthorized === BURST &&
      revokeTally.token === 1 &&
      revokeTally.replays === BURST &&
      revokeTally.api === 2 * BURST &&
      grantedExactly(revokeTally.grants, { 'banking/read': 1 }) &&
      tokens.peekToken({ scope: 'banking/write' })?.accessToken === writeToken?.accessToken &&
      second.accessToken !== first.accessToken;
    step(
      'revocation',
      revokeOk,
      revokeTally,
      `API revoked every token; ${BURST} concurrent getAccount → ${unauthorized} × 401, ${plural(revokeTally.token, 'new token request')} ` +
        `(banking/read: ${tokenLabel(second.accessToken)}), ${plural(revokeTally.replays, 'replay')} → ${accounts.filter((r) => r.status === 200).length} × 200; ` +
        `the banking/write token untouched`,
    );

    // 5. A call that needs a scope the client lacks: a PermissionError naming it. The banking/write token it is
    // sent with was revoked in step 4: a 401, one banking/write grant, one replay, then the 403; no grant after it.
    before = snapshot();
    const deniedBefore = denied;
    let permission: PermissionError | undefined;
    let other: unknown;
    try {
      await createTransfer({
        client,
        ...write,
        body: { type: 'ach', sourceAccount: { id: 'acc-0003' }, targetAccount: { id: 'ext-8841' }, amount: '2500.00' },
        headers: { 'Idempotency-Key': randomUUID() },
      });
    } catch (error) {
      callerErrors++;
      if (error instanceof PermissionError) permission = error;
      else other = error;
    }
    const permissionTally = since(before);
    const problem = permission?.response?.data as { title?: unknown; status?: unknown } | undefined;
    const permissionOk =
      permission !== undefined &&
      axios.isAxiosError(permission) &&
      permission.response?.status === 403 &&
      permission.requiredScope.includes('moneyMovement/write') &&
      problem?.status === 403 &&
      denied - deniedBefore === 1 &&
      permissionTally.api === 2 &&
      permissionTally.token === 1 &&
      grantedExactly(permissionTally.grants, { 'banking/write': 1 }) &&
      permissionTally.replays === 1;
    step(
      'permission',
      permissionOk,
      permissionTally,
      permission
        ? `ach createTransfer → 401 (revoked banking/write token), ${plural(permissionTally.token, 'token request')} ` +
            `(banking/write), ${plural(permissionTally.replays, 'replay')} → ` +
            `${permission.name} (${permission.response?.status}, requiredScope ${permission.requiredScope.join(' ')}, ` +
            `isAxiosError ${axios.isAxiosError(permission)}): ${plural(permissionTally.api, 'API request')} in all`
        : `ach createTransfer did not fail with a PermissionError: ${String(other)}`,
    );

    // 6. The token endpoint fails twice with 503; the call still succeeds.
    auth.failNextTokenRequests(2);
    bank.revokeAllTokens();
    before = snapshot();
    const retriesBefore = retries;
    const issuedBefore = auth.counters.tokensIssued;
    const injectedBefore = auth.counters.tokenFailuresInjected;
    const [afterOutage] = await settle([listAccounts({ client, ...read })]);
    const outageTally = since(before);
    const injected = auth.counters.tokenFailuresInjected - injectedBefore;
    const issued = auth.counters.tokensIssued - issuedBefore;
    const outageOk =
      afterOutage?.status === 200 &&
      injected === 2 &&
      issued === 1 &&
      outageTally.token === 3 &&
      retries - retriesBefore === 2 &&
      outageTally.replays === 1 &&
      grantedExactly(outageTally.grants, { 'banking/read': 1 }) &&
      outageTally.errors === 0;
    step(
      'outage',
      outageOk,
      outageTally,
      `token endpoint made to fail twice; listAccounts → 401, ${plural(outageTally.token, 'token request')} ` +
        `(${injected} × 503, ${issued} × 200), ${plural(retries - retriesBefore, 'retry', 'retries')}, ` +
        `${plural(outageTally.replays, 'replay')} → ${afterOutage?.status ?? 'failed'}`,
    );

    handle.detach();

    // Invariants over the whole run.
    const privilege = leastPrivilege(bank.counters.tokenScopes);
    const invariants = [
      [privilege.holds, privilege.text],
      [auth.counters.discoveryRequests === 1, 'discovery fetched once for the whole run'],
      [auth.counters.tokenRequestsWithApiKey === 0, 'API-Key never sent to the token endpoint'],
      [bank.counters.missingApiKey === 0, 'API-Key on every API call'],
      [auth.serverErrors.length === 0, 'no authorization server errors'],
    ] as const;
    for (const [holds, what] of invariants) if (!holds) results.push({ name: what, ok: false, tally: none() });

    // The closing table.
    out.line();
    closingTable(out, results.slice(0, 6));
    out.line(
      `  (errors: calls that rejected; the one expected is step 5's PermissionError. The token endpoint's two 503s were retried, not surfaced.)`,
    );
    for (const [holds, what] of invariants) out.line(`${holds ? '✓' : '✗'} ${what}`);
  } finally {
    agent.destroy();
    await servers.close();
  }

  const failed = results.filter((r) => !r.ok);
  if (out.leaks > 0)
    failed.push({
      name: `${plural(out.leaks, 'line')} would have shown a secret or a token`,
      ok: false,
      tally: none(),
    });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  out.line();
  if (failed.length === 0) {
    out.line(`Every step showed what it claims, in ${seconds} s. Servers closed.`);
    return 0;
  }
  out.line(`FAILED: ${failed.map((f) => f.name).join('; ')} (${seconds} s)`);
  return 1;
}

// `--fapi`: the same client in FAPI 2.0 mode (private_key_jwt and DPoP), narrated by demo/fapi.ts.
const run = process.argv.includes('--fapi')
  ? import('./fapi.js').then((fapi) => fapi.runFapiDemo({ verbose }))
  : main();
run.then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Name and message only: a raw error object may carry request configs and headers.
    console.error(`demo failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    process.exitCode = 1;
  },
);
