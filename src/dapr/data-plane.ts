// The Dapr data plane: every daprd in the cluster, grouped by what would replace it. A workload belongs to it when
// its pod template asks the injector for a sidecar (dapr.io/enabled, with the injector's own truthy rule) or when
// any of its pods runs a daprd container, whatever the annotations say. Pods no workload claims (bare Pods,
// running Jobs, bare ReplicaSets, pods of other controllers) are grouped by their owner, so nothing that runs
// daprd is left out of plan, status and verify.
import {
  podReady,
  selectorMatches,
  workloadKey,
  type BatchObject,
  type Container,
  type LabelSelector,
  type Pod,
  type PodTemplate,
  type Workload,
} from '../cluster/k8s-types.js';
import {
  ANNOTATION_APP_ID,
  ANNOTATION_ENABLED,
  ANNOTATION_SIDECAR_IMAGE,
  imageTag,
  runtimeVersionOfTag,
  SIDECAR_CONTAINER,
} from './chart.js';

/**
 * How a group of daprd pods gets the new sidecar:
 * - rollout-restart: `kubectl rollout restart` (Deployments, RollingUpdate StatefulSets and DaemonSets);
 * - argo-restart: `spec.restartAt` of an Argo Rollout, as `kubectl argo rollouts restart` sets it;
 * - delete-pods: pods deleted one at a time, the owner recreates each (OnDelete StatefulSets and DaemonSets,
 *   bare ReplicaSets) — only with --recreate-pods;
 * - paused: a paused Deployment or Rollout, which rejects a restart until resumed;
 * - replace-pod: a bare Pod, recreated from its last-applied manifest — only with --recreate-bare-pods;
 * - job: a running Job, whose pods keep their daprd until they finish; cronjob: the next runs get the new one;
 * - template: daprd written into the pod template itself (no injector): its image decides;
 * - owner: pods of another controller (reported with its kind).
 */
export type RollMethod =
  | 'rollout-restart'
  | 'argo-restart'
  | 'delete-pods'
  | 'paused'
  | 'replace-pod'
  | 'job'
  | 'cronjob'
  | 'template'
  | 'owner';

export interface DataPlanePod {
  name: string;
  uid?: string;
  /** daprd's runtime version, undefined when the pod runs none. */
  version?: string;
  ready: boolean;
  /** Its kubectl.kubernetes.io/last-applied-configuration: a bare Pod can be recreated from it. */
  manifest?: string;
  createdAt?: string;
}

export interface DataPlaneWorkload {
  key: string;
  kind: string;
  namespace: string;
  name: string;
  appId?: string;
  /** dapr.io/sidecar-image: the workload pins its own daprd image. */
  pinnedImage?: string;
  pods: number;
  podsWithSidecar: number;
  /** Distinct daprd runtime versions across its running pods. */
  sidecarVersions: string[];
  /** kubectl.kubernetes.io/restartedAt of the pod template (spec.restartAt of a Rollout): changes with every restart. */
  restartedAt?: string;
  method: RollMethod;
  /** The controller's kind, for pods of another owner; the CronJob of a Job. */
  owner?: string;
  /** Label selector (matchLabels) of its pods, for waits on workloads rolled by deleting pods. */
  selector?: string;
  /** The workload's uid: pods it owns carry it (directly, or through a ReplicaSet for Rollouts). */
  uid?: string;
  /** daprd image of a pod template that carries daprd itself, and its --sentry-address and --enable-mtls. */
  templateImage?: string;
  sentryAddress?: string;
  mtls?: boolean;
  /** The Helm release that made the workload (meta.helm.sh/release-name), to tell Dapr Shared apart. */
  helmRelease?: string;
  /** Pods running daprd as a native sidecar (an init container with restartPolicy Always). */
  nativeSidecars: number;
  podList: DataPlanePod[];
}

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const HELM_RELEASE_NAME = 'meta.helm.sh/release-name';

/** Dapr's utils.IsTruthy (pkg/injector: dapr.io/enabled): y, yes, true, t, on, 1, in any case. */
export function isTruthy(value: string | undefined): boolean {
  return ['y', 'yes', 'true', 't', 'on', '1'].includes((value ?? '').trim().toLowerCase());
}

const templateOf = (w: Workload | BatchObject): PodTemplate | undefined =>
  'template' in w.spec && w.spec.template ? w.spec.template : (w as BatchObject).spec.jobTemplate?.spec.template;

/** The pod template asks the injector for a sidecar. */
export const isDaprEnabled = (w: Workload | BatchObject) => isTruthy(templateOf(w)?.metadata?.annotations?.[ANNOTATION_ENABLED]);

