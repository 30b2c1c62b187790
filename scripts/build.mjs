// Builds dist/cjs and dist/esm from the same sources with tsc (with source maps and declaration maps that point
// into src/, which the package ships), then marks each folder's module kind. Each folder's package.json is the
// nearest one for the files in it, so it repeats `sideEffects: false`: bundlers read that flag from the nearest
// package.json, and without it they keep every module an import reaches.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

const tsc = (args) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });
for (const dir of ['dist/cjs', 'dist/esm']) rmSync(dir, { recursive: true, force: true }); // dist/docs is TypeDoc's
tsc(['-p', 'tsconfig.build.json', '--module', 'commonjs', '--moduleResolution', 'node10', '--outDir', 'dist/cjs']);
tsc(['-p', 'tsconfig.build.json', '--module', 'es2022', '--moduleResolution', 'bundler', '--outDir', 'dist/esm']);
for (const [dir, type] of [
  ['dist/cjs', 'commonjs'],
  ['dist/esm', 'module'],
]) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type, sideEffects: false }) + '\n');
}
