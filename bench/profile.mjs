// Where the time of a request with a cached token goes: runs a client for 200 000 sequential
// requests through the adapter that answers at once under `node --cpu-prof`, and prints the
// functions with the most self time. Given two clients, it also prints where the first spends
// more than the second, per request. Not part of `npm run bench`.
//   node bench/profile.mjs [ours|peer|bare] [bare] [--top N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REQUESTS = 200_000;
const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 20;
const kinds = args.filter((a, i) => !a.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));

if (process.env.BENCH_PROFILE_CHILD) {
  const { withServers } = await import('./lib/servers.mjs');
  const { cachedClients, modes } = await import('./figures/cpu.mjs');
  await withServers({ delayMs: 0 }, async ({ auth }) => {
    const stacks = await cachedClients(auth);
    await modes.sequential(stacks[process.env.BENCH_PROFILE_CHILD].api, REQUESTS);
  });
} else {
  const [first = 'ours', second] = kinds;
  const a = profileOf(first);
  print(`${first}: self time by function, top ${top} (µs per request)`, a, top);
  print(`${first}: self time by file (µs per request)`, byFile(a), 12);
  if (second) {
    const b = profileOf(second);
    const diff = new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
    for (const [k, v] of b) if (!a.has(k)) diff.set(k, -v);
    const sum = (m) => [...m.values()].reduce((x, y) => x + y, 0);
    console.log(`\n${first} ${sum(a).toFixed(2)} µs vs ${second} ${sum(b).toFixed(2)} µs sampled per request`);
    print(`${first} minus ${second}: functions with the most extra self time (µs per request)`, diff, top);
    print(`${first} minus ${second}, by file (µs per request)`, byFile(diff), 12);
  }
}

/** Self time per function (name and place), in µs per request, of one profiled run. */
function profileOf(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'acc-bench-prof-'));
  try {
    const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_PROFILE_CHILD: kind },
      timeout: 120_000,
    });
    if (run.status !== 0) throw new Error(`profiled run of ${kind} failed (${run.status ?? run.signal})`);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const fns = new Map();
    profile.samples.forEach((id, i) => {
      const cf = byId.get(id).callFrame;
      const url = cf.url
        .replace(/^file:\/\//, '')
        .replace(/.*\/node_modules\//, '')
        .replace(/.*\/(dist|bench)\//, '$1/');
      const key = `${cf.functionName || '(anonymous)'}  ${url ? `${url}:${cf.lineNumber + 1}` : '(native)'}`;
      fns.set(key, (fns.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / REQUESTS);
    });
    return fns;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function byFile(fns) {
  const files = new Map();
  for (const [key, us] of fns) {
    const file = key.split('  ')[1].replace(/:\d+$/, '');
    files.set(file, (files.get(file) ?? 0) + us);
  }
  return files;
}

function print(title, map, n) {
  console.log(`\n${title}:`);
  for (const [key, us] of [...map].sort((x, y) => y[1] - x[1]).slice(0, n))
    console.log(`  ${us.toFixed(3).padStart(7)}  ${key}`);
}
