// A stand-in for the Argo Rollouts controller, for what a Dapr upgrade does to a Rollout: restart its pods so they
// get the new sidecar, and wait until that is done. Started by the sandbox only with argoRollouts: true; it installs
// the Rollout CRD itself, so without the option nothing Argo-related exists in the cluster.
//
// What it models, from argoproj/argo-rollouts:
// - manifests/crds/rollout-crd.yaml: rollouts.argoproj.io, v1alpha1, kind Rollout, plural rollouts, short name ro,
//   the status and scale subresources and the printer columns. The schema here is a minimal structural one that
//   keeps unknown fields; the real one validates every field.
// - pkg/kubectl-argo-rollouts/cmd/restart/restart.go: `kubectl argo rollouts restart` sends the merge patch
//   {"spec":{"restartAt":"<now, UTC, RFC 3339 in whole seconds>"}} (restartPatch below).
// - rollout/sync.go createDesiredReplicaSet: one ReplicaSet per pod template, named <rollout>-<hash>, controller
//   owner reference to the Rollout, the rollouts-pod-template-hash label added to its labels, selector and template,
//   annotations rollout.argoproj.io/revision and desired-replicas; the Rollout carries the revision annotation too.
//   utils/hash/hash.go: the hash is fnv32a over the template's JSON (+ collisionCount), safe-encoded; the JSON here is
//   the apiserver's, not Go's typed marshalling, so the value differs from the real one but never changes by itself.
// - rollout/restart.go RolloutPodRestarter.Reconcile, run before any ReplicaSet scaling (rollout/canary.go):
//   once now > spec.restartAt and status.restartedAt != spec.restartAt (utils/replicaset NeedsRestart), it lists the
//   pods matching spec.selector that belong to the Rollout's ReplicaSets and *evicts* (Eviction API, so PDBs apply;
//   429 -> try later) pods created strictly before restartAt, at most available - (max(spec.replicas, sum of
//   ReplicaSet spec.replicas) - max(maxUnavailable, 1)) at a time: with all pods available that is maxUnavailable
//   (utils/replicaset MaxUnavailable; default 25%, rounded down, and at least 1) pods, then nothing until the
//   replacements (made by kube-controller-manager's ReplicaSet controller, injected by injector.ts) are available.
//   A pod being deleted still counts as needing a restart. Only when no pod older than restartAt is left does it set
//   status.restartedAt = spec.restartAt (rollout/context.go SetRestartedAt). A canary reconcile that evicted pods
//   ends there without writing status (rollout/canary.go), so restartedAt is written on a later pass.
// - rollout/sync.go calculateBaseStatus, canary.go syncRolloutStatusCanary, persistRolloutStatus: status.replicas,
//   readyReplicas, availableReplicas (sums over the Rollout's ReplicaSets' status), updatedReplicas (the current
//   ReplicaSet's status.replicas), currentPodHash, stableRS (set at the initial deploy, and when the new ReplicaSet
//   is fully available), HPAReplicas, selector, observedGeneration = metadata.generation *as a string*, and
//   phase/message from utils/rollout/rolloututil.go CalculateRolloutPhase (rolloutPhase below).
// - The real controller reacts to Rollout, ReplicaSet and Pod events and re-queues a restart every 30 s; this one
//   polls every intervalMs instead.
// Not modelled: canary steps, traffic routing, analysis, experiments, blue-green services and promotion (a
// blue-green Rollout's active selector simply follows stableRS), pause conditions, progress deadlines, conditions,
// workloadRef (such Rollouts are ignored), adoption of orphan ReplicaSets, revisionHistoryLimit. A pod template
// change scales the new ReplicaSet to spec.replicas at once and the old ones to 0 once it is fully available.
import { KubeApiError, type KubeApi } from './kube-api.js';
import { waitUntil } from './wait.js';

