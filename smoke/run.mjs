// npm run smoke: the packed package on every runtime CI tests (scripts/runtimes.json: each Node line, Bun, Deno,
// workerd), as ES module and CommonJS where the runtime has both, against loopback servers in this process.
//
//   node smoke/run.mjs                    # every target CI runs
//   node smoke/run.mjs --only bun,deno    # some runtimes (node, node@22, bun, deno, workerd)
//   node smoke/run.mjs --pending          # also the targets known to fail until a source change lands
//   node smoke/run.mjs --keep             # keep the scratch project (its path is printed)
//
// It packs dist/ as it is (npm pack --ignore-scripts; build first), installs the tarball and axios into a scratch
// project, and runs smoke/scenarios.cjs there: through client.mjs / client.cjs on Node, Bun and Deno, and through
// a worker bundled with esbuild (axios's fetch adapter) on workerd. Each runtime comes from the npm registry,
// cached by scripts/runtime.mjs. Exit status 1 when a target CI runs fails.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { assertBuilt, root } from '../scripts/built.mjs';
import { ensureRuntime } from '../scripts/runtime.mjs';
import { startServers } from './servers.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const pinned = JSON.parse(readFileSync(join(root, 'scripts/runtimes.json'), 'utf8'));
const here = join(root, 'smoke');

/** workerd's newest compatibility date is its own release date (version 1.YYYYMMDD.n). */
const workerdDate = pinned.workerd.replace(/^1\.(\d{4})(\d{2})(\d{2})\..*$/, '$1-$2-$3');

/**
 * Every target. `pending` names the source change a target waits for: such a target runs only with --pending,
 * and its failure does not fail the run.
 */
const targets = [
  ...pinned.node.flatMap((version) => ['esm', 'cjs'].map((format) => ({ runtime: 'node', version, format }))),
  { runtime: 'bun', version: pinned.bun, format: 'esm' },
  { runtime: 'bun', version: pinned.bun, format: 'cjs' },
  { runtime: 'deno', version: pinned.deno, format: 'esm' },
  { runtime: 'deno', version: pinned.deno, format: 'cjs' },
  { runtime: 'workerd', version: pinned.workerd, format: 'esm', date: workerdDate, flags: ['nodejs_compat'] },
  { runtime: 'workerd', version: pinned.workerd, format: 'cjs', date: workerdDate, flags: ['nodejs_compat'] },
  // From 2026-08-04 workerd has the node: modules without nodejs_compat.
  { runtime: 'workerd', version: pinned.workerd, format: 'esm', date: workerdDate, flags: [] },
  // Before 2026-02-10 a workerd timer is a number, without unref().
  { runtime: 'workerd', version: pinned.workerd, format: 'esm', date: '2026-02-09', flags: ['nodejs_compat'] },
  // Before 2024-09-23 nodejs_compat has the node: modules but no global Buffer, process or setImmediate.
  { runtime: 'workerd', version: pinned.workerd, format: 'esm', date: '2024-09-22', flags: ['nodejs_compat'] },
  {
    runtime: 'workerd',
    version: pinned.workerd,
    format: 'esm',
    date: '2026-08-03',
    flags: [],
    pending:
      'without nodejs_compat (before 2026-08-04) there are no node: modules: bytes and base64 without node:buffer, the token codec and random ids on Web Crypto, node:diagnostics_channel only where it exists',
  },
].filter((t) => !only || only.includes(t.runtime) || only.includes(`${t.runtime}@${t.version.split('.')[0]}`));

