// `daprup status`: the control plane, the trust bundle, the data plane with its skew, and any unfinished run.
import semver from 'semver';
import { inspectCluster, dataPlaneOf, type DiscoveryOptions, type Tools } from './dapr/discovery.js';
import type { ComponentStatus } from './dapr/control-plane.js';
import type { DataPlaneWorkload } from './dapr/data-plane.js';
import { checkTrustBundle, type BundleReport } from './dapr/trust-bundle.js';
import type { ReleaseFacts } from './dapr/discovery.js';
import { ClusterJournal, JournalStore, STEP_IDS } from './state/journal.js';

export interface StatusReport {
  release: ReleaseFacts;
  haEnabled: boolean;
  mtlsEnabled?: boolean;
  controlPlane: ComponentStatus[];
  trustBundle?: BundleReport;
  dataPlane: (DataPlaneWorkload & { skew: string })[];
  skewedWorkloads: number;
  unfinishedRun?: { runId: string; from: string; target: string; step: string; status: string };
}

/** How far a sidecar is from the control plane: none, patch, or N minor versions. */
export function skew(sidecar: string | undefined, controlPlane: string): string {
  const s = semver.valid(sidecar ?? '');
  const c = semver.valid(controlPlane);
  if (!s || !c) return sidecar ? 'unknown' : '-';
  if (semver.eq(s, c)) return 'none';
  const minors = (semver.major(c) - semver.major(s)) * 100 + semver.minor(c) - semver.minor(s);
  return minors === 0 ? `patch (${s})` : `${Math.abs(minors)} minor ${minors > 0 ? 'behind' : 'ahead'}`;
}

export async function clusterStatus(tools: Tools, o: DiscoveryOptions & { stateDir: string; warnDays: number }): Promise<StatusReport> {
  const facts = await inspectCluster(tools, o);
  const version = facts.release.version;
  const dataPlane = dataPlaneOf(facts).map((w) => {
    const worst = w.sidecarVersions.map((v) => skew(v, version)).find((x) => x !== 'none');
    return { ...w, skew: w.pinnedImage ? 'pinned' : w.podsWithSidecar === 0 ? (w.pods ? 'no sidecar' : '-') : worst ?? 'none' };
  });
  const local = await new JournalStore(o.stateDir).read({ clusterId: facts.clusterId, namespace: facts.release.namespace, release: facts.release.name }).catch(() => undefined);
  const remote = await new ClusterJournal(tools.kubectl, facts.release.namespace, facts.release.name).read().catch(() => undefined);
  const journal = [local, remote].filter((j) => !!j).sort((a, b) => b!.updatedAt.localeCompare(a!.updatedAt))[0];
  const unfinishedStep = journal && STEP_IDS.find((id) => !['done', 'skipped'].includes(journal.steps[id].status));
  return {
    release: facts.release,
    haEnabled: facts.haEnabled,
    mtlsEnabled: facts.mtlsEnabled,
    controlPlane: facts.controlPlane,
    trustBundle: facts.trustBundle && checkTrustBundle(facts.trustBundle, { warnDays: o.warnDays }),
    dataPlane,
    skewedWorkloads: dataPlane.filter((w) => !['none', 'pinned', '-', 'no sidecar'].includes(w.skew)).length,
    unfinishedRun: journal && journal.status !== 'done' && journal.status !== 'abandoned' && unfinishedStep
      ? { runId: journal.runId, from: journal.from, target: journal.target, step: unfinishedStep, status: journal.status }
      : undefined,
  };
}
