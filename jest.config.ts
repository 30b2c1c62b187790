import type { Config } from 'jest';

const moduleNameMapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };

const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper,
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
};

/**
 * Two projects: the newest axios, and the oldest release this library supports
 * (the peer dependency floor, 1.8.2, installed as `axios-floor`), for every
 * suite that exercises axios itself. Process-spawning suites run once.
 */
const config: Config = {
  testTimeout: 20_000,
  projects: [
    { ...base, displayName: 'axios-latest' },
    {
      ...base,
      displayName: 'axios-1.8.2',
      moduleNameMapper: { '^axios$': '<rootDir>/node_modules/axios-floor/dist/node/axios.cjs', ...moduleNameMapper },
      testPathIgnorePatterns: ['/node_modules/', 'demo\\.test', 'examples\\.test', 'fleet\\.test', 'package\\.test', 'recipes\\.test', 'redis-store\\.test'],
    },
  ],
};

export default config;
