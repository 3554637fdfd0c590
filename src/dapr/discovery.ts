// Reads what is installed: the Helm release, the control plane, the trust bundle and the data plane.
// Every probe here is read-only; plan, upgrade and status all start from it.
import type { HelmRelease, HelmVersion, Values } from '../cluster/helm.js';
import type { BatchObject, ConfigMap, K8sObject, Pod, Secret, Workload } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import type { CommandError } from '../cluster/runner.js';
import type { Tools } from '../cluster/tools.js';
import { DaprupError, ExitCode, refusal, usageError } from '../errors.js';
import { GITOPS_MARKERS, isControlPlaneWorkload, PART_OF_SELECTOR, SYSTEM_CONFIGURATION, TRUST_BUNDLE } from './chart.js';
import { controlPlaneStatus, liveHighAvailability, type ComponentStatus } from './control-plane.js';
import { discoverDataPlane, type DataPlaneWorkload } from './data-plane.js';
import { explain, hintFor } from './error-hints.js';
import { trustBundleFromCluster, type TrustBundle } from './trust-bundle.js';
import { checkObjectsIn, CHECK_RESOURCES, readCheckObjects, type CheckObjects } from './check-objects.js';

// Moved: `explain` to error-hints.ts, `Tools` to cluster/tools.ts. Re-exported until every importer uses the new place.

export interface ReleaseFacts {
  name: string;
  namespace: string;
  chartVersion: string;
  /** The runtime version the release runs (APP VERSION). */
  version: string;
  revision: number;
  status: string;
}

export interface SharedReleaseFacts {
  name: string;
  namespace: string;
  chartVersion: string;
  revision: number;
  status: string;
}

export interface ClusterFacts {
  helmVersion: HelmVersion;
  kubectlVersion: string;
  serverVersion: string;
  clusterId: string;
  release: ReleaseFacts;
  userValues: Values;
  /** Every Deployment, StatefulSet, DaemonSet and Argo Rollout in the cluster but the control plane. */
  workloads: Workload[];
  /** Every Job and CronJob. */
  jobs: BatchObject[];
  /** Dapr Shared releases (chart dapr-shared-chart): daprd run without the injector, one release per app id. */
  sharedReleases: SharedReleaseFacts[];
  /** The control plane's Deployments and StatefulSets. */
  controlPlaneWorkloads: Workload[];
  /** Every pod in the cluster (one call). */
  pods: Pod[];
  controlPlane: ComponentStatus[];
  haEnabled: boolean;
  trustBundle?: TrustBundle;
  mtlsEnabled?: boolean;
  /** What the production checks read, when asked for (undefined when unreadable: checks are advice). */
  checkObjects?: CheckObjects;
}

export interface DiscoveryOptions {
  release?: string;
  namespace?: string;
  /** Limit the data plane to one namespace (restart -n). */
  dataPlaneNamespace?: string;
  /** Also read what the production checks need (plan, check), in the same call as the workloads. */
  withCheckObjects?: boolean;
}

const DAPR_CHART = /^dapr-(\d+\.\d+\.\d+\S*)$/;
const SHARED_CHART = /^dapr-shared-chart-(\d+\.\d+\.\d+\S*)$/;

/** Dapr Shared releases among `helm list -A`, narrowed to a namespace when given. */
export function sharedReleasesOf(releases: readonly HelmRelease[], namespace?: string): SharedReleaseFacts[] {
  return releases
    .filter((r) => SHARED_CHART.test(r.chart) && (!namespace || r.namespace === namespace))
    .map((r) => ({
      name: r.name,
      namespace: r.namespace,
      chartVersion: SHARED_CHART.exec(r.chart)![1]!,
      revision: Number(r.revision),
      status: r.status,
    }));
}

/**
 * helm and kubectl present and new enough, the kube context known, the cluster reachable: one sentence and a hint
 * when not. Commands that look up the release before discovery runs (plan, rollback) call it first.
 */
export const checkTools = (t: Tools) => toolVersions(t);

