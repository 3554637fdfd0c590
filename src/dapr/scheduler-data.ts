// The scheduler's data (its embedded etcd: jobs, and actor and workflow reminders) and what an upgrade does to it.
// Checked against dapr/dapr and the published charts (github dapr/helm-charts):
// - Every chart from 1.14 gives the dapr-scheduler-server StatefulSet a volumeClaimTemplate dapr-scheduler-data-dir
//   (unless dapr_scheduler.cluster.inMemoryStorage: an emptyDir in memory), so its claims are
//   dapr-scheduler-data-dir-dapr-scheduler-server-<ordinal>, of StorageClass dapr_scheduler.cluster.storageClassName
//   (the cluster's default when empty). Deleting the StatefulSet keeps them (the chart sets no
//   persistentVolumeClaimRetentionPolicy), and the recreated StatefulSet's pods mount them again by name: a
//   recreation with the same replicas keeps the data. 1.15+ keeps its data dir once its marker file
//   (dapr-scheduler-existing-cluster) is there; 1.14 simply restarts etcd from it.
// - 1.15 moved etcd to <data dir>/dapr-0.1 and starts it empty (pkg/scheduler/server/internal/etcd): the 1.14 data
//   stays on the claim but is never read again.
// - 1.14 sizes its etcd cluster from global.ha.enabled (1 or 3 members in --initial-cluster). Changing it keeps
//   pod 0's data dir, whose etcd ignores the new member list: 1 → 3 leaves pod 0 alone in its old one-member cluster
//   (pods 1 and 2 form another), 3 → 1 leaves pod 0 in a three-member cluster without quorum.
// - Anti-affinity: preferred (weight 100, topologyKey zone; global.ha.topologyKey from 1.17), or required from 1.18
//   with global.ha.podAntiAffinityPolicy=requiredDuringSchedulingIgnoredDuringExecution (placement and scheduler).
import semver from 'semver';
import type { K8sObject, PersistentVolumeClaim, StorageClass, Workload } from '../cluster/k8s-types.js';
import { schedulerDataLost } from './release-notes.js';
import { boundClaims } from './statefulsets.js';
import type { StatefulSetRecreation } from './statefulsets.js';

export const SCHEDULER_STATEFULSET = 'dapr-scheduler-server';
export const SCHEDULER_CLAIM_TEMPLATE = 'dapr-scheduler-data-dir';
/** The chart value naming the StorageClass of the scheduler's claims (empty: the cluster's default). */
export const SCHEDULER_STORAGE_CLASS_VALUE = 'dapr_scheduler.cluster.storageClassName';

export const VOLUME_SNAPSHOTS = 'volumesnapshots.snapshot.storage.k8s.io';
export const VOLUME_SNAPSHOT_CLASSES = 'volumesnapshotclasses.snapshot.storage.k8s.io';
/** The annotation the snapshot-controller reads to pick a class for a VolumeSnapshot that names none. */
export const DEFAULT_SNAPSHOT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
const DEFAULT_STORAGE_CLASS_ANNOTATIONS = [
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
];
export const RUN_ID_LABEL = 'daprup.io/run-id';

export interface VolumeSnapshotClass extends K8sObject {
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

export interface VolumeSnapshot extends K8sObject {
  spec: { volumeSnapshotClassName?: string; source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string } };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string; time?: string };
  };
}

/** What the upgrade would lose of the scheduler's data, and why. */
export interface SchedulerDataRisk {
  lost: string;
  why: string;
  /** The data lives in memory (dapr_scheduler.cluster.inMemoryStorage): no claim holds it, no snapshot can keep it. */
  inMemory?: boolean;
}

/** What decides whether a hop loses scheduler data: the versions and the scheduler StatefulSet before and after. */
export interface SchedulerHop {
  from: string;
  to: string;
  namespace: string;
  /** The live control plane (discovery's read). */
  live: readonly Workload[];
  /** What the upgrade applies (`helm upgrade --dry-run=server`). */
  rendered: readonly Workload[];
  /** The StatefulSets the recreate-statefulsets step deletes before the upgrade. */
  recreations: readonly StatefulSetRecreation[];
}

