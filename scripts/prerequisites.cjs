// What the test suite needs besides node_modules, checked once before anything runs:
//   - `redis-server` on the PATH (the shared-store suites start their own throwaway servers);
//   - a built package in dist/ (the package and README suites use it as users get it).
// Run as `npm test`'s pretest (node scripts/prerequisites.cjs: checks redis-server), and as jest's globalSetup
// (checks only what the selected suites need), so a missing prerequisite stops the run at once with the
// command that fixes it, instead of a long run of failures.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

/** The hint for installing redis-server on this machine. */
function redisInstallHint() {
  if (process.platform === 'darwin') return 'brew install redis';
  if (existsSync('/etc/alpine-release')) return 'apk add redis';
  if (existsSync('/etc/debian_version')) return 'apt-get install -y redis-server   (with sudo if you are not root)';
  return 'install Redis from your package manager (Debian/Ubuntu: apt-get install -y redis-server)';
}

/** A message saying what is missing and how to fix it, or undefined when redis-server runs. */
function checkRedisServer() {
  const result = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (!result.error && result.status === 0) return undefined;
  return `redis-server is not on the PATH; the shared-store tests start their own. Install it:\n\n    ${redisInstallHint()}\n`;
}

function checkBuilt() {
  if (existsSync(join(root, 'dist/cjs/index.js')) && existsSync(join(root, 'dist/esm/index.js'))) return undefined;
  return 'dist/ is missing; the package tests use the built package. Build it:\n\n    npm run build\n';
}

/** Suites that import the built package by its name. */
const BUILT_PACKAGE_SUITES = ['package.test.ts', 'readme.test.ts'];

/** Test files under __tests__/ whose text mentions `needle`. */
function suitesMentioning(needle) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes(needle)) found.push(path);
    }
  };
  walk(join(root, '__tests__'));
  return found;
}

function fail(problems) {
  process.stderr.write(`\nCannot run the tests yet:\n\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

/** jest globalSetup: checks what the selected test files need. */
module.exports = async function checkPrerequisites(globalConfig) {
  const patterns = globalConfig.testPathPatterns;
  const selected = (file) =>
    !patterns || !patterns.isSet() || patterns.toExecutor({ rootDir: globalConfig.rootDir }).isMatch(file);
  const problems = [];
  if (suitesMentioning('helpers/redis-server').some(selected)) problems.push(checkRedisServer());
  if (BUILT_PACKAGE_SUITES.map((name) => join(root, '__tests__', name)).some(selected)) problems.push(checkBuilt());
  const found = problems.filter(Boolean);
  if (found.length) fail(found);
};

if (require.main === module) {
  const problem = checkRedisServer();
  if (problem) fail([problem]);
}
