/**
 * `npm run demo`, run as a user runs it: a child process, judged by its exit code and output.
 * Needs the built package (`npm run build`, which `npm install` runs through `prepare`).
 */
import { isListening, runNpm, type ScriptResult } from './helpers/run-script.js';

const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./;
/** npm's own notices (e.g. about the user's npmrc) are not the demo's output. */
const withoutNpmNotices = (stderr: string) =>
  stderr.split('\n').filter((line) => line.trim() !== '' && !/^npm (warn|notice)/i.test(line));

describe('npm run demo', () => {
  let run: ScriptResult;
  beforeAll(async () => {
    run = await runNpm(['run', 'demo']);
  }, 30_000);

  it('exits 0 and says every step showed what it claims', () => {
    // On failure, show what the demo printed.
    expect({ code: run.code, output: run.code === 0 ? '' : `${run.stdout}\n${run.stderr}` }).toEqual({
      code: 0,
      output: '',
    });
    expect(run.stdout).toMatch(/^Every step showed what it claims, in \d+\.\d s\. Servers closed\.$/m);
  });

  it('prints the six steps, each checked', () => {
    const steps = run.stdout.split('\n').filter((line) => /^[✓✗] \d\. /.test(line));
    expect(steps.map((line) => line.slice(0, 18).trim())).toEqual([
      '✓ 1. discovery',
      '✓ 2. cold burst',
      '✓ 3. transfer',
      '✓ 4. revocation',
      '✓ 5. permission',
      '✓ 6. outage',
    ]);
    expect(run.stdout).toMatch(/100 concurrent listAccountBalances → 100 × 200 with 1 token request/);
    expect(run.stdout).toMatch(/100 × 401, 1 new token request .*, 100 replays → 100 × 200/);
    expect(run.stdout).toMatch(/PermissionError \(403, requiredScope moneyMovement\/write/);
    expect(run.stdout).toMatch(/3 token requests \(2 × 503, 1 × 200\), 2 retries, 1 replay → 200/);
    // Least privilege: reads with a banking/read token, transfers with a banking/write token, as the bank saw them.
    expect(run.stdout).toMatch(/with 1 token request \(jti .{7}, scope banking\/read, expires/);
    expect(run.stdout).toMatch(
      /^✓ reads reached the API with banking\/read tokens only \(202\), transfers with banking\/write tokens only \(3\)$/m,
    );
  });

  it('ends with the table of requests sent, token requests, replays, errors and grants per scope set', () => {
    const table = run.stdout.slice(run.stdout.indexOf('  step '));
    const row = (name: string) => {
      const match = new RegExp(`^  ${name} +(\\d+) +(\\d+) +(\\d+) +(\\d+)(?: {3}(.+))?$`, 'm').exec(table);
      return match && [...match.slice(1, 5).map(Number), match[5] ?? ''];
    };
    expect(table).toMatch(/^ {2}step +API requests sent +token requests +replays +errors +grants per scope set$/m);
    expect(row('discovery')).toEqual([0, 0, 0, 0, '']);
    expect(row('cold burst')).toEqual([100, 1, 0, 0, 'banking/read 1']);
    // The transfers ask for a banking/write token of their own: one grant (it was 0 with one token for both scopes).
    expect(row('transfer')).toEqual([3, 1, 0, 0, 'banking/write 1']);
    expect(row('revocation')).toEqual([200, 1, 100, 0, 'banking/read 1']);
    // The banking/write token was revoked in step 4 with every other, and no request had used it since: the ach
    // transfer meets the 401, one banking/write grant and one replay before the 403 (it was [1, 0, 0, 1]).
    expect(row('permission')).toEqual([2, 1, 1, 1, 'banking/write 1']);
    expect(row('outage')).toEqual([2, 3, 1, 0, 'banking/read 1']);
    expect(row('total')).toEqual([307, 7, 102, 1, 'banking/read 3, banking/write 2']);
  });

  it('finishes in under 10 seconds, npm and tsx start-up included', () => {
    expect(run.ms).toBeLessThan(10_000);
  });

  it('prints no warning and no secret or token', () => {
    expect(withoutNpmNotices(run.stderr)).toEqual([]);
    expect(run.stdout).not.toMatch(/warn/i);
    expect(run.stdout).not.toMatch(JWT);
    expect(run.stdout).toContain('secret ********');
    expect(run.stdout).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  });

  it('leaves no server listening', async () => {
    const urls = [...run.stdout.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
    expect(new Set(urls).size).toBe(2);
    for (const url of new Set(urls)) expect(await isListening(url)).toBe(false);
  });
});

describe('npm run demo -- --verbose', () => {
  it("also prints the provider's events, still without a token", async () => {
    const run = await runNpm(['run', 'demo', '--', '--verbose']);
    expect(run.code).toBe(0);
    // Each token has exactly the scope its requests asked for; none is asked for with both.
    expect(run.stdout).toMatch(/^ +\[token\] scope banking\/read; lifetime 600 s/m);
    expect(run.stdout).toMatch(/^ +\[token\] scope banking\/write; lifetime 600 s/m);
    expect(run.stdout).not.toMatch(/\[token\] scope banking\/read banking\/write/);
    expect(run.stdout.match(/^ +\[replay\] GET /gm)).toHaveLength(101);
    expect(run.stdout.match(/^ +\[retry\] attempt \d in \d+ ms \(HTTP 503\)$/gm)).toHaveLength(2);
    expect(run.stdout).toMatch(
      /^ +\[denied\] POST http:\/\/127\.0\.0\.1:\d+\/banking\/transfers needs moneyMovement\/write$/m,
    );
    expect(run.stdout).not.toMatch(JWT);
  }, 30_000);
});

describe('npm run demo -- --fapi', () => {
  let run: ScriptResult;
  beforeAll(async () => {
    run = await runNpm(['run', 'demo', '--', '--fapi']);
  }, 60_000);

  it('exits 0 and ends with the FAPI 2.0 summary: grants, nonce challenges, proofs verified, none rejected', () => {
    expect({ code: run.code, output: run.code === 0 ? '' : `${run.stdout}\n${run.stderr}` }).toEqual({
      code: 0,
      output: '',
    });
    const summary = /^FAPI 2\.0: (\d+) grants, (\d+) nonce challenges, (\d+) proofs verified, (\d+) rejected$/m.exec(
      run.stdout,
    );
    const [grants, challenges, verified, rejected] = summary?.slice(1).map(Number) ?? [];
    // The transfers ask for a banking/write token of their own: a third grant, whose proof oidc-provider verifies
    // (it was 2 grants and 207 proofs with one token for both scopes).
    expect({ grants, verified, rejected }).toEqual({ grants: 3, verified: 208, rejected: 0 });
    // One at the token endpoint, one at the API's first call, one after the API's new nonce (the token
    // endpoint's nonce lasts minutes, so the second grant needs none unless the run is that slow).
    expect(challenges).toBeGreaterThanOrEqual(3);
    expect(run.stdout).toMatch(/^Every step showed what it claims, in \d+\.\d s\. Servers closed\.$/m);
  });

  it('prints the six steps, each checked, with what each server counted', () => {
    const steps = run.stdout.split('\n').filter((line) => /^[✓✗] \d\. /.test(line));
    expect(steps.map((line) => line.slice(0, 18).trim())).toEqual([
      '✓ 1. discovery',
      '✓ 2. cold burst',
      '✓ 3. transfer',
      '✓ 4. new nonce',
      '✓ 5. revocation',
      '✓ 6. stolen token',
    ]);
    expect(run.stdout).toMatch(
      /100 concurrent listAccountBalances → 100 × 200; token endpoint: 2 proofs → 1 use_dpop_nonce, 1 grant \(private_key_jwt; DPoP token/,
    );
    expect(run.stdout).toMatch(/API: 1 use_dpop_nonce, 100 proofs verified, 1 replay$/m);
    expect(run.stdout).toMatch(
      /getAccount → 401 use_dpop_nonce, 1 replay with the new nonce → 200: same token, 0 token requests/,
    );
    expect(run.stdout).toMatch(
      /1 grant \(jti .{7}, same key: cnf\.jkt .{7}\), 100 replays → 100 × 200, 100 proofs verified/,
    );
    expect(run.stdout.match(/→ 401 \(/g)).toHaveLength(4);
    expect(run.stdout).toMatch(/4 requests refused, 0 token requests$/m);
    for (const invariant of ['authenticated by private_key_jwt', 'carried a DPoP proof', 'bound to the same key'])
      expect(run.stdout).toMatch(new RegExp(`^✓ every .*${invariant}`, 'm'));
    expect(run.stdout).toMatch(/^ {2}grants per scope set: banking\/read 2, banking\/write 1$/m);
    expect(run.stdout).toMatch(
      /^✓ reads reached the API with banking\/read tokens only \(203\), transfers with banking\/write tokens only \(2\)$/m,
    );
  });

  it('prints no warning and no secret, token or proof, and leaves no server listening', async () => {
    expect(withoutNpmNotices(run.stderr)).toEqual([]);
    expect(run.stdout).not.toMatch(/warn/i);
    expect(run.stdout).not.toMatch(JWT);
    expect(run.stdout).not.toMatch(/eyJ[\w-]{8,}\./);
    const urls = new Set([...run.stdout.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]));
    expect(urls.size).toBe(2);
    for (const url of urls) expect(await isListening(url)).toBe(false);
  });
});
