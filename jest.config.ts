/**
 * Node 22.18+ loads this file itself (type stripping): it is written to be CommonJS once its types are
 * stripped, so Node neither re-parses it as ESM nor warns. Older Node (20) loads it through esbuild-register.
 *
 * @jest-config-loader esbuild-register
 */
import type { Config } from 'jest';

const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };

const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper,
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
} satisfies Config;

/**
 * The shared-store suite once more for each major of the optional peers that the package's peer ranges
 * accept beyond the two the other projects use (ioredis 5, node-redis 4), each installed under an alias
 * (`ioredis-6`, `redis-5`, `redis-6`) and mapped in place of the bare name.
 */
const peerProject = (displayName: string, peers: Record<string, string>) => ({
  ...base,
  displayName,
  testMatch: ['**/redis-store.test.ts', '**/redis-store-*.test.ts'],
  moduleNameMapper: {
    ...Object.fromEntries(
      Object.entries(peers).map(([name, alias]) => [`^${name}$`, `<rootDir>/node_modules/${alias}`]),
    ),
    ...moduleNameMapper,
  },
});

/**
 * The newest axios, and the oldest release this library supports (the peer dependency floor, 1.8.2,
 * installed as `axios-floor`), for every suite that exercises axios itself; process-spawning suites run
 * once. Then the shared-store suite against the other majors of ioredis and node-redis.
 */
/**
 * The suites that spawn many processes (the fleet of 8, the demo, the examples). `.ci/run` sets
 * ACC_SKIP_PROCESS_SUITES on the Node lines after the first, where another run of them adds load to a 2-core
 * runner, not coverage.
 */
const PROCESS_SUITES = [
  '/node_modules/',
  'demo\\.test',
  'examples\\.test',
  'examples-client-auth\\.test',
  'fleet\\.test',
  'dpop-fleet\\.test',
];

const config: Config = {
  testTimeout: 20_000,
  globalSetup: '<rootDir>/scripts/prerequisites.cjs',
  projects: [
    {
      ...base,
      displayName: 'axios-latest',
      ...(process.env.ACC_SKIP_PROCESS_SUITES ? { testPathIgnorePatterns: PROCESS_SUITES } : {}),
    },
    {
      ...base,
      displayName: 'axios-1.8.2',
      moduleNameMapper: { '^axios$': '<rootDir>/node_modules/axios-floor/dist/node/axios.cjs', ...moduleNameMapper },
      testPathIgnorePatterns: [
        '/node_modules/',
        'demo\\.test',
        'examples\\.test',
        // The examples and the harness's own tests run child processes with the newest axios: nothing of axios 1.8.2.
        'examples-client-auth\\.test',
        'oidc-harness\\.test',
        'dpop-harness\\.test',
        'fleet\\.test',
        'dpop-fleet\\.test',
        'package\\.test',
        'readme\\.test',
        'recipes\\.test',
        'redis-store\\.test',
      ],
    },
    peerProject('ioredis-6 redis-6', { ioredis: 'ioredis-6', redis: 'redis-6' }),
    peerProject('redis-5', { redis: 'redis-5' }),
  ],
};

module.exports = config;
