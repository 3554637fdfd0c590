// `daprup check`: read the cluster once (discovery, plus one kubectl call for disruption budgets, Components,
// Configurations and namespaces, plus the release's computed values and the chart index), then judge it with
// the pure checks in src/dapr/checks/. Read-only.
import type { Helm } from './cluster/helm.js';
import type { K8sObject, PersistentVolumeClaim, StorageClass } from './cluster/k8s-types.js';
import type { Kubectl } from './cluster/kubectl.js';
import { checksFailed, runChecks, summarize, type CheckSummary } from './dapr/checks/index.js';
import type { CheckInput, CheckResult, DaprComponent, DaprConfiguration, Namespace, PodDisruptionBudget, SupportedMinors } from './dapr/checks/types.js';
import { fallbackSupportedMinors, supportedMinorsFrom } from './dapr/checks/versions.js';
import { inspectCluster, type DiscoveryOptions, type ReleaseFacts, type Tools } from './dapr/discovery.js';

export interface CheckOptions extends DiscoveryOptions {
  /** Chart reference whose repository index lists the supported minors (default dapr/dapr). */
  chart: string;
  certWarnDays: number;
  strict: boolean;
  now?: Date;
}

/** The objects the checks read beyond what discovery already has. */
export interface CheckObjects {
  pdbs: PodDisruptionBudget[];
  components: DaprComponent[];
  configurations: DaprConfiguration[];
  namespaces: Namespace[];
  /** Bound claims (the scheduler's hold its data; their size is theirs, not the StatefulSet template's). */
  claims: PersistentVolumeClaim[];
  storageClasses: StorageClass[];
  unreadable: string[];
}

const EXTRA: readonly { key: keyof Omit<CheckObjects, 'unreadable'>; resource: string; kind: string; name: string }[] = [
  { key: 'pdbs', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', name: 'poddisruptionbudgets' },
  { key: 'components', resource: 'components.dapr.io', kind: 'Component', name: 'components' },
  { key: 'configurations', resource: 'configurations.dapr.io', kind: 'Configuration', name: 'configurations' },
  { key: 'namespaces', resource: 'namespaces', kind: 'Namespace', name: 'namespaces' },
  { key: 'claims', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', name: 'persistentvolumeclaims' },
  { key: 'storageClasses', resource: 'storageclasses', kind: 'StorageClass', name: 'storageclasses' },
];

/**
 * One `kubectl get poddisruptionbudgets,components.dapr.io,configurations.dapr.io,namespaces,persistentvolumeclaims,storageclasses -A`. When that fails
 * (a missing permission or CRD fails the whole call) each kind is read alone, so one gap does not hide the rest.
 */
export async function readCheckObjects(kubectl: Kubectl): Promise<CheckObjects> {
  const out: CheckObjects = { pdbs: [], components: [], configurations: [], namespaces: [], claims: [], storageClasses: [], unreadable: [] };
  const assign = (items: K8sObject[]) => {
    for (const e of EXTRA) (out[e.key] as K8sObject[]).push(...items.filter((i) => i.kind === e.kind));
  };
  try {
    assign(await kubectl.list<K8sObject>(EXTRA.map((e) => e.resource).join(','), { allNamespaces: true }));
  } catch {
    await Promise.all(EXTRA.map(async (e) => {
      try {
        assign(await kubectl.list<K8sObject>(e.resource, { allNamespaces: true }));
      } catch {
        out.unreadable.push(e.name);
      }
    }));
  }
  return out;
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
  const facts = await inspectCluster(tools, { release: o.release, namespace: o.namespace });
  const [values, objects, supported] = await Promise.all([
    tools.helm.computedValues(facts.release.name, facts.release.namespace).catch(() => undefined),
    readCheckObjects(tools.kubectl),
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