/** The pod-spec fields these checks read beyond k8s-types' PodSpec. */
interface SchedulingSpec {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: {
    nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] } };
    podAntiAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: AffinityTerm[];
      preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; podAffinityTerm: AffinityTerm }[];
    };
  };
  volumes?: { name: string; emptyDir?: { medium?: string } }[];
}
interface AffinityTerm {
  topologyKey: string;
}
interface NodeSelectorTerm {
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface Node extends K8sObject {
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

const schedulingOf = (w: Workload) => w.spec.template.spec as unknown as SchedulingSpec;
const retentionOf = (w: Workload) =>
  (w.spec as { persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string } }).persistentVolumeClaimRetentionPolicy;

/** The scheduler StatefulSet among workloads (in the release namespace). */
export const schedulerStatefulSet = (workloads: readonly Workload[], namespace: string): Workload | undefined =>
  workloads.find(
    (w) => w.kind === 'StatefulSet' && w.metadata.name === SCHEDULER_STATEFULSET && (w.metadata.namespace ?? namespace) === namespace,
  );

const hasDataClaim = (w: Workload) => !!w.spec.volumeClaimTemplates?.some((t) => t.metadata.name === SCHEDULER_CLAIM_TEMPLATE);
const replicasOf = (w: Workload) => w.spec.replicas ?? 1;
const imageOf = (w: Workload) =>
  (w.spec.template.spec.containers.find((c) => c.name === SCHEDULER_STATEFULSET) ?? w.spec.template.spec.containers[0])?.image;
const below115 = (v: string) => {
  const c = semver.coerce(v);
  return !!c && semver.lt(c, '1.15.0');
};

/** What the scheduler holds, by the version that wrote it (1.15 made it the default store of actor reminders). */
export function schedulerData(from: string): string {
  return below115(from)
    ? 'jobs (and the actor and workflow reminders kept there with the SchedulerReminders preview feature)'
    : 'jobs, actor reminders and workflow reminders';
}

/**
 * Whether the hop loses what the scheduler holds, and why: the version rules (release-notes.ts, 1.14 → 1.15), a
 * scheduler HA change within 1.14 (etcd membership), a recreated StatefulSet that drops or deletes its claims, or
 * an in-memory scheduler whose pods are replaced. A recreation alone keeps the data: its pods reuse the claims.
 */
export function schedulerDataAtRisk(h: SchedulerHop): SchedulerDataRisk | undefined {
  const live = schedulerStatefulSet(h.live, h.namespace);
  if (!live) return undefined; // nothing runs, nothing to lose (a first install, or a scheduler removed earlier)
  const target = schedulerStatefulSet(h.rendered, h.namespace);
  const [before, after] = [replicasOf(live), target ? replicasOf(target) : 0];
  const why: string[] = [];
  const byVersion = schedulerDataLost({
    from: h.from,
    to: h.to,
    haBefore: before > 1,
    haAfter: target ? after > 1 : before > 1,
    schedulerDisabled: before === 0 || !target || after === 0,
  });
  if (byVersion) {
    why.push(
      below115(h.from) && !below115(h.to)
        ? `the ${h.to} scheduler starts etcd afresh in <data dir>/dapr-0.1 and never reads the ${h.from} data`
        : `the release notes of ${h.from} → ${h.to} say it is lost`,
    );
  }
  if (below115(h.from) && below115(h.to) && target && before > 0 && after > 0 && before !== after) {
    why.push(
      before < after
        ? `its etcd grows from ${before} to ${after} members, but pod 0 keeps its old one-member cluster and the new pods form another`
        : `its etcd shrinks from ${before} to ${after} member${after === 1 ? '' : 's'}, and pod 0 keeps waiting for the removed members (no quorum)`,
    );
  }
  const recreation = h.recreations.find((r) => r.name === SCHEDULER_STATEFULSET);
  if (recreation && hasDataClaim(live)) {
    if (retentionOf(live)?.whenDeleted === 'Delete')
      why.push('deleting the StatefulSet deletes its claims (persistentVolumeClaimRetentionPolicy.whenDeleted: Delete)');
    else if (target && !hasDataClaim(target))
      why.push(
        `the recreated StatefulSet keeps its data in memory (dapr_scheduler.cluster.inMemoryStorage) and no longer mounts the claims`,
      );
  }
  const inMemory = !hasDataClaim(live) && !!schedulingOf(live).volumes?.some((v) => v.name === SCHEDULER_CLAIM_TEMPLATE && v.emptyDir);
  if (inMemory && target && (recreation || imageOf(live) !== imageOf(target)))
    why.push('it keeps its data in memory (dapr_scheduler.cluster.inMemoryStorage), and the upgrade replaces its pods');
  if (!why.length) return undefined;
  return { lost: byVersion ?? schedulerData(h.from), why: why.join('; '), ...(inMemory ? { inMemory } : {}) };
}

/** Why a recreated scheduler StatefulSet keeps its data (for the plan), when it is recreated at all. */
export function recreationKeepsData(h: SchedulerHop): string | undefined {
  if (!h.recreations.some((r) => r.name === SCHEDULER_STATEFULSET)) return undefined;
  return `${SCHEDULER_STATEFULSET} is recreated, but deleting a StatefulSet keeps its claims and the new pods mount ${SCHEDULER_CLAIM_TEMPLATE}-${SCHEDULER_STATEFULSET}-<ordinal> again: the data stays.`;
}

/** The scheduler's claims that hold data: every `dapr-scheduler-data-dir-dapr-scheduler-server-<n>` in the namespace. */
export function schedulerClaims(claims: readonly PersistentVolumeClaim[], namespace: string): PersistentVolumeClaim[] {
  return boundClaims(claims, SCHEDULER_CLAIM_TEMPLATE, SCHEDULER_STATEFULSET, namespace);
}

const dnsPart = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** The end of every snapshot name of one run's hop: `-before-<target>-<run id>` (DNS-1123). */
export const snapshotSuffix = (target: string, runId: string) => `-before-${dnsPart(target)}-${dnsPart(runId)}`;

/**
 * `<claim>-before-<target>-<run id>`: a DNS-1123 subdomain of at most 253 characters that a resumed run finds again
 * (the claim part is shortened, never the suffix that names the run).
 */
export function snapshotName(claim: string, target: string, runId: string): string {
  const suffix = snapshotSuffix(target, runId);
  return `${claim.slice(0, Math.max(1, 253 - suffix.length)).replace(/[-.]+$/, '')}${suffix}`;
}

/** A snapshot.storage.k8s.io/v1 VolumeSnapshot of one claim. */
export function volumeSnapshot(o: { name: string; namespace: string; claim: string; className: string; runId: string }): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'daprup', [RUN_ID_LABEL]: o.runId },
    },
    spec: { volumeSnapshotClassName: o.className, source: { persistentVolumeClaimName: o.claim } },
  };
}

