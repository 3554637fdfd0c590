// `daprup check` as text: one section per group, a mark per check, and for everything that is not ok the
// reason and the fix on indented lines.
import type { CheckReport } from '../operations/check.js';
import { CHECK_GROUPS, type CheckResult, type CheckSeverity } from '../dapr/checks/types.js';

const CHECK_MARKS: Record<CheckSeverity, string> = { ok: '✔', warning: '⚠', failure: '✖', info: 'ℹ' };

export function renderCheckLines(results: readonly CheckResult[], indent = '  '): string[] {
  const out: string[] = [];
  for (const r of results) {
    out.push(`${indent}${CHECK_MARKS[r.severity]} ${r.finding}`);
    if (r.severity === 'ok') continue;
    if (r.why) out.push(`${indent}    why: ${r.why}`);
    if (r.fix) out.push(`${indent}    fix: ${r.fix}`);
  }
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderCheckReport(report: CheckReport): string {
  const r = report.release;
  const out = [`Dapr ${r.version}: release ${r.name} in ${r.namespace} (chart ${r.chartVersion}, revision ${r.revision})`];
  for (const g of CHECK_GROUPS) {
    const results = report.checks.filter((c) => c.group === g.id);
    if (!results.length) continue;
    out.push('', g.title, ...renderCheckLines(results));
  }
  const s = report.summary;
  out.push('', `${plural(s.failure, 'failure')}, ${plural(s.warning, 'warning')}, ${s.ok} ok, ${s.info} info.`);
  if (report.failed)
    out.push(s.failure ? 'Status: failed (exit 1).' : 'Status: failed: warnings count as failures with --strict (exit 1).');
  else out.push(s.warning ? 'Status: passed with warnings (--strict makes them fail).' : 'Status: passed.');
  return out.join('\n');
}