export const ROLLOUT_CRD = 'rollouts.argoproj.io';
export const ROLLOUTS_API = '/apis/argoproj.io/v1alpha1';
/** pkg/apis/rollouts/v1alpha1/types.go DefaultRolloutUniqueLabelKey. */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';
const REVISION_ANNOTATION = 'rollout.argoproj.io/revision';
const DESIRED_REPLICAS_ANNOTATION = 'rollout.argoproj.io/desired-replicas';
const CRD_PATH = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${ROLLOUT_CRD}`;

export interface ArgoRolloutsOptions {
  api: KubeApi;
  /** How often Rollouts (and their ReplicaSets) are reconciled. Default 250 ms. */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface ArgoRollouts {
  stop(): Promise<void>;
}

type IntOrString = number | string;
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

export interface RolloutStatus {
  observedGeneration?: string;
  phase?: string;
  message?: string;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  HPAReplicas?: number;
  selector?: string;
  currentPodHash?: string;
  stableRS?: string;
  restartedAt?: string;
  collisionCount?: number;
  pauseConditions?: unknown[];
  blueGreen?: { activeSelector?: string };
}

export interface Rollout {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector?: LabelSelector;
    template?: PodTemplate;
    workloadRef?: unknown;
    minReadySeconds?: number;
    paused?: boolean;
    restartAt?: string;
    strategy?: {
      canary?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString; trafficRouting?: unknown };
      blueGreen?: { maxUnavailable?: IntOrString };
    };
  };
  status?: RolloutStatus;
}

export interface ReplicaSet {
  metadata: ObjectMeta;
  spec: { replicas?: number };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

export interface Pod {
  metadata: ObjectMeta;
  status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** What `kubectl argo rollouts restart` sends (as a merge patch): restartAt = now, UTC, RFC 3339 in whole seconds. */
export function restartPatch(now: Date = new Date()): { spec: { restartAt: string } } {
  return { spec: { restartAt: rfc3339Seconds(now) } };
}

/** Go's time.RFC3339 of a UTC time, as metav1.Time marshals it. */
function rfc3339Seconds(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Whether a restart asked for with spec.restartAt is finished, by the rule `kubectl argo rollouts status` applies
 * (utils/rollout GetRolloutPhase): the controller has observed the current generation (status.observedGeneration,
 * a string, equals metadata.generation) and says Healthy, which CalculateRolloutPhase only does once
 * status.restartedAt equals spec.restartAt and every replica is updated and available.
 */
export function restartFinished(ro: Rollout): boolean {
  const status = ro.status ?? {};
  return (
    status.observedGeneration === String(ro.metadata.generation) &&
    status.phase === 'Healthy' &&
    (ro.spec.restartAt === undefined || sameTime(ro.spec.restartAt, status.restartedAt))
  );
}

/** utils/rollout CalculateRolloutPhase, without conditions (InvalidSpec aside), analysis and traffic details. */
export function rolloutPhase(spec: Rollout['spec'], status: RolloutStatus): { phase: string; message: string } {
  const invalid = invalidSpec(spec);
  if (invalid) return { phase: 'Degraded', message: `InvalidSpec: ${invalid}` };
  if (spec.paused) return { phase: 'Paused', message: 'manually paused' };
  if (status.pauseConditions?.length) return { phase: 'Paused', message: 'paused' };
  if (spec.restartAt !== undefined && !sameTime(spec.restartAt, status.restartedAt)) {
    return { phase: 'Progressing', message: 'rollout is restarting' };
  }
  const updated = status.updatedReplicas ?? 0;
  if (updated < (spec.replicas ?? 1)) return { phase: 'Progressing', message: 'more replicas need to be updated' };
  if ((status.availableReplicas ?? 0) < updated) return { phase: 'Progressing', message: 'updated replicas are still becoming available' };
  const promoted = Boolean(status.stableRS) && status.stableRS === status.currentPodHash;
  if (spec.strategy?.blueGreen) {
    const active = status.blueGreen?.activeSelector;
    if (!active || active !== status.currentPodHash) return { phase: 'Progressing', message: 'active service cutover pending' };
    if (!promoted) return { phase: 'Progressing', message: 'waiting for post-promotion verification to complete' };
  } else if (spec.strategy?.canary) {
    if (!spec.strategy.canary.trafficRouting && (status.replicas ?? 0) > updated) {
      return { phase: 'Progressing', message: 'old replicas are pending termination' };
    }
    if (!promoted) return { phase: 'Progressing', message: 'waiting for all steps to complete' };
  }
  return { phase: 'Healthy', message: '' };
}

/** The few checks of pkg/apis/rollouts/validation ValidateRolloutSpec that decide whether this model can act. */
function invalidSpec(spec: Rollout['spec']): string | undefined {
  const selector = spec.selector;
  if (!selector) return "Rollout has missing field '.spec.selector'";
  if (Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0) {
    return 'spec.selector: empty selector is invalid for deployment';
  }
  if (!spec.template) return "Rollout has missing field '.spec.template'";
  const { canary, blueGreen } = spec.strategy ?? {};
  if (canary && blueGreen) return 'Multiple Strategies can not be listed';
  if (!canary && !blueGreen) return "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'";
  return undefined;
}

/** utils/replicaset NeedsRestart. */
export function needsRestart(ro: Rollout, now: Date): boolean {
  const restartAt = ro.spec.restartAt;
  if (restartAt === undefined) return false;
  if (sameTime(restartAt, ro.status?.restartedAt)) return false;
  return now.getTime() > Date.parse(restartAt);
}

/** utils/replicaset MaxUnavailable (with the legacy intstr parsing it uses: any string is a percentage). */
export function maxUnavailable(ro: Rollout): number {
  const replicas = ro.spec.replicas ?? 1;
  if (replicas === 0) return 0;
  const { canary, blueGreen } = ro.spec.strategy ?? {};
  const unavailableSpec = blueGreen?.maxUnavailable ?? canary?.maxUnavailable ?? '25';
  let unavailable: number;
  if (canary) {
    const surge = scaled(canary.maxSurge ?? '25', replicas, true);
    const fencepost = scaled(unavailableSpec, replicas, false);
    if (surge === undefined || fencepost === undefined)
      unavailable = 0; // resolveFenceposts error: ignored
    else unavailable = surge === 0 && fencepost === 0 ? 1 : fencepost;
  } else {
    unavailable = scaled(unavailableSpec, replicas, false) ?? 0;
  }
  return Math.min(unavailable, replicas);
}

/** intstr.GetValueFromIntOrPercent: a number as is; a string, '%' or not, as a percentage of total. */
function scaled(value: IntOrString, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  const percent = Number.parseInt(value.replaceAll('%', ''), 10);
  if (!/^[+-]?\d+$/.test(value.replaceAll('%', '')) || Number.isNaN(percent)) return undefined;
  const exact = (percent * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** k8s.io/kubernetes pkg/api/v1/pod IsPodAvailable. */
function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return false;
  if (minReadySeconds === 0) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < now.getTime();
}

/**
 * One pass of rollout/restart.go RolloutPodRestarter.Reconcile over the Rollout's pods: which pods to evict now,
 * and how many are older than spec.restartAt (restartedAt may be set when that minus the evicted ones is 0).
 */
export function planRestart(
  ro: Rollout,
  pods: readonly Pod[],
  replicaSets: readonly ReplicaSet[],
  now: Date,
): { evict: Pod[]; needRestart: number } {
  if (!needsRestart(ro, now)) return { evict: [], needRestart: 0 };
  const restartAt = Date.parse(ro.spec.restartAt!);
  const replicas = ro.spec.replicas ?? 1;
  const totalReplicas = replicaSets.reduce((n, rs) => n + (rs.spec.replicas ?? 1), 0);
  const available = pods.filter((p) => isPodAvailable(p, ro.spec.minReadySeconds ?? 0, now) && !p.metadata.deletionTimestamp).length;
  const concurrentRestart = Math.max(maxUnavailable(ro), 1);
  let canRestart = available - (Math.max(replicas, totalReplicas) - concurrentRestart);
  const evict: Pod[] = [];
  let needRestart = 0;
  for (const pod of pods) {
    if (Date.parse(pod.metadata.creationTimestamp ?? '') >= restartAt) continue;
    needRestart += 1;
    if (canRestart <= 0 || pod.metadata.deletionTimestamp) continue;
    evict.push(pod);
    canRestart -= 1;
  }
  return { evict, needRestart };
}

/** utils/hash ComputePodTemplateHash's shape: fnv32a of the template's JSON and collisionCount, safe-encoded. */
export function podTemplateHash(template: PodTemplate, collisionCount?: number): string {
  let bytes = Buffer.from(canonicalJson(template));
  if (collisionCount !== undefined) {
    const count = Buffer.alloc(8);
    count.writeUInt32LE(collisionCount >>> 0, 0);
    bytes = Buffer.concat([bytes, count]);
  }
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  // k8s.io/apimachinery/pkg/util/rand SafeEncodeString over the decimal digits.
  const alphanums = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(h)].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** metav1.FormatLabelSelector. */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function sameTime(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b);
}

export async function startArgoRollouts(opts: ArgoRolloutsOptions): Promise<ArgoRollouts> {
  const { api } = opts;
  const log = opts.log ?? (() => {});
  const intervalMs = opts.intervalMs ?? 250;
  await installCrd(api);
  const controller = new RolloutController(api, log);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick = controller
        .reconcileAll()
        .catch((err: unknown) => log(`argo-rollouts: ${String(err)}`)) // the apiserver may be down for a moment
        .finally(schedule);
    }, intervalMs);
    timer.unref(); // never keeps a test process alive on its own
  };
  schedule();
  log('argo-rollouts: controller running');
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await tick;
    },
  };
}

class RolloutController {
  readonly #api: KubeApi;
  readonly #log: (line: string) => void;
  readonly #ignored = new Set<string>();

  constructor(api: KubeApi, log: (line: string) => void) {
    this.#api = api;
    this.#log = log;
  }

  async reconcileAll(): Promise<void> {
    const rollouts = (await this.#api.get<{ items: Rollout[] }>(`${ROLLOUTS_API}/rollouts`)).items;
    const replicaSetsByNamespace = new Map<string, Promise<ReplicaSet[]>>();
    for (const ro of rollouts) {
      const ns = ro.metadata.namespace;
      if (!replicaSetsByNamespace.has(ns)) {
        replicaSetsByNamespace.set(
          ns,
          this.#api.get<{ items: ReplicaSet[] }>(`/apis/apps/v1/namespaces/${ns}/replicasets`).then((l) => l.items),
        );
      }
      const owned = (await replicaSetsByNamespace.get(ns)!).filter((rs) =>
        rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === ro.metadata.uid),
      );
      try {
        await this.#reconcile(ro, owned);
      } catch (err) {
        this.#log(`argo-rollouts ${ns}/${ro.metadata.name}: ${String(err)}`);
      }
    }
  }

  async #reconcile(ro: Rollout, owned: ReplicaSet[]): Promise<void> {
    const { namespace: ns, name } = ro.metadata;
    if (ro.metadata.deletionTimestamp) return;
    if (ro.spec.workloadRef) {
      if (!this.#ignored.has(ro.metadata.uid)) this.#log(`argo-rollouts ${ns}/${name}: workloadRef is not modelled; ignored`);
      this.#ignored.add(ro.metadata.uid);
      return;
    }
    const status: RolloutStatus = { ...ro.status };
    if (invalidSpec(ro.spec)) return this.#persistStatus(ro, status);

    const replicas = ro.spec.replicas ?? 1;
    const hash = podTemplateHash(ro.spec.template!, ro.status?.collisionCount);
    let newRS = owned.find((rs) => rs.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash);
    if (!newRS) {
      newRS = await this.#createReplicaSet(ro, hash, owned);
      owned = [...owned, newRS];
    }

    // rollout/canary.go and bluegreen.go: the pod restarter runs before any scaling.
    const now = new Date();
    if (needsRestart(ro, now)) {
      const pods = await this.#api.get<{ items: Pod[] }>(
        `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(formatLabelSelector(ro.spec.selector!))}`,
      );
      const uids = new Set(owned.map((rs) => rs.metadata.uid));
      const rolloutPods = pods.items.filter((p) => p.metadata.ownerReferences?.some((o) => uids.has(o.uid)));
      const plan = planRestart(ro, rolloutPods, owned, now);
      let restarted = 0;
      for (const pod of plan.evict) {
        if (await this.#evict(pod)) {
          restarted += 1;
          this.#log(`argo-rollouts ${ns}/${name}: evicted pod ${pod.metadata.name} (created before restartAt ${ro.spec.restartAt})`);
        }
      }
      if (plan.needRestart - restarted === 0) {
        // metav1.Time marshals whole seconds: a restartAt with a fraction never equals it, and the real controller
        // then keeps restarting (Progressing for ever). The CLI sends whole seconds.
        status.restartedAt = rfc3339Seconds(new Date(Date.parse(ro.spec.restartAt!)));
      }
      if (restarted > 0 && ro.spec.strategy?.canary) return; // canary.go: status waits for the next reconcile
      if (status.restartedAt !== ro.status?.restartedAt) {
        this.#log(`argo-rollouts ${ns}/${name}: all pods are current; restartedAt ${status.restartedAt}`);
      }
    }

    // The simple model of a template change: new ReplicaSet to spec.replicas, old ones to 0 once it is available.
    if (newRS.spec.replicas !== replicas) await this.#scale(newRS, replicas);
    const newAvailable = newRS.status?.availableReplicas ?? 0;
    const promoted = !status.stableRS || (newRS.spec.replicas === replicas && newAvailable >= replicas);
    if (promoted) {
      status.stableRS = hash;
      for (const rs of owned) if (rs !== newRS && (rs.spec.replicas ?? 1) !== 0) await this.#scale(rs, 0);
    }

    const sum = (f: (rs: ReplicaSet) => number | undefined): number => owned.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    status.currentPodHash = hash;
    status.replicas = sum((rs) => rs.status?.replicas);
    status.updatedReplicas = newRS.status?.replicas ?? 0;
    status.readyReplicas = sum((rs) => rs.status?.readyReplicas);
    status.availableReplicas = sum((rs) => rs.status?.availableReplicas);
    status.HPAReplicas = status.replicas;
    status.selector = formatLabelSelector(ro.spec.selector!);
    if (ro.spec.strategy?.blueGreen) status.blueGreen = { ...status.blueGreen, activeSelector: status.stableRS };
    await this.#persistStatus(ro, status);
  }

  /** rollout/sync.go createDesiredReplicaSet, created at full size (see the header). */
  async #createReplicaSet(ro: Rollout, hash: string, owned: ReplicaSet[]): Promise<ReplicaSet> {
    const { namespace: ns, name } = ro.metadata;
    const template = ro.spec.template!;
    const labels = { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = ro.spec.selector!;
    const revision = String(Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0))) + 1);
    const replicas = ro.spec.replicas ?? 1;
    const rs = await this.#api.request<ReplicaSet>('POST', `/apis/apps/v1/namespaces/${ns}/replicasets`, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${name}-${hash}`,
        namespace: ns,
        labels,
        annotations: { [REVISION_ANNOTATION]: revision, [DESIRED_REPLICAS_ANNOTATION]: String(replicas) },
        ownerReferences: [
          { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name, uid: ro.metadata.uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      spec: {
        replicas,
        minReadySeconds: ro.spec.minReadySeconds ?? 0,
        selector: { ...selector, matchLabels: { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash } },
        template: { ...template, metadata: { ...template.metadata, labels } },
      },
    });
    await this.#mergePatch(`${ROLLOUTS_API}/namespaces/${ns}/rollouts/${name}`, {
      metadata: { annotations: { [REVISION_ANNOTATION]: revision } },
    });
    this.#log(`argo-rollouts ${ns}/${name}: created ReplicaSet ${rs.metadata.name} (revision ${revision})`);
    return rs;
  }

  async #scale(rs: ReplicaSet, replicas: number): Promise<void> {
    const { namespace: ns, name } = rs.metadata;
    await this.#mergePatch(`/apis/apps/v1/namespaces/${ns}/replicasets/${name}`, {
      metadata: { annotations: { [DESIRED_REPLICAS_ANNOTATION]: String(replicas) } },
      spec: { replicas },
    });
    rs.spec.replicas = replicas;
    this.#log(`argo-rollouts: scaled ReplicaSet ${ns}/${name} to ${replicas}`);
  }

  /** The Eviction API, as the real restarter calls it; false when a PodDisruptionBudget says not now. */
  async #evict(pod: Pod): Promise<boolean> {
    const { namespace: ns, name } = pod.metadata;
    const res = await this.#api.raw('POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name, namespace: ns },
    });
    if (res.status === 429 || res.status === 404) return false; // PDB, or already gone: next pass decides
    if (res.status < 200 || res.status >= 300) throw new KubeApiError('POST', `pod ${ns}/${name} eviction`, res.status, res.body);
    return true;
  }

  /** persistRolloutStatus: observedGeneration (a string) and phase/message last, written only when changed. */
  async #persistStatus(ro: Rollout, status: RolloutStatus): Promise<void> {
    status.observedGeneration = String(ro.metadata.generation ?? 0);
    const { phase, message } = rolloutPhase(ro.spec, status);
    status.phase = phase;
    status.message = message;
    if (canonicalJson(status) === canonicalJson(ro.status ?? {})) return;
    const { namespace: ns, name } = ro.metadata;
    await this.#mergePatch(`${ROLLOUTS_API}/namespaces/${ns}/rollouts/${name}/status`, { status });
    if (phase !== ro.status?.phase) this.#log(`argo-rollouts ${ns}/${name}: ${phase}${message ? ` - ${message}` : ''}`);
  }

  async #mergePatch(path: string, body: unknown): Promise<void> {
    const res = await this.#api.raw('PATCH', path, body, 5_000, 'application/merge-patch+json');
    if (res.status < 200 || res.status >= 300) throw new KubeApiError('PATCH', path, res.status, res.body);
  }
}

