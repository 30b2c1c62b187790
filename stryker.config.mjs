// Mutation testing of the security-critical modules: `npm run test:mutation`.
//
// Not part of `npm test`. StrykerJS 10 needs Node.js 22.18 or later (`node scripts/runtime.mjs node 22.23.3`
// prints the path of one). It runs the unit tables and property tests of the mutated modules only
// (jest.mutation.config.cjs, which says why), with per-test coverage, so that a run takes minutes on
// a 2-core machine. Reports: reports/mutation/mutation.html and mutation.json (every mutant and its
// status: `Survived` and `NoCoverage` are the ones to read), and a summary table on stdout.
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
  // A mutant that loops forever (the scanner's loops have several) is stopped after 1.5 times its tests' time
  // in the dry run, plus the dry run's per-run overhead (about 5 s of jest start-up here), plus this margin; the
  // default 5 s margin came on top of that overhead: about a minute more over the forty-odd such mutants.
  timeoutMS: 2000,
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
  reporters: ['clear-text', 'html', 'json', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