const isDefaultStorageClass = (s: K8sObject) => DEFAULT_STORAGE_CLASS_ANNOTATIONS.some((a) => s.metadata.annotations?.[a] === 'true');
const isDefaultSnapshotClass = (c: VolumeSnapshotClass) => c.metadata.annotations?.[DEFAULT_SNAPSHOT_CLASS_ANNOTATION] === 'true';

/** The CSI driver that provisions a claim: its StorageClass's provisioner (undefined when unknown). */
export function claimDriver(claim: PersistentVolumeClaim, storageClasses: readonly StorageClass[] | undefined): string | undefined {
  const cls = claim.spec.storageClassName
    ? storageClasses?.find((s) => s.metadata.name === claim.spec.storageClassName)
    : storageClasses?.find(isDefaultStorageClass);
  return cls?.provisioner;
}

export interface SnapshotClassChoice {
  class?: VolumeSnapshotClass;
  /** Which class and why, or why none fits. */
  why: string;
}

/**
 * The VolumeSnapshotClass for a claim. The class's driver must be the claim's (the CSI driver that cuts the snapshot
 * is the class's): among those, the default one, else the only one, else the first by name. With the driver
 * unknown: the default class, else the only one.
 */
export function chooseSnapshotClass(classes: readonly VolumeSnapshotClass[], driver: string | undefined): SnapshotClassChoice {
  const byName = [...classes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const pick = (c: VolumeSnapshotClass, why: string): SnapshotClassChoice => ({ class: c, why: `${c.metadata.name}, ${why}` });
  if (!byName.length) return { why: 'no VolumeSnapshotClass exists' };
  if (driver) {
    const matching = byName.filter((c) => c.driver === driver);
    const [first] = matching;
    const [byDefault] = matching.filter(isDefaultSnapshotClass);
    if (byDefault) return pick(byDefault, `the default VolumeSnapshotClass for driver ${driver}`);
    if (first && matching.length === 1) return pick(first, `the only VolumeSnapshotClass for driver ${driver}`);
    if (first) return pick(first, `the first of ${matching.length} VolumeSnapshotClasses for driver ${driver} (none is marked default)`);
    return {
      why: `no VolumeSnapshotClass has driver ${driver} (there ${byName.length === 1 ? 'is' : 'are'} ${byName.map((c) => `${c.metadata.name}: ${c.driver}`).join(', ')})`,
    };
  }
  const defaults = byName.filter(isDefaultSnapshotClass);
  const [only] = byName;
  if (defaults[0] && defaults.length === 1) return pick(defaults[0], "the default VolumeSnapshotClass (the claim's driver is unknown)");
  if (only && byName.length === 1) return pick(only, "the only VolumeSnapshotClass (the claim's driver is unknown)");
  return { why: `the claim's driver is unknown and none of ${byName.length} VolumeSnapshotClasses is the one default` };
}

/** A refusal or a warning of the hop's storage and node checks. */
export interface HopFinding {
  severity: 'refuse' | 'warn';
  message: string;
  hint?: string;
}

/**
 * The claims the upgrade creates for the scheduler: every ordinal below the rendered replicas without a claim yet
 * (a first scheduler from 1.14, 1.15's 1 → 3 replicas, HA turned on in 1.14). Without the claim list: the ordinals
 * beyond the live replicas.
 */
export function newSchedulerClaims(
  h: Pick<SchedulerHop, 'live' | 'rendered' | 'namespace'>,
  claims?: readonly PersistentVolumeClaim[],
): string[] {
  const target = schedulerStatefulSet(h.rendered, h.namespace);
  if (!target || !hasDataClaim(target)) return [];
  const live = schedulerStatefulSet(h.live, h.namespace);
  const existing = claims ? new Set(schedulerClaims(claims, h.namespace).map((c) => c.metadata.name)) : undefined;
  const names: string[] = [];
  for (let i = 0; i < replicasOf(target); i++) {
    const name = `${SCHEDULER_CLAIM_TEMPLATE}-${SCHEDULER_STATEFULSET}-${i}`;
    if (existing ? !existing.has(name) : !live || !hasDataClaim(live) || i >= replicasOf(live)) names.push(name);
  }
  return names;
}

/** New scheduler claims need a StorageClass: the one dapr_scheduler.cluster.storageClassName names, or a default one. */
export function storageClassFinding(
  h: Pick<SchedulerHop, 'live' | 'rendered' | 'namespace'>,
  claims: readonly PersistentVolumeClaim[] | undefined,
  storageClasses: readonly StorageClass[] | undefined,
): HopFinding | undefined {
  const names = newSchedulerClaims(h, claims);
  if (!names.length) return undefined;
  const what = `The upgrade creates the scheduler claim${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
  if (!storageClasses)
    return {
      severity: 'warn',
      message: `${what}; the StorageClasses could not be read, so whether they can be provisioned is not checked.`,
    };
  const template = schedulerStatefulSet(h.rendered, h.namespace)?.spec.volumeClaimTemplates?.find(
    (t) => t.metadata.name === SCHEDULER_CLAIM_TEMPLATE,
  );
  const named = template?.spec.storageClassName;
  const known = storageClasses.map((s) => s.metadata.name).join(', ') || 'none';
  if (named) {
    if (storageClasses.some((s) => s.metadata.name === named)) return undefined;
    return {
      severity: 'refuse',
      message: `${what} of StorageClass ${named} (${SCHEDULER_STORAGE_CLASS_VALUE}), which does not exist: they would stay Pending and the scheduler would never start.`,
      hint: `Create StorageClass ${named}, or pass --set ${SCHEDULER_STORAGE_CLASS_VALUE}=<class> naming one that exists (${known}).`,
    };
  }
  if (storageClasses.some(isDefaultStorageClass)) return undefined;
  return {
    severity: 'refuse',
    message: `${what}, but the cluster has no default StorageClass and ${SCHEDULER_STORAGE_CLASS_VALUE} is not set: they would stay Pending and the scheduler would never start.`,
    hint: `Pass --set ${SCHEDULER_STORAGE_CLASS_VALUE}=<class> (StorageClasses: ${known}), or mark one default: kubectl patch storageclass <class> -p '{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}'.`,
  };
}

const tolerates = (tolerations: readonly Toleration[], taint: { key: string; value?: string; effect: string }) =>
  tolerations.some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.operator === 'Exists' ? !t.key || t.key === taint.key : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
  );

function matchesExpression(labels: Record<string, string>, e: { key: string; operator: string; values?: string[] }): boolean {
  const v = labels[e.key];
  switch (e.operator) {
    case 'In':
      return v !== undefined && (e.values ?? []).includes(v);
    case 'NotIn':
      return v === undefined || !(e.values ?? []).includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
      return v !== undefined && Number(v) > Number(e.values?.[0]);
    case 'Lt':
      return v !== undefined && Number(v) < Number(e.values?.[0]);
    default:
      return false;
  }
}

/** Whether a pod of this spec may be scheduled on the node: Ready, schedulable, taints tolerated, node selection met. */
export function nodeFits(node: Node, spec: SchedulingSpec): boolean {
  const labels = node.metadata.labels ?? {};
  if (!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return false;
  if (node.spec?.unschedulable) return false;
  const blocking = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (!blocking.every((t) => tolerates(spec.tolerations ?? [], t))) return false;
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return !terms?.length || terms.some((t) => (t.matchExpressions ?? []).every((e) => matchesExpression(labels, e)));
}

/**
 * How many replicas required anti-affinity lets the nodes hold: one per value of the topology key among the nodes
 * that fit. A fitting node without the label takes any number (the scheduler's filter only counts labelled domains).
 */
export function antiAffinitySlots(nodes: readonly Node[], topologyKey: string): number {
  if (nodes.some((n) => n.metadata.labels?.[topologyKey] === undefined)) return Number.POSITIVE_INFINITY;
  return new Set(nodes.map((n) => n.metadata.labels![topologyKey])).size;
}

/** Rendered workloads that run several replicas apart from each other (pod anti-affinity). */
export function spreadWorkloads(rendered: readonly Workload[]): Workload[] {
  return rendered.filter((w) => replicasOf(w) > 1 && !!schedulingOf(w).affinity?.podAntiAffinity);
}

/**
 * Whether the nodes can hold each spread workload's replicas: required anti-affinity with fewer domains than
 * replicas leaves pods Pending (refused); preferred anti-affinity with fewer fitting nodes than replicas stacks
 * them on one node (warned).
 */
export function nodeFindings(rendered: readonly Workload[], nodes: readonly Node[]): HopFinding[] {
  const findings: HopFinding[] = [];
  const sharing: string[] = [];
  for (const w of spreadWorkloads(rendered)) {
    const spec = schedulingOf(w);
    const fit = nodes.filter((n) => nodeFits(n, spec));
    const replicas = replicasOf(w);
    const required = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
    if (required) {
      const slots = antiAffinitySlots(fit, required.topologyKey);
      if (slots >= replicas) continue;
      findings.push({
        severity: 'refuse',
        message: `${w.metadata.name} needs ${replicas} replicas on different ${required.topologyKey} values (required pod anti-affinity), but the ${fit.length} node${fit.length === 1 ? '' : 's'} it may run on offer ${slots}: ${replicas - slots} would stay Pending and the upgrade would time out.`,
        hint: `Add schedulable nodes${required.topologyKey === 'kubernetes.io/hostname' ? '' : ` in more ${required.topologyKey} domains`}, or let replicas share one (--set global.ha.podAntiAffinityPolicy=preferredDuringSchedulingIgnoredDuringExecution).`,
      });
    } else if (fit.length === 0) {
      findings.push({
        severity: 'refuse',
        message: `No node can run ${w.metadata.name} (none is Ready, schedulable, untainted for it and matching its node selection): its pods would stay Pending.`,
        hint: 'kubectl get nodes shows their state; fix the nodes or the chart values global.nodeSelector / global.tolerations.',
      });
    } else if (fit.length < replicas) {
      sharing.push(`${w.metadata.name} (${replicas} replicas, ${fit.length} node${fit.length === 1 ? '' : 's'})`);
    }
  }
  if (sharing.length) {
    findings.push({
      severity: 'warn',
      message: `Fewer schedulable nodes than replicas: ${sharing.join(', ')}. Their anti-affinity is only preferred, so replicas share a node and losing it stops several at once.`,
    });
  }
  return findings;
}
