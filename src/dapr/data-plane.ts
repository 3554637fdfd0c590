// The Dapr data plane: every workload whose pod template asks for a sidecar, and the daprd version its pods run.
import { selectorMatches, workloadKey, type Container, type Pod, type Workload } from '../cluster/k8s-types.js';
import { ANNOTATION_APP_ID, ANNOTATION_ENABLED, ANNOTATION_SIDECAR_IMAGE, imageTag, runtimeVersionOfTag, SIDECAR_CONTAINER } from './chart.js';

export interface DataPlaneWorkload {
  key: string;
  kind: Workload['kind'];
  namespace: string;
  name: string;
  appId?: string;
  /** dapr.io/sidecar-image: the workload pins its own daprd image. */
  pinnedImage?: string;
  pods: number;
  podsWithSidecar: number;
  /** Distinct daprd runtime versions across its running pods. */
  sidecarVersions: string[];
  /** kubectl.kubernetes.io/restartedAt of the pod template (changes with every `rollout restart`). */
  restartedAt?: string;
}

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export const isDaprEnabled = (w: Workload) => w.spec.template.metadata?.annotations?.[ANNOTATION_ENABLED] === 'true';

/** daprd as a regular container, or as a native sidecar (an init container that keeps running). */
export function sidecarContainer(pod: Pod): Container | undefined {
  return (
    pod.spec.containers.find((c) => c.name === SIDECAR_CONTAINER) ??
    pod.spec.initContainers?.find((c) => c.name === SIDECAR_CONTAINER && c.restartPolicy === 'Always')
  );
}

export function discoverDataPlane(workloads: readonly Workload[], pods: readonly Pod[]): DataPlaneWorkload[] {
  // Index pods by namespace once: selector matching stays linear per namespace even for thousands of pods.
  const podsByNamespace = new Map<string, Pod[]>();
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const ns = p.metadata.namespace ?? '';
    let list = podsByNamespace.get(ns);
    if (!list) podsByNamespace.set(ns, (list = []));
    list.push(p);
  }
  return workloads.filter(isDaprEnabled).map((w) => {
    const annotations = w.spec.template.metadata?.annotations ?? {};
    const owned = (podsByNamespace.get(w.metadata.namespace ?? '') ?? []).filter((p) => selectorMatches(w.spec.selector, p.metadata.labels));
    const sidecars = owned.map(sidecarContainer).filter((c): c is Container => !!c);
    const versions = new Set(sidecars.map((c) => runtimeVersionOfTag(imageTag(c.image)) ?? 'unknown'));
    return {
      key: workloadKey(w),
      kind: w.kind,
      namespace: w.metadata.namespace ?? '',
      name: w.metadata.name,
      appId: annotations[ANNOTATION_APP_ID],
      pinnedImage: annotations[ANNOTATION_SIDECAR_IMAGE],
      pods: owned.length,
      podsWithSidecar: sidecars.length,
      sidecarVersions: [...versions].sort(),
      restartedAt: annotations[RESTARTED_AT],
    };
  });
}

export type RestartDecision = 'restart' | 'current' | 'pinned' | 'no-sidecar' | 'no-pods';

/** Does this workload need a restart to run daprd at `version`? */
export function restartDecision(w: DataPlaneWorkload, version: string): RestartDecision {
  if (w.pinnedImage) return 'pinned';
  if (w.pods === 0) return 'no-pods';
  if (w.podsWithSidecar === 0) return 'no-sidecar';
  return w.sidecarVersions.length === 1 && w.sidecarVersions[0] === version && w.podsWithSidecar === w.pods ? 'current' : 'restart';
}

export const DECISION_NOTES: Record<RestartDecision, string> = {
  restart: 'will be restarted',
  current: 'already at the target',
  pinned: 'pins its own daprd image (dapr.io/sidecar-image): not restarted',
  'no-sidecar': 'annotated dapr.io/enabled but its pods run no daprd sidecar (was the injector down?)',
  'no-pods': 'no running pods',
};
