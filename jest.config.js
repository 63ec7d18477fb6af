// @ts-check
/**
 * Two projects: fast unit/controller specs next to the code, and e2e specs under test/
 * that run the real app against a redis-server and the fauxqs emulator started by the
 * global setup (test/support/global-setup.ts). swc transpiles; `tsc --noEmit` type-checks.
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];

const moduleNameMapper = { '^@order-pipeline/(.*)$': '<rootDir>/libs/$1/src' };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/scripts'],
      testMatch: ['**/*.spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper: { ...moduleNameMapper, '^(\\.{1,2}/.*)\\.ts$': '$1' },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: __dirname,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper: { ...moduleNameMapper, '^(\\.{1,2}/.*)\\.ts$': '$1' },
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-timeout.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
