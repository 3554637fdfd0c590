import { defineConfig } from 'vitest/config';

// Three suites: unit (fake runner, fast), integration (real helm 3 and helm 4 against a loopback chart
// repository), e2e (real Kubernetes control plane from test/sandbox). Each is a vitest project.
// .ci/run sets DAPRUP_TEST_REPORT to collect a JSON report per test command, for its summary line.
const report = process.env.DAPRUP_TEST_REPORT;

export default defineConfig({
  test: {
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // One control plane is shared: scenarios run one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
