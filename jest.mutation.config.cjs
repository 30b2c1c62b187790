// The jest configuration of `npm run test:mutation` (stryker.config.mjs): one project (the newest
// axios, as the axios-latest project of jest.config.ts) running the unit tables and property tests of
// the mutated modules. Each of these files imports its own module, not the package's index, so for
// a mutant jest loads only the files whose imports reach the mutated module (--findRelatedTests);
// the loopback suites import the index and would be loaded, and their covering tests run, for every
// mutant on the token path, which would take the run past 20 minutes on 2 cores. CommonJS, so that
// every test runner process StrykerJS starts reads it the same way.
//
// A unit file must not call the module it tests while jest collects its tests (at the top of the
// file or of a describe block, or to build a test.each table): code run then counts as "static" for
// StrykerJS, which then runs every test for each mutant in it. Build such values in beforeEach.

const suites = [
  'origin',
  'redirect-guard',
  'www-authenticate',
  'token-response',
  'client-auth',
  'redact',
  'token-codec',
  'retry-policy',
];

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: suites.map((name) => `<rootDir>/__tests__/${name}.test.ts`),
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts', '<rootDir>/jest.mutation.setup.cjs'],
  testTimeout: 20_000,
};
