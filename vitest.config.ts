import { configDefaults, defineConfig } from 'vitest/config';

// Three suites test daprup: unit (fake runner, fast), integration (real helm 3 and helm 4 against a loopback chart
// repository), e2e (real Kubernetes control plane from test/sandbox). Two more test what those stand on, and are
// reported apart: fixtures (the fixture charts against real helm, the sandbox's injector and Argo Rollouts
// stand-ins against the real components' rules) and fixtures-e2e (the sandbox control plane against a real
// cluster's behaviour). Each is a vitest project.
// .ci/run sets DAPRUP_TEST_REPORT to collect a JSON report per test command, for its summary line.
const report = process.env.DAPRUP_TEST_REPORT;

const FIXTURE_TESTS = [
  'test/integration/fixture-chart.test.ts',
  'test/integration/dapr-shared-chart.test.ts',
  'test/unit/injector.test.ts',
  'test/unit/rollouts-standin.test.ts',
];
const SANDBOX_TESTS = ['test/e2e/sandbox.test.ts'];

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...FIXTURE_TESTS],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...FIXTURE_TESTS],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...SANDBOX_TESTS],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // One control plane is shared: scenarios run one file at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'fixtures',
          include: FIXTURE_TESTS,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'fixtures-e2e',
          include: SANDBOX_TESTS,
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
