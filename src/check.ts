// `daprup check`: read the cluster once (discovery, plus one kubectl call for disruption budgets, Components,
// Configurations and namespaces, plus the release's computed values and the chart index), then judge it with
// the pure checks in src/dapr/checks/. Read-only.
import type { Helm } from './cluster/helm.js';
import { checksFailed, runChecks, summarize, type CheckSummary } from './dapr/checks/index.js';
import type { CheckInput, CheckResult, SupportedMinors } from './dapr/checks/types.js';
import { readCheckObjects } from './dapr/check-objects.js';
import { fallbackSupportedMinors, supportedMinorsFrom } from './dapr/checks/versions.js';
import { inspectCluster, type DiscoveryOptions, type ReleaseFacts, type Tools } from './dapr/discovery.js';

export type { CheckObjects } from './dapr/check-objects.js';

export interface CheckOptions extends DiscoveryOptions {
  /** Chart reference whose repository index lists the supported minors (default dapr/dapr). */
  chart: string;
  certWarnDays: number;
  strict: boolean;
  now?: Date;
}

const isRepoRef = (chart: string) => !chart.startsWith('oci://') && !chart.startsWith('.') && !chart.startsWith('/') && chart.split('/').length === 2;

/** The three newest minors in the local index of the chart's repository, else the built-in list. */
export async function supportedMinors(helm: Helm, chart: string): Promise<SupportedMinors> {
  if (isRepoRef(chart)) {
    const versions = await helm.searchVersions(chart).catch(() => []);
    const found = supportedMinorsFrom(versions.map((v) => v.version), `chart repository index of ${chart}`);
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

export async function runCheck(tools: Tools, o: CheckOptions): Promise<CheckReport> {
  const input = await gatherCheckInput(tools, o);
  const checks = runChecks(input);
  return { release: input.release, supportedMinors: input.supported, strict: o.strict, failed: checksFailed(checks, o.strict), summary: summarize(checks), checks };
}