async function toolVersions(t: Tools): Promise<{ helm: HelmVersion; kubectl: string; server: string }> {
  // Both at once; a helm failure is still the one reported first.
  const kubectlVersions = t.kubectl.versions();
  kubectlVersions.catch(() => undefined);
  const helm = await t.helm.version().catch((e: unknown) => {
    throw asMissingTool(e, 'helm');
  });
  if (helm.major < 3 || (helm.major === 3 && helm.minor < 8)) {
    throw refusal(
      `helm ${helm.raw} is too old: daprup needs helm 3.8 or newer (the Dapr chart is an apiVersion v2 chart).`,
      'Install helm 3.8+ or helm 4, or point --helm at it.',
    );
  }
  let versions: { client: string; server: string };
  try {
    versions = await kubectlVersions;
  } catch (e) {
    if (e instanceof DaprupError) throw asMissingTool(e, 'kubectl');
    const stderr = String((e as CommandError).stderr ?? '');
    const context = /context "?([^"\s]+)"? (was not found|does not exist)/.exec(stderr);
    if (context)
      throw usageError(
        `The kube context "${context[1]}" does not exist in your kubeconfig.`,
        'List the contexts with kubectl config get-contexts and pass one with --kube-context.',
      );
    const err = explain(e, 'Reaching the cluster');
    throw new DaprupError(
      err.message,
      hintFor(String((e as CommandError).stderr)) ?? 'Check --kube-context / --kubeconfig, and that the API server is up.',
      ExitCode.stepFailed,
    );
  }
  return { helm, kubectl: versions.client, server: versions.server };
}

function asMissingTool(e: unknown, tool: 'helm' | 'kubectl'): DaprupError {
  if (e instanceof DaprupError)
    return new DaprupError(
      `${tool} was not found or could not run.`,
      `Install ${tool}, or pass --${tool} /path/to/${tool} (or set $DAPRUP_${tool.toUpperCase()}).`,
      ExitCode.refused,
    );
  return explain(e, `Running ${tool}`);
}

/** The Dapr release: found by chart name, narrowed by --release / --dapr-namespace. */
export async function findRelease(t: Tools, o: DiscoveryOptions, listed?: HelmRelease[]): Promise<ReleaseFacts> {
  const releases = listed ?? (await listReleases(t));
  const dapr = releases.filter(
    (r) => DAPR_CHART.test(r.chart) && (!o.release || r.name === o.release) && (!o.namespace || r.namespace === o.namespace),
  );
  if (dapr.length === 0) {
    // Dapr may be there without Helm (Argo CD renders charts itself; `kubectl apply` of manifests).
    const objects = await t.kubectl.list<K8sObject>('deployments', { allNamespaces: true, selector: PART_OF_SELECTOR }).catch(() => []);
    const gitops = objects.find((obj) => GITOPS_MARKERS.some((m) => obj.metadata.labels?.[m] ?? obj.metadata.annotations?.[m]));
    if (gitops) {
      throw refusal(
        `Dapr in ${gitops.metadata.namespace} is managed by a GitOps controller (Argo CD or Flux), not by a Helm release daprup can upgrade.`,
        'Upgrade it in Git: bump the chart version there and let the controller sync.',
      );
    }
    if (objects.length) {
      throw refusal(
        `Dapr runs in ${objects[0]!.metadata.namespace} but was not installed with Helm.`,
        'daprup upgrades Helm releases; reinstall Dapr with Helm, or upgrade it the way it was installed.',
      );
    }
    const where = [o.release && `named ${o.release}`, o.namespace && `in namespace ${o.namespace}`].filter(Boolean).join(' ');
    throw refusal(
      `No Dapr Helm release found${where ? ` ${where}` : ''}.`,
      'Check --kube-context, --release and --dapr-namespace; `helm list -A` shows the releases.',
    );
  }
  if (dapr.length > 1) {
    const names = dapr.map((r) => `${r.name} (${r.namespace})`).join(', ');
    throw usageError(`Found ${dapr.length} Dapr releases: ${names}.`, 'Choose one with --release and --dapr-namespace.');
  }
  const r = dapr[0]!;
  const chartVersion = DAPR_CHART.exec(r.chart)![1]!;
  return {
    name: r.name,
    namespace: r.namespace,
    chartVersion,
    version: r.app_version || chartVersion,
    revision: Number(r.revision),
    status: r.status,
  };
}

