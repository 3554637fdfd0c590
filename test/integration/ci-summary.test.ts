// The last line of .ci/run (scripts/ci-summary.mjs) over real vitest reports of deliberately broken suites: a file
// that does not load, a failing beforeAll, a failing global setup and a command that wrote no report are failures,
// never "skipped" and never nothing.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/tools.js';

import { countReport, summarize, summaryLine } from '../../scripts/ci-summary.mjs';

const vitest = join(REPO_ROOT, 'node_modules', '.bin', 'vitest');

/** Runs vitest on `files` in a scratch directory and returns its JSON report. */
async function report(files: Record<string, string>, config: Record<string, unknown> = {}): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-ci-summary-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const out = join(dir, 'report.json');
  await writeFile(
    join(dir, 'vitest.config.mjs'),
    `export default ${JSON.stringify({ test: { include: ['*.test.ts'], reporters: [['json', { outputFile: out }]], ...config } })};`,
  );
  await new Promise<void>((resolve) =>
    execFile(
      vitest,
      ['run', '--root', dir],
      { env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, DAPRUP_TEST_REPORT: '' } },
      () => resolve(),
    ),
  );
  return JSON.parse(await readFile(out, 'utf8'));
}

const OK = `import { it, expect } from 'vitest';\nit('passes', () => expect(1).toBe(1));\nit.skip('skipped on purpose', () => {});\n`;

describe('the CI summary line', () => {
  it('counts a file that does not load and a failing beforeAll as failures, not skips', async () => {
    const r = await report({
      'ok.test.ts': OK,
      'hook.test.ts': `import { beforeAll, it, expect } from 'vitest';\nbeforeAll(() => { throw new Error('hook broke'); });\nit('a', () => expect(1).toBe(1));\nit('b', () => expect(1).toBe(1));\n`,
      'load.test.ts': `import { nothing } from './does-not-exist.js';\nimport { it } from 'vitest';\nit('never', () => nothing());\n`,
    });
    // What vitest itself says: no failed test, three "pending".
    expect(r).toMatchObject({ numFailedTests: 0, numPendingTests: 3 });
    expect(countReport(r)).toEqual({ passed: 1, failed: 3, skipped: 1 });
  }, 60_000);

  it('counts a failing global setup and a missing report as failures', async () => {
    const r = await report(
      { 'ok.test.ts': OK, 'setup.mjs': `export default async () => { throw new Error('global setup broke'); };` },
      { globalSetup: ['setup.mjs'] },
    );
    expect(r).toMatchObject({ numTotalTests: 0, success: false });
    expect(summaryLine(summarize([r], 2))).toBe('0 passed, 2 failed');
  }, 60_000);

  it('adds up healthy reports as before', async () => {
    const r = await report({ 'ok.test.ts': OK });
    expect(summaryLine(summarize([r, r], 2))).toBe('2 passed, 0 failed, 2 skipped');
  }, 60_000);
});
