// Types of scripts/ci-summary.mjs for the tests that import it.
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
export function countReport(report: unknown): Counts;
export function summarize(reports: readonly unknown[], expected: number): Counts;
export function summaryLine(counts: Counts): string;