/** Installs the Rollout CRD (minimal structural schema) and waits until the apiserver serves it. */
async function installCrd(api: KubeApi): Promise<void> {
  const column = (name: string, jsonPath: string, type: string, description: string) => ({ name, jsonPath, type, description });
  await api.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: ROLLOUT_CRD },
    spec: {
      group: 'argoproj.io',
      names: { kind: 'Rollout', listKind: 'RolloutList', plural: 'rollouts', shortNames: ['ro'], singular: 'rollout' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          additionalPrinterColumns: [
            column('Desired', '.spec.replicas', 'integer', 'Number of desired pods'),
            column('Current', '.status.replicas', 'integer', 'Total number of non-terminated pods targeted by this rollout'),
            column(
              'Up-to-date',
              '.status.updatedReplicas',
              'integer',
              'Total number of non-terminated pods targeted by this rollout that have the desired template spec',
            ),
            column(
              'Available',
              '.status.availableReplicas',
              'integer',
              'Total number of available pods (ready for at least minReadySeconds) targeted by this rollout',
            ),
            column('Age', '.metadata.creationTimestamp', 'date', 'Time since resource was created'),
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  type: 'object',
                  'x-kubernetes-preserve-unknown-fields': true,
                  properties: {
                    replicas: { type: 'integer', format: 'int32' },
                    restartAt: { type: 'string', format: 'date-time' },
                    paused: { type: 'boolean' },
                  },
                },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.HPAReplicas', labelSelectorPath: '.status.selector' },
          },
        },
      ],
    },
  });
  await waitUntil(
    async () => {
      const crd = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(CRD_PATH);
      const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      return Boolean(established) && (await api.raw('GET', `${ROLLOUTS_API}/rollouts?limit=1`)).status === 200;
    },
    30_000,
    `the ${ROLLOUT_CRD} CRD was never established`,
  );
}
