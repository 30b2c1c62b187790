import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { build } from 'esbuild';

/** These tests use the built package (`npm test` builds it first), as users get it. */
const root = join(__dirname, '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the built package', () => {
  test('is importable as CommonJS and as ESM, with the same exports', () => {
    const cjs = node(['-e', 'console.log(Object.keys(require("axios-client-credentials")).sort().join(","))']).trim();
    const esm = node([
      '--input-type=module',
      '-e',
      'import * as m from "axios-client-credentials"; console.log(Object.keys(m).sort().join(","))',
    ]).trim();
    expect(cjs).toBe(esm);
    expect(cjs.split(',')).toEqual(
      expect.arrayContaining([
        'ClientCredentialsProvider',
        'attachAuth',
        'PermissionError',
        'AuthenticationError',
        'TokenEndpointError',
        'ConfigurationError',
        'DiscoveryError',
        'apitureIssuers',
      ]),
    );
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
    expect(JSON.parse(node(['-e', script]))).toEqual([
      true,
      true,
      true,
      true,
      false,
      'ConfigurationError',
      'ERR_CONFIGURATION',
      'ConfigurationError',
      'ERR_CONFIGURATION',
    ]);
  });

  test('the redis subpath loads without ioredis or redis being required at import', () => {
    const out = node([
      '-e',
      'require("axios-client-credentials/redis"); require("axios-client-credentials"); console.log(Object.keys(require.cache).filter((k) => /node_modules\\/(ioredis|redis|@redis)\\//.test(k)).length)',
    ]);
    expect(out.trim()).toBe('0');
  });

  test('the apiture subpath gives the same apitureIssuers as the main entry, as CommonJS and as ESM', () => {
    const script = `
      const cjs = require('axios-client-credentials/apiture');
      Promise.all([import('axios-client-credentials/apiture'), import('axios-client-credentials')]).then(([esm, main]) => {
        console.log(JSON.stringify({
          cjsKeys: Object.keys(cjs), esmKeys: Object.keys(esm),
          cjsSame: cjs.apitureIssuers === require('axios-client-credentials').apitureIssuers,
          esmSame: esm.apitureIssuers === main.apitureIssuers,
          issuers: esm.apitureIssuers, frozen: Object.isFrozen(cjs.apitureIssuers),
        }));
      });`;
    expect(JSON.parse(node(['-e', script]))).toEqual({
      cjsKeys: ['apitureIssuers'],
      esmKeys: ['apitureIssuers'],
      cjsSame: true,
      esmSame: true,
      issuers: {
        production: 'https://auth.apiture.com/oidc/',
        cat: 'https://cat-oidc.apiture-comm-preprod.com/oidc/',
        cat2: 'https://cat2-oidc.apiture-comm-preprod.com/oidc/',
      },
      frozen: true,
    });
  });

  test('a consumer file type-checks as ESM and CJS, with clientCredentials on the axios config and no casts', () => {
    expect(() =>
      execFileSync(
        process.execPath,
        [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(__dirname, 'fixtures/consumer/tsconfig.json')],
        { encoding: 'utf8', stdio: 'pipe' },
      ),
    ).not.toThrow();
  });

  let packList: string[] | undefined;
  /** The files `npm pack` would ship (listed once). */
  const packed = () => {
    if (!packList) {
      const [pack] = JSON.parse(
        execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
          cwd: root,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      ) as { files: { path: string }[] }[];
      packList = pack!.files.map((f) => f.path);
    }
    return packList;
  };

  test('npm pack ships only dist (with its source and declaration maps), src, README, CHANGELOG, LICENSE and package.json', () => {
    const stray = packed().filter(
      (p) =>
        !/^(dist\/(cjs|esm)\/.+\.(js|js\.map|d\.ts|d\.ts\.map|json)|src\/.+\.ts|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/.test(
          p,
        ),
    );
    expect(stray).toEqual([]);
  });

  test('every file the exports map and typesVersions point at ships in the package', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const targets = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : Object.values(value as Record<string, unknown>).flatMap(targets);
    const all = [
      ...Object.values(manifest.exports).flatMap(targets),
      ...Object.values(manifest.typesVersions).flatMap((map) => Object.values(map).flat()),
    ].map((target) => normalize(target));
    expect(Object.keys(manifest.exports)).toEqual(['.', './redis', './apiture', './package.json']);
    const files = new Set(packed());
    expect(all.filter((target) => !files.has(target))).toEqual([]);
  });

  test('every built file has a source map and a declaration map whose sources ship in the package', () => {
    const files = new Set(packed());
    const built = [...files].filter((p) => /^dist\/.+\.(js|d\.ts)$/.test(p));
    expect(built.length).toBeGreaterThan(20);
    const unresolved: string[] = [];
    for (const file of built) {
      const map = `${file}.map`;
      if (!files.has(map)) {
        unresolved.push(`${file}: no ${map}`);
        continue;
      }
      const { sources } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = normalize(join(dirname(map), source));
        if (!files.has(path)) unresolved.push(`${map}: ${source} (${path}) is not in the package`);
      }
      if (!readFileSync(join(root, file), 'utf8').includes(`sourceMappingURL=${map.split('/').pop()}`))
        unresolved.push(`${file}: no sourceMappingURL comment`);
    }
    expect(unresolved).toEqual([]);
  });

  test('the declarations leave out members marked @internal', () => {
    const withInternal = packed().filter(
      (p) => p.endsWith('.d.ts') && readFileSync(join(root, p), 'utf8').includes('@internal'),
    );
    expect(withInternal).toEqual([]);
  });

  test('each build folder repeats sideEffects: false, so a bundler sees it next to the files', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { sideEffects?: unknown };
    expect(manifest.sideEffects).toBe(false);
    for (const [dir, type] of [
      ['dist/esm', 'module'],
      ['dist/cjs', 'commonjs'],
    ] as const) {
      expect(JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))).toEqual({ type, sideEffects: false });
    }
  });

  test('a bundler keeps only the error classes for an import of PermissionError', async () => {
    const { result, inputs } = await bundled("import { PermissionError } from 'axios-client-credentials';");
    // index.js stays as the re-export module; token-provider, events (node:diagnostics_channel) and the rest go.
    expect(inputs.map((i) => i.replace(/^.*dist\/esm\//, '')).sort()).toEqual([
      'errors.js',
      'index.js',
      'util/redact.js',
    ]);
    expect(result.outputFiles[0]!.text).not.toContain('diagnostics_channel');
  });

  test('a bundler keeps only the issuers for an import of apitureIssuers from the apiture subpath', async () => {
    const { result, inputs } = await bundled("import { apitureIssuers } from 'axios-client-credentials/apiture';");
    expect(inputs.map((i) => i.replace(/^.*dist\/esm\//, '')).sort()).toEqual(['apiture.js', 'grant/issuers.js']);
    expect(result.outputFiles[0]!.text).not.toContain('diagnostics_channel');
  });

  test('the peer ranges accept exactly the ioredis and redis majors the test projects run', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    // Each major is installed either as the package itself or under an alias (`ioredis-6`: npm:ioredis@^6...).
    const testedMajors = (name: string) =>
      Object.keys(manifest.devDependencies)
        .filter((dep) => dep === name || dep.startsWith(`${name}-`))
        .filter((dep) => existsSync(join(root, 'node_modules', dep, 'package.json')))
        .map(
          (dep) =>
            JSON.parse(readFileSync(join(root, 'node_modules', dep, 'package.json'), 'utf8')) as {
              name: string;
              version: string;
            },
        )
        .filter((pkg) => pkg.name === name)
        .map((pkg) => Number(pkg.version.split('.')[0]))
        .sort((a, b) => a - b);
    expect(testedMajors('ioredis')).toEqual([5, 6]);
    expect(testedMajors('redis')).toEqual([4, 5, 6]);
    for (const name of ['ioredis', 'redis']) {
      expect(manifest.peerDependencies[name]).toBe(
        testedMajors(name)
          .map((major) => `^${major}.0.0`)
          .join(' || '),
      );
    }
    // ...and jest.config.ts runs the shared-store suites against each alias.
    const config = readFileSync(join(root, 'jest.config.ts'), 'utf8');
    for (const alias of ['ioredis-6', 'redis-5', 'redis-6']) expect(config).toContain(`'${alias}'`);
  });
});

describe("the test prerequisites (scripts/prerequisites.cjs, npm test's pretest and jest's globalSetup)", () => {
  const script = join(root, 'scripts/prerequisites.cjs');
  /** Runs node with a PATH on which no redis-server can be found (node itself is called by its path). */
  const withoutRedis = (args: string[]) => {
    const empty = mkdtempSync(join(tmpdir(), 'acc-no-redis-'));
    try {
      return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: empty } });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  };
  /** Calls the globalSetup with a jest globalConfig whose test path patterns select the files `selected` accepts. */
  const globalSetup = (selected: string) => [
    '-e',
    `require(${JSON.stringify(script)})({ rootDir: ${JSON.stringify(root)}, testPathPatterns: { isSet: () => true, toExecutor: () => ({ isMatch: (f) => ${selected} }) } }).then(() => console.log('ran'))`,
  ];

  test('stops npm test at once without redis-server, naming the command that installs it', () => {
    const result = withoutRedis([script]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('redis-server is not on the PATH');
    expect(result.stderr).toMatch(/apt-get install -y redis-server|brew install redis|apk add redis/);
  });

  test('lets a run whose suites do not start redis-server go on without it', () => {
    const result = withoutRedis(globalSetup("f.endsWith('grant.test.ts')"));
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('ran');
  });

  test('stops a run that selects a shared-store suite when redis-server is missing', () => {
    const result = withoutRedis(globalSetup("f.endsWith('redis-store.test.ts')"));
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('ran');
    expect(result.stderr).toContain('redis-server is not on the PATH');
  });

  test('passes where redis-server is installed', () => {
    expect(spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8' }).status).toBe(0);
  });
});

/** A minified ES module bundle (esbuild, axios external) of `importLine` and a use of what it imports, and the
 * modules of the package it kept. */
async function bundled(importLine: string) {
  const name = /import \{ (\w+) \}/.exec(importLine)![1]!;
  const result = await build({
    stdin: { contents: `${importLine}\nconsole.log(${name});\n`, resolveDir: root, sourcefile: 'entry.mjs' },
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    external: ['axios'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.outputs[Object.keys(result.metafile.outputs)[0]!]!.inputs).filter(
    (i) => i !== 'entry.mjs',
  );
  return { result, inputs };
}
