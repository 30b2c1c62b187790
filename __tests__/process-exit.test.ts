/**
 * Issue 9, hole 9: no timer of the library keeps a finished process alive, and a caller waiting for a
 * token is never left behind by a process that exits under it. Real processes, a real token endpoint.
 */
import { json, startServer } from './helpers/http.js';
import { runScript } from './helpers/run-script.js';

jest.setTimeout(60_000);

test('a script whose work is done exits while its background refresh backs off after a 503', async () => {
  let n = 0;
  const auth = await startServer((_req, res) => {
    n++;
    // The first token lives 10 s and is due for refresh after 0.5 s; every refresh meets 503 Retry-After: 10.
    if (n === 1) return json(res, 200, { access_token: 'first', token_type: 'Bearer', expires_in: 10 });
    json(res, 503, { error: 'temporarily_unavailable' }, { 'Retry-After': '10' });
  });
  const run = await runScript('__tests__/fixtures/exit-after-work.ts', [], {
    TOKEN_URL: `${auth.url}/token`,
    MODE: 'background-refresh',
  });
  expect(run.stdout).toBe('token first\ndone\n');
  expect(run.code).toBe(0);
  expect(n).toBeGreaterThanOrEqual(2); // the refresh did start, and met the 503
  // Without unref'd back-off timers the process lives on through three 10 s Retry-After waits.
  expect(run.ms).toBeLessThan(9_000);
});

test('a script waiting for its first token stays alive through the retry back-off and gets it', async () => {
  let n = 0;
  const auth = await startServer((_req, res) => {
    n++;
    if (n === 1) return json(res, 503, { error: 'temporarily_unavailable' }, { 'Retry-After': '1' });
    json(res, 200, { access_token: 'after-retry', token_type: 'Bearer', expires_in: 60 });
  });
  const run = await runScript('__tests__/fixtures/exit-after-work.ts', [], { TOKEN_URL: `${auth.url}/token` });
  expect(run.stdout).toBe('token after-retry\n');
  expect(run.code).toBe(0);
  expect(n).toBe(2);
});
