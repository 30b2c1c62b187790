// Mutation testing of the security-critical modules: `npm run test:mutation`.
//
// Not part of `npm test`. StrykerJS 10 needs Node.js 22 or later (`node scripts/runtime.mjs node 22`
// prints the path of one). It runs the unit tables and property tests of the mutated modules only
// (jest.mutation.config.cjs, which says why), with per-test coverage, so that a run takes minutes on
// a 2-core machine. Reports: reports/mutation/mutation.html, and a summary table on stdout.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'jest.mutation.config.cjs',
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  mutate: [
    'src/interceptors/origin.ts',
    'src/interceptors/redirect-guard.ts',
    'src/interceptors/www-authenticate.ts',
    'src/interceptors/challenge-scanner.ts',
    'src/grant/token-response.ts',
    'src/grant/client-auth.ts',
    'src/util/redact.ts',
    'src/provider/token-codec.ts',
    'src/grant/retry.ts',
  ],
  // The sandbox needs the sources, the tests and the configs only.
  ignorePatterns: ['dist', 'coverage', 'reports', 'bench', 'demo', 'examples', 'smoke', '.bench-*'],
  reporters: ['clear-text', 'html', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
