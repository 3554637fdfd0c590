// `daprup check`: read the cluster once (discovery, plus one kubectl call for disruption budgets, Components,
// Configurations and namespaces, plus the release's computed values and the chart index), then judge it with
// the pure checks in src/dapr/checks/. Read-only.
import { chartRef, type Helm } from '../cluster/helm.js';
import type { Tools } from '../cluster/tools.js';
import { checksFailed, runChecks, summarize, type CheckSummary } from '../dapr/checks/index.js';
import type { CheckInput, CheckResult, SupportedMinors } from '../dapr/checks/types.js';
import { readCheckObjects } from '../dapr/check-objects.js';
import { fallbackSupportedMinors, supportedMinorsFrom } from '../dapr/checks/versions.js';
import { inspectCluster, type DiscoveryOptions, type ReleaseFacts } from '../dapr/discovery.js';

export type { CheckObjects } from '../dapr/check-objects.js';

export interface CheckOptions extends DiscoveryOptions {
  /** Chart reference whose repository index lists the supported minors (default dapr/dapr). */
  chart: string;
  certWarnDays: number;
  strict: boolean;
  now?: Date;
}

/** The three newest minors in the local index of the chart's repository, else the built-in list. */
export async function supportedMinors(helm: Helm, chart: string): Promise<SupportedMinors> {
  // Only a repository has an index to search (an OCI registry, a URL or a directory does not).
  if (chartRef(chart).kind === 'repo') {
    const versions = await helm.searchVersions(chart).catch(() => []);
    const found = supportedMinorsFrom(
      versions.map((v) => v.version),
      `chart repository index of ${chart}`,
    );
    if (found) return found;
  }
  return fallbackSupportedMinors();
}

export async function gatherCheckInput(tools: Tools, o: CheckOptions): Promise<CheckInput> {
  const facts = await inspectCluster(tools, { release: o.release, namespace: o.namespace, withCheckObjects: true });
  const [values, objects, supported] = await Promise.all([
    tools.helm.computedValues(facts.release.name, facts.release.namespace).catch(() => undefined),
    facts.checkObjects ?? readCheckObjects(tools.kubectl),
    supportedMinors(tools.helm, o.chart),
  ]);
  return { ...facts, ...objects, values, supported, certWarnDays: o.certWarnDays, now: o.now };
}

export interface CheckReport {
  release: ReleaseFacts;
  supportedMinors: SupportedMinors;
  strict: boolean;
  /** True when a check failed (or, with --strict, warned): the command exits 1. */
  failed: boolean;
  summary: CheckSummary;
  checks: CheckResult[];
}

export async function checkCluster(tools: Tools, o: CheckOptions): Promise<CheckReport> {
  const input = await gatherCheckInput(tools, o);
  const checks = runChecks(input);
  return {
    release: input.release,
    supportedMinors: input.supported,
    strict: o.strict,
    failed: checksFailed(checks, o.strict),
    summary: summarize(checks),
    checks,
  };
}