const label = (t) =>
  `${t.runtime} ${t.runtime === 'workerd' ? `${t.version} (${t.date}${t.flags.length ? `, ${t.flags.join(' ')}` : ', no compat flags'})` : t.version} ${t.format === 'esm' ? 'ESM' : 'CJS'}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs a command; resolves with its output, exit code, and whether it exited on its own within `graceMs` of
 * printing its result line (a finished script whose timers keep it alive is a bug).
 */
function run(command, commandArgs, { cwd, env, timeoutMs = 120_000, graceMs = 5_000 }) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let lingered = false;
    let grace;
    const timeout = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!grace && stdout.includes('SMOKE-RESULTS ')) {
        grace = setTimeout(() => {
          lingered = true;
          child.kill('SIGKILL');
        }, graceMs);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => (stderr += String(error)));
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(grace);
      resolve({ stdout, stderr, code, signal, lingered });
    });
  });
}

function parseResults(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('SMOKE-RESULTS '));
  return line ? JSON.parse(line.slice('SMOKE-RESULTS '.length)) : undefined;
}

/** Node, Bun or Deno: the client script in the scratch project. */
async function runScript(target, project, urls) {
  const { binary } = ensureRuntime(target.runtime, target.version);
  const script = target.format === 'esm' ? 'client.mjs' : 'client.cjs';
  const commandArgs =
    target.runtime === 'deno' ? ['run', '-A', '--no-lock', '--node-modules-dir=manual', script] : [script];
  const env = { SMOKE_URLS: JSON.stringify(urls), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
  const result = await run(binary, commandArgs, { cwd: project, env });
  const parsed = parseResults(result.stdout);
  const problems = [];
  if (!parsed)
    problems.push(`no result (exit ${result.code ?? result.signal}): ${excerpt(result.stderr || result.stdout)}`);
  else if (result.lingered) problems.push('did not exit on its own within 5 s of finishing');
  return { loaded: parsed?.loaded, results: parsed?.results ?? [], problems };
}

/** workerd: the worker bundled with esbuild, served on a loopback port, asked once to run the scenarios. */
async function runWorker(target, project, urls) {
  const { binary } = ensureRuntime('workerd', target.version);
  const dir = join(project, `workerd-${target.format}-${target.date}-${target.flags.join('-') || 'none'}`);
  mkdirSync(dir, { recursive: true });
  const bundle = {
    bundle: true,
    platform: 'browser', // as wrangler bundles: the package.json "browser" maps apply (axios swaps out its http adapter)
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['node:*'],
    target: 'es2022',
    logLevel: 'error',
    absWorkingDir: project,
  };
  let modules;
  if (target.format === 'esm') {
    await build({
      ...bundle,
      entryPoints: [join(project, 'worker.mjs')],
      format: 'esm',
      outfile: join(dir, 'worker.mjs'),
    });
    modules = '(name = "worker.mjs", esModule = embed "worker.mjs")';
  } else {
    await build({
      ...bundle,
      entryPoints: [join(project, 'worker-cjs.cjs')],
      format: 'cjs',
      outfile: join(dir, 'client.cjs'),
    });
    copyFileSync(join(project, 'worker-cjs-main.mjs'), join(dir, 'worker.mjs'));
    modules =
      '(name = "worker.mjs", esModule = embed "worker.mjs"), (name = "client.cjs", commonJsModule = embed "client.cjs")';
  }
  const port = await freePort();
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .smoke),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const smoke :Workerd.Worker = (
  modules = [${modules}],
  compatibilityDate = "${target.date}",
  compatibilityFlags = [${target.flags.map((f) => JSON.stringify(f)).join(', ')}],
  globalOutbound = "loopback",
);
`,
  );
  const child = spawn(binary, ['serve', 'config.capnp', '--verbose'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => (log += chunk));
  child.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await Promise.race([
        exited.then(() => 'exited'),
        fetch(`${base}/ping`).then(
          (r) => (r.ok ? 'ready' : `status ${r.status}`),
          () => 'down',
        ),
      ]);
      if (state === 'ready') break;
      if (state === 'exited' || Date.now() > deadline || state.startsWith('status')) {
        return { results: [], problems: [`workerd did not serve the worker (${state}): ${excerpt(log)}`] };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await fetch(`${base}/?urls=${encodeURIComponent(JSON.stringify(urls))}`, {
      signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    if (!response.ok)
      return { results: [], problems: [`worker answered ${response.status}: ${excerpt(text + '\n' + log)}`] };
    const parsed = JSON.parse(text);
    return { loaded: parsed.loaded, results: parsed.results, problems: [] };
  } catch (error) {
    return { results: [], problems: [`${error}: ${excerpt(log)}`] };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

function excerpt(text) {
  const lines = String(text)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const telling = lines.filter((l) => /error|exception|not defined|not a function|no such module|uncaught/i.test(l));
  return (telling.length ? telling : lines).slice(0, 4).join(' | ').slice(0, 600);
}

async function main() {
  assertBuilt('smoke');
  const scratch = mkdtempSync(join(tmpdir(), 'acc-smoke-'));
  const project = join(scratch, 'project');
  mkdirSync(project);
  const servers = await startServers();
  let failed = 0;
  try {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
        cwd: root,
        encoding: 'utf8',
      }),
    );
    const axiosVersion = JSON.parse(readFileSync(join(root, 'node_modules/axios/package.json'), 'utf8')).version;
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        {
          name: 'acc-smoke',
          private: true,
          dependencies: { 'axios-client-credentials': `file:../${pack.filename}`, axios: axiosVersion },
        },
        null,
        2,
      ),
    );
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--ignore-scripts',
        '--prefer-offline',
        '--loglevel=error',
      ],
      {
        cwd: project,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    for (const file of [
      'scenarios.cjs',
      'client.mjs',
      'client.cjs',
      'worker.mjs',
      'worker-cjs.cjs',
      'worker-cjs-main.mjs',
    ])
      copyFileSync(join(here, file), join(project, file));
    console.log(
      `smoke: ${pack.filename} with axios ${axiosVersion}; servers ${servers.urls.main} and ${servers.urls.other}${flag('--keep') ? `; project ${project}` : ''}\n`,
    );

    for (const target of targets) {
      if (target.pending && !flag('--pending')) {
        console.log(`- ${label(target)}: skipped, waits for a source change: ${target.pending}`);
        continue;
      }
      const started = Date.now();
      const outcome =
        target.runtime === 'workerd'
          ? await runWorker(target, project, servers.urls)
          : await runScript(target, project, servers.urls);
      const passed = outcome.results.filter((r) => r.ok).length;
      const ok = outcome.problems.length === 0 && outcome.results.length > 0 && passed === outcome.results.length;
      const mark = ok ? '✓' : target.pending ? '✗ (pending)' : '✗';
      if (!ok && !target.pending) failed++;
      console.log(
        `${mark} ${label(target)}: ${passed}/${outcome.results.length} scenarios${outcome.loaded ? `, loaded ${outcome.loaded}` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      for (const r of outcome.results) console.log(`    ${r.ok ? '✓' : '✗'} ${r.name}: ${r.detail}`);
      for (const problem of outcome.problems) console.log(`    ✗ ${problem}`);
      if (target.pending) console.log(`    (waits for: ${target.pending})`);
    }
  } finally {
    await servers.close();
    if (!flag('--keep')) rmSync(scratch, { recursive: true, force: true });
  }
  console.log(failed ? `\nsmoke: ${failed} target(s) failed` : '\nsmoke: every target passed');
  process.exitCode = failed ? 1 : 0;
}

await main();
