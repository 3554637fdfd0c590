// `daprup check`: Dapr's production guidelines as small pure checks over objects read beforehand, grouped as
// control plane, sidecars, security, observability and versions.
import { controlPlaneChecks } from './control-plane.js';
import { observabilityChecks } from './observability.js';
import { securityChecks } from './security.js';
import { sidecarChecks } from './sidecars.js';
import type { CheckInput, CheckResult, CheckSeverity } from './types.js';
import { versionChecks } from './versions.js';

export * from './types.js';

export function runChecks(input: CheckInput): CheckResult[] {
  const results = [
    ...controlPlaneChecks(input),
    ...sidecarChecks(input),
    ...securityChecks(input),
    ...observabilityChecks(input),
    ...versionChecks(input),
  ];
  if (input.unreadable?.length) {
    results.push({
      id: 'unreadable',
      group: 'control-plane',
      severity: 'info',
      finding: `Could not read ${input.unreadable.join(', ')}: the checks that need them were skipped.`,
      why: 'Your Kubernetes user may lack list permission, or a Dapr CRD is not installed.',
      fix: `kubectl auth can-i list <kind> --all-namespaces shows which rights are missing.`,
    });
  }
  return results;
}

export type CheckSummary = Record<CheckSeverity, number>;

export function summarize(results: readonly CheckResult[]): CheckSummary {
  const s: CheckSummary = { ok: 0, warning: 0, failure: 0, info: 0 };
  for (const r of results) s[r.severity]++;
  return s;
}

/** Failures fail the check; with --strict, warnings do too. */
export const checksFailed = (results: readonly CheckResult[], strict = false) =>
  results.some((r) => r.severity === 'failure' || (strict && r.severity === 'warning'));