export async function listReleases(t: Tools): Promise<HelmRelease[]> {
  try {
    return await t.helm.listReleases();
  } catch (e) {
    // The first helm call of plan, upgrade and rollback: a helm that cannot run is named as discovery names it.
    if (e instanceof DaprupError) throw asMissingTool(e, 'helm');
    throw explain(e, 'Listing Helm releases');
  }
}

/** The kinds beside Deployments, read in one `kubectl get`. */
export const OTHER_WORKLOADS = 'statefulsets,daemonsets,jobs.batch,cronjobs.batch';
/** Argo Rollouts label the pods of their ReplicaSets with this: only then are Rollouts read at all. */
const ROLLOUT_POD_LABEL = 'rollouts-pod-template-hash';

export interface WorkloadObjects {
  workloads: Workload[];
  jobs: BatchObject[];
  pods: Pod[];
  /** The production checks' objects, when asked for (read in the same `kubectl get`). */
  checkObjects?: CheckObjects;
}

/**
 * Every workload that can run daprd and every pod (in one namespace, or all), in three calls however many there
 * are: Deployments and pods straight from the API (see Kubectl.listRaw); StatefulSets, DaemonSets, Jobs and
 * CronJobs, usually few, with one `kubectl get` (which also takes the production checks' kinds when asked, so
 * they cost no process of their own). Argo Rollouts are read only where a pod says one exists: a cluster without
 * them is never asked about them.
 */
export async function readWorkloads(
  kubectl: Kubectl,
  o: { namespace?: string; selector?: string; withCheckObjects?: boolean } = {},
): Promise<WorkloadObjects> {
  const scope = o.namespace ? { namespace: o.namespace } : { allNamespaces: true };
  const combined = o.withCheckObjects && !o.namespace && !o.selector;
  const others = async (): Promise<{ items: (Workload | BatchObject)[]; checkObjects?: CheckObjects }> => {
    if (combined) {
      try {
        const items = await kubectl.list<K8sObject>(`${OTHER_WORKLOADS},${CHECK_RESOURCES}`, scope);
        return { items: items as (Workload | BatchObject)[], checkObjects: checkObjectsIn(items) };
      } catch {
        // A missing right or CRD for a check's kind fails the whole call: the workloads alone, the checks apart.
      }
    }
    const [items, checkObjects] = await Promise.all([
      kubectl.list<Workload | BatchObject>(OTHER_WORKLOADS, { ...scope, selector: o.selector }),
      combined ? readCheckObjects(kubectl) : undefined,
    ]);
    return { items, checkObjects };
  };
  const [deployments, other, pods] = await Promise.all([
    kubectl.listRaw<Workload>('deployments', o),
    others(),
    kubectl.listRaw<Pod>('pods', o.namespace ? { namespace: o.namespace } : {}),
  ]);
  const rollouts = pods.some((p) => p.metadata.labels?.[ROLLOUT_POD_LABEL] !== undefined)
    ? await kubectl.listRaw<Workload>('rollouts', o)
    : [];
  const isBatch = (x: Workload | BatchObject | K8sObject): x is BatchObject => x.kind === 'Job' || x.kind === 'CronJob';
  const isWorkload = (x: Workload | BatchObject | K8sObject): x is Workload => x.kind === 'StatefulSet' || x.kind === 'DaemonSet';
  return {
    workloads: [...deployments, ...rollouts, ...other.items.filter(isWorkload)],
    jobs: other.items.filter(isBatch),
    pods,
    checkObjects: other.checkObjects,
  };
}

type ReleaseObject = Secret | ConfigMap | (K8sObject & { spec?: { mtls?: { enabled?: boolean } } });

