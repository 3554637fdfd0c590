// The data plane as it runs now, read from the cluster (rather than from the facts a run read at its start): what
// restarts, verify and `daprup restart` judge, and the reads that takes, as plans show them.
import type { Kubectl } from '../cluster/kubectl.js';
import { isControlPlaneWorkload } from './chart.js';
import { discoverDataPlane, type DataPlaneWorkload } from './data-plane.js';
import { OTHER_WORKLOADS, readWorkloads } from './discovery.js';

/**
 * Every daprd group but the control plane's (in `controlPlaneNamespace`), or only those in `only.namespace` and
 * matching `only.selector`. Three calls for every workload and every pod, however many there are (see
 * readWorkloads, Kubectl.listRaw).
 */
export async function liveDataPlane(
  kubectl: Kubectl,
  controlPlaneNamespace: string,
  only: { namespace?: string; selector?: string } = {},
): Promise<DataPlaneWorkload[]> {
  const { workloads, jobs, pods } = await readWorkloads(kubectl, only);
  const dataPlane = workloads.filter((w) => !isControlPlaneWorkload(w, controlPlaneNamespace));
  return discoverDataPlane({ workloads: dataPlane, jobs, pods });
}

/** The reads liveDataPlane makes across the cluster, as plans show them. */
export function dataPlaneReads(kubectl: Kubectl): string[][] {
  return [
    kubectl.commandLine(...kubectl.rawListArgs('deployments')),
    kubectl.getArgv(OTHER_WORKLOADS, { allNamespaces: true }),
    kubectl.commandLine(...kubectl.rawListArgs('pods')),
  ];
}
