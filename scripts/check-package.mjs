// npm run check:package: lints the package as it would be published (publint --strict) and checks its types
// in every TypeScript resolution mode (are-the-types-wrong), on a tarball packed from the current dist/.
// It packs with --ignore-scripts, so it never rebuilds: `npm test` builds first; on its own, build first
// (it stops if dist/ is missing or older than src/).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, root } from './built.mjs';

assertBuilt('check:package');
const bin = (name) => join(root, 'node_modules', '.bin', name);

/** Runs a tool with its output shown; a failure ends this script with the tool's exit status. */
function run(file, args) {
  try {
    return execFileSync(file, args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', args.includes('--json') ? 'pipe' : 'inherit', 'inherit'],
    });
  } catch (error) {
    process.exitCode = typeof error.status === 'number' ? error.status : 1;
    throw error;
  }
}

const out = mkdtempSync(join(tmpdir(), 'acc-pack-'));
try {
  run(bin('publint'), ['--strict']);
  const [pack] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out]));
  run(bin('attw'), [join(out, pack.filename)]);
} catch {
  // the tool has printed why
} finally {
  rmSync(out, { recursive: true, force: true });
}
