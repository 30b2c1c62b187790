import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** These tests use the built package (`npm test` builds it first), as users get it. */
const root = join(__dirname, '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the built package', () => {
  test('is importable as CommonJS and as ESM, with the same exports', () => {
    const cjs = node(['-e', 'console.log(Object.keys(require("axios-client-credentials")).sort().join(","))']).trim();
    const esm = node(['--input-type=module', '-e', 'import * as m from "axios-client-credentials"; console.log(Object.keys(m).sort().join(","))']).trim();
    expect(cjs).toBe(esm);
    expect(cjs.split(',')).toEqual(expect.arrayContaining(['ClientCredentialsProvider', 'attachAuth', 'PermissionError', 'AuthenticationError', 'TokenEndpointError', 'ConfigurationError', 'DiscoveryError', 'apitureIssuers']));
    expect(cjs.split(',')).not.toContain('default');
  });

  test('errors keep their name and code, and instanceof works in each build and across them', () => {
    const script = `
      const cjs = require('axios-client-credentials');
      import('axios-client-credentials').then((esm) => {
        const make = (m) => { try { new m.ClientCredentialsProvider({}); } catch (e) { return e; } };
        const a = make(cjs), b = make(esm);
        console.log(JSON.stringify([
          a instanceof cjs.ConfigurationError, b instanceof esm.ConfigurationError,
          a instanceof esm.ConfigurationError, b instanceof cjs.ClientCredentialsError,
          a instanceof cjs.TokenEndpointError, a.name, a.code, b.name, b.code,
        ]));
      });`;
    expect(JSON.parse(node(['-e', script]))).toEqual([true, true, true, true, false, 'ConfigurationError', 'ERR_CONFIGURATION', 'ConfigurationError', 'ERR_CONFIGURATION']);
  });

  test('the redis subpath loads without ioredis or redis being required at import', () => {
    const out = node(['-e', 'require("axios-client-credentials/redis"); require("axios-client-credentials"); console.log(Object.keys(require.cache).filter((k) => /node_modules\\/(ioredis|redis|@redis)\\//.test(k)).length)']);
    expect(out.trim()).toBe('0');
  });

  test('a consumer file type-checks as ESM and CJS, with clientCredentials on the axios config and no casts', () => {
    expect(() => execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(__dirname, 'fixtures/consumer/tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  test('npm pack ships only dist, README, LICENSE and package.json', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[];
    const stray = pack!.files.map((f) => f.path).filter((p) => !/^(dist\/(cjs|esm)\/.+\.(js|d\.ts|json)|README\.md|LICENSE|package\.json)$/.test(p));
    expect(stray).toEqual([]);
  });
});
