// The jest configuration of `npm run test:mutation` (stryker.config.mjs): one project (the newest
// axios, as the axios-latest project of jest.config.ts), limited to the fast unit and loopback
// suites that exercise the mutated modules, so that a run fits in 20 minutes on 2 cores. Suites
// that spawn processes or need Redis (fleet, demo, examples, package, recipes, redis-store) stay
// out. CommonJS, so that every test runner process StrykerJS starts reads it the same way.

const suites = [
  // Unit tables and property tests of the mutated modules: each imports its module alone, so it is
  // loaded only for the mutants of that module (jest --findRelatedTests).
  'origin',
  'redirect-guard',
  'www-authenticate*',
  'token-response*',
  'client-auth*',
  'redact*',
  'token-codec*',
  'retry-policy',
  // The two loopback suites that run the token request through them (grant: client auth, token
  // response, redaction; configuration: the option checks of the origin policy and the retry
  // policy). Every suite that imports the package's index is loaded for every mutant and its tests
  // run for every mutant they cover, so the slow loopback suites stay out: interceptors, retry and
  // store take 10 to 15 s each and would cost that for each mutant on the token path.
  'configuration',
  'grant',
];

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: suites.map((name) => `<rootDir>/__tests__/${name}.test.ts`),
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
  testTimeout: 20_000,
};
