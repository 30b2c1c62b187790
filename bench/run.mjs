// npm run bench: measures axios-client-credentials (the BUILT package in dist/, imported by name)
// and the stack users assemble today (axios-oauth-client + axios-token-interceptor +
// axios-auth-refresh) in the same run, against loopback servers started here, and prints one
// table. Also writes bench/results.json. Re-spawns itself with --expose-gc (figure 4 needs it).
// Everything is bounded: each figure has its own time limit, the whole run stops after 5 minutes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

function builtPackage() {
  const entry = `${root}dist/esm/index.js`;
  if (!existsSync(entry)) {
    console.error('bench: dist/ is missing. Run `npm run build` first: the bench measures the built package.');
    process.exit(1);
  }
  const builtAt = statSync(entry).mtimeMs;
  const newer = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (statSync(path).mtimeMs > builtAt) newer.push(path.slice(root.length));
    }
  };
  walk(`${root}src`);
  if (newer.length)
    console.error(
      `bench: warning: ${newer.join(', ')} changed after the last build; the bench measures dist/ (run \`npm run build\`).`,
    );
  return { builtAt: new Date(builtAt).toISOString(), sourcesNewerThanBuild: newer };
}

const version = (name) => JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')).version;
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const started = Date.now();
  const limit = setTimeout(() => {
    console.error('bench: stopped after 10 minutes (time limit)');
    process.exit(2);
  }, 600_000);
  limit.unref();
  const build = builtPackage();
  const meta = {
    startedAt: new Date(started).toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    versions: Object.fromEntries(
      ['axios', 'axios-oauth-client', 'axios-token-interceptor', 'axios-auth-refresh', 'ioredis'].map((n) => [
        n,
        version(n),
      ]),
    ),
    commit:
      spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() ||
      'unknown commit',
    build,
  };
  console.error(
    `bench: node ${meta.node}, ${meta.cpus} CPUs, load average ${meta.loadAverageAtStart.join(' ')}; measuring dist/ built ${build.builtAt}`,
  );

  const { cpu } = await import('./figures/cpu.mjs');
  const { heap } = await import('./figures/heap.mjs');
  const { coldBurst } = await import('./figures/cold-burst.mjs');
  const { revocation } = await import('./figures/revocation.mjs');
  const { failingEndpoint } = await import('./figures/failing-endpoint.mjs');
  const { steadyTraffic } = await import('./figures/steady-traffic.mjs');
  const { storeLatency, storeLatencyRows } = await import('./figures/store-latency.mjs');
  const { fleet, fleetRows } = await import('./figures/fleet.mjs');
  const { wwwAuthenticate } = await import('./figures/www-authenticate.mjs');
  const { startRedisServer } = await import('./lib/redis-server.mjs');
  const { renderNotes, renderTable, verdict } = await import('./lib/report.mjs');

  let redisStore;
  let pending;
  try {
    ({ redisStore } = await import('axios-client-credentials/redis'));
  } catch {
    pending = 'pending (redis store not built yet)';
  }
  if (!pending && spawnSync('redis-server', ['--version']).status !== 0) pending = 'n/a (redis-server not installed)';

  const rows = [];
  let crashed = 0;
  const step = async (what, ids, fn) => {
    const t0 = Date.now();
    process.stderr.write(`bench: ${what} … `);
    try {
      rows.push(...(await fn()));
      process.stderr.write(`${seconds(Date.now() - t0)}\n`);
    } catch (error) {
      crashed++;
      process.stderr.write(`failed: ${error?.stack ?? error}\n`);
      for (const id of ids)
        rows.push({
          id,
          name: `${what} (did not complete)`,
          ours: `error: ${error?.message ?? error}`,
          peer: '—',
          target: '—',
          pass: false,
        });
    }
  };

  const redis = pending
    ? undefined
    : await startRedisServer().catch((error) => {
        pending = `n/a (redis-server did not start: ${error.message.split('\n')[0]})`;
      });
  try {
    // The two per-request cost figures run first, in a process that has not yet been through
    // error paths and other shapes of config: later they read 0.05 to 0.2 higher for every stack.
    await step('3 CPU per request', ['3a', '3b'], cpu);
    await step('15 per-request scopes', ['15a', '15b'], async () => (await import('./figures/scopes.mjs')).scopes());
    await step('8 cached-token latency, Redis vs memory', ['8a', '8b'], async () =>
      storeLatencyRows(await storeLatency({ redisPath: redis?.path, redisStore }), pending),
    );
    await step('11 loopback HTTP per request', ['11'], async () => (await import('./figures/loopback.mjs')).loopback());
    await step('10 WWW-Authenticate parse, 60 KB', ['10'], wwwAuthenticate);
    await step('12 client authentication CPU per token request', ['12a', '12b', '12c', '12d', '12e'], async () =>
      (await import('./figures/client-auth.mjs')).clientAuth(),
    );
    await step('13 mTLS API call per request', ['13a', '13b'], async () => (await import('./figures/mtls.mjs')).mtls());
    await step('14 DPoP CPU per request, nonce challenges', ['14a', '14b', '14c'], async () =>
      (await import('./figures/dpop.mjs')).dpop(),
    );
    await step('4 heap after 10 000 waiting requests', ['4'], heap);
    await step('1 cold burst', ['1'], coldBurst);
    await step('2 401 burst after revocation', ['2a', '2b'], revocation);
    await step('5 failing token endpoint', ['5a', '5b'], failingEndpoint);
    await step('6 steady traffic, 10 s', ['6a', '6b', '6c', '6d'], steadyTraffic);
    await step('7, 9 fleet of 8 processes', ['7a', '7b', '9a', '9b', '9c'], async () =>
      fleetRows(await fleet({ redisPath: redis?.path }), pending),
    );
  } finally {
    await redis?.stop();
  }

  const order = (id) => [parseInt(id, 10), id];
  rows.sort((a, b) => order(a.id)[0] - order(b.id)[0] || order(a.id)[1].localeCompare(order(b.id)[1]));
  meta.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  meta.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);

  console.log(
    `\naxios-client-credentials ${JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version} (dist/ of ${meta.commit}) vs axios-oauth-client ${meta.versions['axios-oauth-client']} + axios-token-interceptor ${meta.versions['axios-token-interceptor']} + axios-auth-refresh ${meta.versions['axios-auth-refresh']}, axios ${meta.versions.axios}, node ${meta.node}, ${meta.cpus} CPUs, load average ${meta.loadAverageAtStart.join(' ')} → ${meta.loadAverageAtEnd.join(' ')}\n`,
  );
  console.log(renderTable(rows));
  const failed = rows.filter((r) => verdict(r) === 'FAIL').map((r) => r.id);
  console.log(
    `\n${rows.filter((r) => verdict(r) === 'PASS').length} pass, ${failed.length} fail${failed.length ? ` (${failed.join(', ')})` : ''}, ${rows.filter((r) => verdict(r) === '—').length} without a target; ${meta.durationSeconds} s\n`,
  );
  console.log(renderNotes(rows));
  writeFileSync(`${root}bench/results.json`, JSON.stringify({ meta, figures: rows }, null, 2) + '\n');
  console.log('\nWritten: bench/results.json');
  clearTimeout(limit);
  process.exitCode = crashed ? 1 : 0;
}

if (typeof globalThis.gc !== 'function') {
  const child = spawn(process.execPath, ['--expose-gc', self, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await main();
}
