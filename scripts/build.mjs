// Builds dist/cjs and dist/esm from the same sources with tsc, then marks each folder's module kind.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

const tsc = (args) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
tsc(['-p', 'tsconfig.build.json', '--module', 'commonjs', '--moduleResolution', 'node10', '--outDir', 'dist/cjs']);
tsc(['-p', 'tsconfig.build.json', '--module', 'es2022', '--moduleResolution', 'bundler', '--outDir', 'dist/esm']);
for (const [dir, type] of [['dist/cjs', 'commonjs'], ['dist/esm', 'module']]) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + '\n');
}
