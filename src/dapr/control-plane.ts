// The Dapr control plane as it runs: each component's workload, its readiness and the version its image runs.
import type { Pod, Workload } from '../cluster/k8s-types.js';
import { CONTROL_PLANE, imageTag, runtimeVersionOfTag, type ControlPlaneComponent } from './chart.js';

export interface ComponentStatus extends ControlPlaneComponent {
  present: boolean;
  desired: number;
  ready: number;
  /** The runtime version of the workload's pod template image. */
  version?: string;
  /** Versions the component's running pods actually run. */
  podVersions: string[];
}

export function controlPlaneStatus(workloads: readonly Workload[], pods: readonly Pod[] = []): ComponentStatus[] {
  return CONTROL_PLANE.map((c) => {
    const w = workloads.find((x) => x.kind === c.kind && x.metadata.name === c.name);
    if (!w) return { ...c, present: false, desired: 0, ready: 0, podVersions: [] };
    const owned = pods.filter((p) => !p.metadata.deletionTimestamp && p.metadata.labels?.app === c.name);
    const podVersions = [
      ...new Set(owned.map((p) => runtimeVersionOfTag(imageTag(p.spec.containers[0]?.image))).filter((v): v is string => !!v)),
    ];
    return {
      ...c,
      present: true,
      desired: w.spec.replicas ?? 1,
      ready: w.status?.readyReplicas ?? 0,
      version: runtimeVersionOfTag(imageTag(w.spec.template.spec.containers[0]?.image)),
      podVersions: podVersions.sort(),
    };
  });
}

/** HA as the cluster shows it: placement runs 3 replicas only in HA. */
export function liveHighAvailability(status: readonly ComponentStatus[]): boolean {
  const placement = status.find((s) => s.name === 'dapr-placement-server');
  const operator = status.find((s) => s.name === 'dapr-operator');
  return (placement?.desired ?? 1) > 1 && (operator?.desired ?? 1) > 1;
}
