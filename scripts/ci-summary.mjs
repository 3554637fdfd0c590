// The last line of .ci/run: "N passed, N failed[, N skipped]" from the vitest JSON reports of every test command.
// Honest about what never ran: a test file that failed to load counts as one failure, a test that did not run
// because a hook of its file failed counts as failed (vitest reports it as skipped), a run whose global setup
// failed (a report with no tests, marked unsuccessful) counts as one failure, and a command that wrote no
// report at all counts as one failure.
// Usage: node scripts/ci-summary.mjs <reports dir> <expected number of reports>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Counts for one vitest JSON report. */
export function countReport(r) {
  let passed = 0,
    failed = 0,
    skipped = 0;
  for (const file of r.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) {
      // The file failed without a failing test: it did not load, or a hook failed and its tests never ran.
      const notRun = tests.filter((t) => t.status !== 'passed').length;
      failed += Math.max(1, notRun);
      passed += tests.filter((t) => t.status === 'passed').length;
      continue;
    }
    for (const t of tests) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') failed++;
      else skipped++; // skipped, pending or todo on purpose
    }
  }
  // A failing global setup: no test files at all, and the run unsuccessful.
  if (!(r.testResults ?? []).length && r.success === false) failed++;
  return { passed, failed, skipped };
}

export function summarize(reports, expected) {
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const r of reports) {
    const c = countReport(r);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  // A command that wrote no report failed before running anything.
  if (reports.length < expected) total.failed += expected - reports.length;
  return total;
}

export const summaryLine = (t) => `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, expected] = process.argv.slice(2);
  const reports = [];
  for (const f of readdirSync(dir)) {
    try {
      reports.push(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    } catch {
      // an unreadable report counts as missing
    }
  }
  console.log(summaryLine(summarize(reports, Number(expected))));
}
