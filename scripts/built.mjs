// Whether dist/ holds a build of the current src/: the scripts that pack the package (check:package, smoke)
// pack with --ignore-scripts, so they never rebuild, and stop instead of checking a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Exits with a message naming `who` and the fix when dist/ is missing or older than src/. */
export function assertBuilt(who) {
  const builds = ['dist/esm/index.js', 'dist/cjs/index.js'].map((file) => join(root, file));
  const oldest = builds.every(existsSync) ? Math.min(...builds.map((file) => statSync(file).mtimeMs)) : 0;
  if (oldest === 0 || newestIn(join(root, 'src')) > oldest) {
    console.error(`${who}: dist/ is missing or older than src/. Run \`npm run build\` first.`);
    process.exit(1);
  }
}