/** daprd as a regular container, or as a native sidecar (an init container that keeps running). */
export function sidecarContainer(pod: Pod): Container | undefined {
  return (
    pod.spec.containers.find((c) => c.name === SIDECAR_CONTAINER) ??
    pod.spec.initContainers?.find((c) => c.name === SIDECAR_CONTAINER && c.restartPolicy === 'Always')
  );
}

const sidecarVersion = (pod: Pod): string | undefined => {
  const c = sidecarContainer(pod);
  return c ? (runtimeVersionOfTag(imageTag(c.image)) ?? 'unknown') : undefined;
};

function matchLabelsSelector(selector: LabelSelector | undefined): string | undefined {
  const labels = Object.entries(selector?.matchLabels ?? {});
  return labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(',') : undefined;
}

/** The value of a daprd flag (`--flag value` or `--flag=value`); `true` for a bare boolean flag. */
export function daprdFlag(c: Container | undefined, flag: string): string | undefined {
  const args = [...(c?.command ?? []), ...(c?.args ?? [])];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.replace(/^--?/, '--');
    if (a === `--${flag}`) return args[i + 1] && !args[i + 1]!.startsWith('-') ? args[i + 1] : 'true';
    if (a.startsWith(`--${flag}=`)) return a.slice(flag.length + 3);
  }
  return undefined;
}

function methodOf(w: Workload): RollMethod {
  if (w.spec.paused) return 'paused';
  if (w.kind === 'Rollout') return 'argo-restart';
  if ((w.kind === 'StatefulSet' || w.kind === 'DaemonSet') && w.spec.updateStrategy?.type === 'OnDelete') return 'delete-pods';
  return 'rollout-restart';
}

function summarise(
  base: Omit<DataPlaneWorkload, 'pods' | 'podsWithSidecar' | 'sidecarVersions' | 'nativeSidecars' | 'podList'>,
  pods: readonly Pod[],
): DataPlaneWorkload {
  const podList = pods.map((p) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    version: sidecarVersion(p),
    ready: podReady(p),
    manifest: p.metadata.annotations?.[LAST_APPLIED],
    createdAt: p.metadata.creationTimestamp,
  }));
  const versions = new Set(podList.flatMap((p) => (p.version ? [p.version] : [])));
  return {
    ...base,
    pods: pods.length,
    podsWithSidecar: podList.filter((p) => p.version).length,
    sidecarVersions: [...versions].sort(),
    nativeSidecars: pods.filter((p) => !p.spec.containers.some((c) => c.name === SIDECAR_CONTAINER) && sidecarContainer(p)).length,
    podList,
  };
}

export interface DataPlaneInput {
  /** Deployments, StatefulSets, DaemonSets and Rollouts (the control plane left out). */
  workloads: readonly Workload[];
  /** Jobs and CronJobs. */
  jobs?: readonly BatchObject[];
  pods: readonly Pod[];
}

