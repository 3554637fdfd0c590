// What `daprup check` judges and what it reports. Checks are pure functions of objects read beforehand
// (src/check.ts reads them); nothing here talks to the cluster.
import type { Values } from '../../cluster/helm.js';
import type { PersistentVolumeClaim, StorageClass } from '../../cluster/k8s-types.js';
import type { ClusterFacts } from '../discovery.js';

export type CheckSeverity = 'ok' | 'warning' | 'failure' | 'info';
export type CheckGroup = 'control-plane' | 'sidecars' | 'security' | 'observability' | 'versions';

export const CHECK_GROUPS: readonly { id: CheckGroup; title: string }[] = [
  { id: 'control-plane', title: 'Control plane' },
  { id: 'sidecars', title: 'Sidecars' },
  { id: 'security', title: 'Security' },
  { id: 'observability', title: 'Observability' },
  { id: 'versions', title: 'Versions' },
];

export interface CheckResult {
  /** Stable, kebab-case: scripts may match on it. */
  id: string;
  group: CheckGroup;
  severity: CheckSeverity;
  /** What was found, in one sentence (or a few names). */
  finding: string;
  /** Why it matters (empty for ok). */
  why: string;
  /** The exact Helm value, annotation or command that fixes it (empty for ok). */
  fix: string;
  /** The offending objects (`namespace/name`), at most MAX_LISTED of them; `count` is the real number. */
  affected?: { count: number; names: string[] };
}

export const MAX_LISTED = 10;

// The objects the checks read beyond discovery (their reader, check-objects.ts, sits below discovery).
import type { DaprComponent, DaprConfiguration, Namespace, PodDisruptionBudget } from '../check-objects.js';
export type { ComponentMetadataItem, DaprComponent, DaprConfiguration, Namespace, PodDisruptionBudget } from '../check-objects.js';

/** Which minors Dapr supports now, and where that list came from. */
export interface SupportedMinors {
  /** Newest first, e.g. ['1.18', '1.17', '1.16']. */
  minors: string[];
  /** `repository <chart>` when read from a chart repository index, else `built-in list (<date>)`. */
  source: string;
}

/** Everything the checks read: discovery's facts plus the few objects `check` reads on top. */
export interface CheckInput
  extends Pick<
    ClusterFacts,
    'release' | 'workloads' | 'controlPlaneWorkloads' | 'pods' | 'controlPlane' | 'haEnabled' | 'trustBundle' | 'mtlsEnabled'
  > {
  jobs?: ClusterFacts['jobs'];
  sharedReleases?: ClusterFacts['sharedReleases'];
  /** `helm get values --all`: user values over the installed chart's defaults (undefined when unreadable). */
  values?: Values;
  pdbs: PodDisruptionBudget[];
  components: DaprComponent[];
  configurations: DaprConfiguration[];
  namespaces: Namespace[];
  /** Bound claims and StorageClasses (absent: not read, judged from the StatefulSet template alone). */
  claims?: PersistentVolumeClaim[];
  storageClasses?: StorageClass[];
  supported: SupportedMinors;
  /** Kinds that could not be read (RBAC, missing CRD): their checks are reported as info. */
  unreadable?: string[];
  certWarnDays: number;
  now?: Date;
  /** The version fix commands upgrade to (`daprup upgrade --to V ...`): the installed one, or a plan's target. */
  upgradeTo?: string;
}

export function affected(names: readonly string[]): { count: number; names: string[] } {
  return { count: names.length, names: names.slice(0, MAX_LISTED) };
}

/** `a, b, c and 4 more` for a finding sentence. */
export function listed(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** `daprup upgrade --to V [args]`: applies a Helm value while keeping every other value. */
export const daprupUpgrade = (input: Pick<CheckInput, 'release' | 'upgradeTo'>, ...args: string[]) =>
  ['daprup upgrade --to', input.upgradeTo ?? input.release.version, ...args].join(' ');

export const ok = (id: string, group: CheckGroup, finding: string): CheckResult => ({
  id,
  group,
  severity: 'ok',
  finding,
  why: '',
  fix: '',
});
