// Mutation testing of the security-critical modules: `npm run test:mutation`.
// Not part of `npm test` (it takes minutes); it runs on a 2-core machine in well under 20 minutes.
// Reports: reports/mutation/mutation.html, and a clear-text summary on stdout.
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
    'src/origin.ts',
    'src/redirect-guard.ts',
    'src/www-authenticate.ts',
    'src/token-response.ts',
    'src/client-auth.ts',
    'src/redact.ts',
    'src/token-codec.ts',
    'src/retry.ts',
  ],
  // The sandbox needs the sources and the tests only.
  ignorePatterns: ['dist', 'coverage', 'reports', 'bench', 'demo', 'examples', '.bench-*'],
  reporters: ['clear-text', 'html', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