export function discoverDataPlane(input: DataPlaneInput): DataPlaneWorkload[] {
  // Index pods by namespace once: selector matching stays linear per namespace even for thousands of pods.
  const podsByNamespace = new Map<string, Pod[]>();
  for (const p of input.pods) {
    if (p.metadata.deletionTimestamp) continue;
    const ns = p.metadata.namespace ?? '';
    const list = podsByNamespace.get(ns) ?? [];
    if (!list.length) podsByNamespace.set(ns, list);
    list.push(p);
  }
  const claimed = new Set<Pod>();
  const found: DataPlaneWorkload[] = [];
  for (const w of input.workloads) {
    const owned = (podsByNamespace.get(w.metadata.namespace ?? '') ?? []).filter((p) =>
      selectorMatches(w.spec.selector, p.metadata.labels),
    );
    for (const p of owned) claimed.add(p);
    const template = w.spec.template;
    const inTemplate = template.spec.containers.find((c) => c.name === SIDECAR_CONTAINER);
    if (!isDaprEnabled(w) && !inTemplate && !owned.some(sidecarContainer)) continue;
    const annotations = template.metadata?.annotations ?? {};
    found.push(
      summarise(
        {
          key: workloadKey(w),
          kind: w.kind,
          namespace: w.metadata.namespace ?? '',
          name: w.metadata.name,
          appId: annotations[ANNOTATION_APP_ID],
          pinnedImage: annotations[ANNOTATION_SIDECAR_IMAGE],
          restartedAt: w.kind === 'Rollout' ? w.spec.restartAt : annotations[RESTARTED_AT],
          method: inTemplate ? 'template' : methodOf(w),
          selector: matchLabelsSelector(w.spec.selector),
          uid: w.metadata.uid,
          templateImage: inTemplate?.image,
          sentryAddress: inTemplate && daprdFlag(inTemplate, 'sentry-address'),
          mtls: inTemplate && isTruthy(daprdFlag(inTemplate, 'enable-mtls')),
          helmRelease: w.metadata.annotations?.[HELM_RELEASE_NAME],
        },
        owned,
      ),
    );
  }
  const jobs = new Map((input.jobs ?? []).map((j) => [`${j.kind}/${j.metadata.namespace}/${j.metadata.name}`, j]));
  // CronJobs: nothing runs now, but the next runs get a sidecar.
  for (const c of input.jobs ?? []) {
    if (c.kind !== 'CronJob' || !isDaprEnabled(c)) continue;
    found.push(
      summarise(
        {
          key: workloadKey(c),
          kind: 'CronJob',
          namespace: c.metadata.namespace ?? '',
          name: c.metadata.name,
          appId: templateOf(c)?.metadata?.annotations?.[ANNOTATION_APP_ID],
          method: 'cronjob',
        },
        [],
      ),
    );
  }
  // daprd pods no workload claimed, grouped by their controller.
  const groups = new Map<string, { base: Parameters<typeof summarise>[0]; pods: Pod[] }>();
  for (const [ns, pods] of podsByNamespace) {
    for (const p of pods) {
      if (claimed.has(p) || !sidecarContainer(p) || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      const owner = p.metadata.ownerReferences?.find((o) => o.controller) ?? p.metadata.ownerReferences?.[0];
      const annotations = p.metadata.annotations ?? {};
      const kind = owner ? owner.kind : 'Pod';
      const name = owner ? owner.name : p.metadata.name;
      const key = `${kind}/${ns}/${name}`;
      let group = groups.get(key);
      if (!group) {
        const job = kind === 'Job' ? jobs.get(key) : undefined;
        const cronJob = job?.metadata.ownerReferences?.find((o) => o.kind === 'CronJob');
        const method: RollMethod =
          kind === 'Pod' ? 'replace-pod' : kind === 'Job' ? 'job' : kind === 'ReplicaSet' ? 'delete-pods' : 'owner';
        group = {
          base: {
            key,
            kind,
            namespace: ns,
            name,
            method,
            appId: annotations[ANNOTATION_APP_ID],
            pinnedImage: annotations[ANNOTATION_SIDECAR_IMAGE],
            owner: method === 'owner' ? kind : cronJob && `CronJob ${cronJob.name}`,
          },
          pods: [],
        };
        groups.set(key, group);
      }
      group.pods.push(p);
    }
  }
  for (const g of groups.values()) found.push(summarise(g.base, g.pods));
  return found;
}

export type RestartDecision = 'restart' | 'current' | 'pinned' | 'no-sidecar' | 'no-pods' | 'shared' | 'next-run' | 'unreached';

/** What the user allowed beyond rolling restarts. */
export interface ReachOptions {
  /** --recreate-pods: delete the pods of OnDelete StatefulSets/DaemonSets and bare ReplicaSets one at a time. */
  recreatePods?: boolean;
  /** --recreate-bare-pods: recreate bare Pods from their last-applied manifest. */
  recreateBarePods?: boolean;
  /** Dapr Shared releases (`namespace/name`): their daprd is upgraded with helm, not restarted. */
  sharedReleases?: ReadonlySet<string>;
}

/** Pods whose daprd is not at `version` (or missing where the template asks for one). */
export const podsBehind = (w: DataPlaneWorkload, version: string) =>
  w.podList.filter((p) => p.version !== undefined && p.version !== version);

export const isSharedRelease = (w: DataPlaneWorkload, o: ReachOptions) =>
  !!w.helmRelease && !!o.sharedReleases?.has(`${w.namespace}/${w.helmRelease}`);

/** Does this group need something done to run daprd at `version`, and can daprup do it? */
export function restartDecision(w: DataPlaneWorkload, version: string, o: ReachOptions = {}): RestartDecision {
  if (w.method === 'cronjob') return 'next-run';
  if (w.method === 'template' && isSharedRelease(w, o)) return 'shared';
  if (w.pinnedImage) return 'pinned';
  if (w.pods === 0) return 'no-pods';
  if (w.podsWithSidecar === 0) return 'no-sidecar';
  const current = w.sidecarVersions.length === 1 && w.sidecarVersions[0] === version && w.podsWithSidecar === w.pods;
  if (current || (w.method !== 'rollout-restart' && w.method !== 'argo-restart' && !podsBehind(w, version).length)) return 'current';
  switch (w.method) {
    case 'rollout-restart':
    case 'argo-restart':
      return 'restart';
    case 'delete-pods':
      return o.recreatePods ? 'restart' : 'unreached';
    case 'replace-pod':
      return o.recreateBarePods && w.podList.every((p) => p.manifest) ? 'restart' : 'unreached';
    default:
      return 'unreached';
  }
}

const ref = (w: DataPlaneWorkload) => `${w.kind.toLowerCase()}/${w.name}`;

/** Why a group is where it is, and for what daprup cannot reach, the command that would. */
export function decisionNote(w: DataPlaneWorkload, decision: RestartDecision, version: string): string {
  const ns = `--namespace ${w.namespace}`;
  const behind = podsBehind(w, version).map((p) => p.name);
  switch (decision) {
    case 'current':
      return 'already at the target';
    case 'pinned':
      return 'pins its own daprd image (dapr.io/sidecar-image): not restarted';
    case 'no-sidecar':
      return 'annotated dapr.io/enabled but its pods run no daprd sidecar (was the injector down?)';
    case 'no-pods':
      return 'no running pods';
    case 'next-run':
      return 'CronJob: its next runs get the new sidecar';
    case 'shared':
      return `Dapr Shared release ${w.helmRelease}: upgraded with helm after the data plane`;
    case 'restart':
      if (w.method === 'argo-restart') return 'will be restarted (spec.restartAt, as kubectl argo rollouts restart)';
      if (w.method === 'delete-pods')
        return `its pods will be deleted one at a time, each after the last replacement is Ready (--recreate-pods): ${behind.join(', ')}`;
      if (w.method === 'replace-pod') return 'will be recreated from its last-applied manifest (--recreate-bare-pods)';
      return 'will be restarted';
    case 'unreached':
      switch (w.method) {
        case 'paused':
          return w.kind === 'Rollout'
            ? `paused: the Rollouts controller restarts nothing until it is resumed (kubectl argo rollouts promote ${w.name} ${ns}, then daprup restart)`
            : `paused: a restart is rejected until it is resumed (kubectl rollout resume ${ref(w)} ${ns}, then daprup restart)`;
        case 'delete-pods':
          return `${w.kind === 'ReplicaSet' ? 'a ReplicaSet without a Deployment' : 'updateStrategy OnDelete'}: nothing rolls it; delete its pods one at a time (kubectl delete pod ${behind[0] ?? '<pod>'} ${ns}, the next once its replacement is Ready), or pass --recreate-pods`;
        case 'replace-pod':
          return w.podList.every((p) => p.manifest)
            ? `a bare Pod: nothing recreates it (kubectl get pod ${w.name} ${ns} -o jsonpath='{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}' | kubectl replace --force -f -), or pass --recreate-bare-pods`
            : `a bare Pod not created by kubectl apply: delete it and create it again from its manifest`;
        case 'job':
          return `a running Job${w.owner ? ` of ${w.owner}` : ''}: its pods keep daprd ${w.sidecarVersions.join(', ')} until they finish; the next run gets the new sidecar`;
        case 'template':
          return `daprd is written into its pod template (${w.templateImage ?? 'no image'}), not injected: change that image where the workload is defined`;
        case 'owner':
          return `its pods belong to a ${w.owner}: restart them through that controller`;
        default:
          return 'out of reach';
      }
  }
}

/** A daprd group with what daprup does about it and why. */
export interface WorkloadVerdict extends DataPlaneWorkload {
  decision: RestartDecision;
  note: string;
}

export function judgeDataPlane(workloads: readonly DataPlaneWorkload[], version: string, reach: ReachOptions = {}): WorkloadVerdict[] {
  return workloads.map((w) => {
    const decision = restartDecision(w, version, reach);
    return { ...w, decision, note: decisionNote(w, decision, version) };
  });
}

/** The groups daprup restarts to bring their daprd to `version`. */
export const workloadsToRestart = (input: DataPlaneInput, version: string, reach: ReachOptions = {}) =>
  judgeDataPlane(discoverDataPlane(input), version, reach).filter((w) => w.decision === 'restart');

/** daprd that stays behind and that daprup does not replace (the run names them; --strict fails on them). */
export const unreached = (verdicts: readonly WorkloadVerdict[]) => verdicts.filter((w) => w.decision === 'unreached');