/** The cluster id (kube-system's uid), the trust bundle and Dapr's system Configuration: one call, three without its CRD. */
async function readReleaseObjects(kubectl: Kubectl, ns: string): Promise<{ clusterId: string; objects: ReleaseObject[] }> {
  const bundle = [`secret/${TRUST_BUNDLE}`, `configmap/${TRUST_BUNDLE}`];
  try {
    const objects = await kubectl.list<ReleaseObject>(
      ['namespace/kube-system', ...bundle, `configurations.dapr.io/${SYSTEM_CONFIGURATION}`],
      { namespace: ns, ignoreNotFound: true },
    );
    const kubeSystem = objects.find((x) => x.kind === 'Namespace');
    if (kubeSystem) return { clusterId: kubeSystem.metadata.uid ?? 'unknown', objects };
  } catch {
    // Without the Configuration CRD (or the right to read it) kubectl fails the whole call: read them apart.
  }
  const [clusterId, objects, config] = await Promise.all([
    kubectl.clusterId(),
    kubectl.list<ReleaseObject>(bundle, { namespace: ns, ignoreNotFound: true }),
    kubectl.getOptional<ReleaseObject>('configurations.dapr.io', SYSTEM_CONFIGURATION, ns).catch(() => undefined),
  ]);
  return { clusterId, objects: config ? [...objects, config] : objects };
}

/** Everything plan, upgrade and status need to know about the cluster, in a fixed small number of calls. */
export async function inspectCluster(t: Tools, o: DiscoveryOptions): Promise<ClusterFacts> {
  const versions = await toolVersions(t);
  // The cluster answers: the reads that do not depend on the release (the longest at fleet scale) start now,
  // beside `helm list`; their errors count only once the release is found.
  const scope = o.dataPlaneNamespace ? { namespace: o.dataPlaneNamespace } : {};
  const independent = readWorkloads(t.kubectl, { ...scope, withCheckObjects: o.withCheckObjects });
  independent.catch(() => undefined);
  const releases = await listReleases(t);
  const release = await findRelease(t, o, releases);
  const ns = release.namespace;
  try {
    const [{ workloads, jobs, pods, checkObjects }, userValues, { clusterId, objects }] = await Promise.all([
      independent,
      t.helm.userValues(release.name, ns),
      readReleaseObjects(t.kubectl, ns),
    ]);
    const config = objects.find((x) => x.kind === 'Configuration') as (K8sObject & { spec?: { mtls?: { enabled?: boolean } } }) | undefined;
    // With -n, the control plane is read from its own namespace separately.
    const cpWorkloads =
      o.dataPlaneNamespace && o.dataPlaneNamespace !== ns
        ? await t.kubectl.list<Workload>('deployments,statefulsets', { namespace: ns })
        : workloads.filter((w) => w.metadata.namespace === ns);
    const cpPods =
      o.dataPlaneNamespace && o.dataPlaneNamespace !== ns
        ? await t.kubectl.list<Pod>('pods', { namespace: ns, selector: PART_OF_SELECTOR })
        : pods.filter((p) => p.metadata.namespace === ns);
    const controlPlaneWorkloads = cpWorkloads.filter((w) => isControlPlaneWorkload(w, ns));
    const controlPlane = controlPlaneStatus(controlPlaneWorkloads, cpPods);
    const secret = objects.find((x) => x.kind === 'Secret') as Secret | undefined;
    const configMap = objects.find((x) => x.kind === 'ConfigMap') as ConfigMap | undefined;
    return {
      helmVersion: versions.helm,
      kubectlVersion: versions.kubectl,
      serverVersion: versions.server,
      clusterId,
      release,
      userValues,
      workloads: workloads.filter((w) => !isControlPlaneWorkload(w, ns)),
      jobs,
      sharedReleases: sharedReleasesOf(releases, o.dataPlaneNamespace),
      pods,
      controlPlaneWorkloads,
      controlPlane,
      haEnabled: liveHighAvailability(controlPlane),
      trustBundle: trustBundleFromCluster(secret, configMap),
      mtlsEnabled: config?.spec?.mtls?.enabled,
      checkObjects,
    };
  } catch (e) {
    throw explain(e, 'Reading the Dapr installation');
  }
}

/** The data plane, the control plane's own pods left out (they run no daprd, but a selector could match them). */
export const dataPlaneOf = (facts: Pick<ClusterFacts, 'workloads' | 'jobs' | 'pods'>): DataPlaneWorkload[] => discoverDataPlane(facts);
