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
  });

  it('ends with the table of requests sent, token requests, replays and errors', () => {
    const table = run.stdout.slice(run.stdout.indexOf('  step '));
    const row = (name: string) => {
      const match = new RegExp(`^  ${name} +(\\d+) +(\\d+) +(\\d+) +(\\d+)$`, 'm').exec(table);
      return match?.slice(1).map(Number);
    };
    expect(table).toMatch(/^ {2}step +API requests sent +token requests +replays +errors$/m);
    expect(row('cold burst')).toEqual([100, 1, 0, 0]);
    expect(row('transfer')).toEqual([3, 0, 0, 0]);
    expect(row('revocation')).toEqual([200, 1, 100, 0]);
    expect(row('permission')).toEqual([1, 0, 0, 1]);
    expect(row('outage')).toEqual([2, 3, 1, 0]);
    expect(row('total')).toEqual([306, 5, 101, 1]);
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
    expect(run.stdout).toMatch(/^ +\[token\] scope banking\/read banking\/write; lifetime 600 s/m);
    expect(run.stdout.match(/^ +\[replay\] GET /gm)).toHaveLength(101);
    expect(run.stdout.match(/^ +\[retry\] attempt \d in \d+ ms \(HTTP 503\)$/gm)).toHaveLength(2);
    expect(run.stdout).toMatch(
      /^ +\[denied\] POST http:\/\/127\.0\.0\.1:\d+\/banking\/transfers needs moneyMovement\/write$/m,
    );
    expect(run.stdout).not.toMatch(JWT);
  }, 30_000);
});
