// `daprup status`: the control plane, the trust bundle, the data plane with its skew, and any unfinished run.
import type { Tools } from '../cluster/tools.js';
import { inspectCluster, dataPlaneOf, type DiscoveryOptions } from '../dapr/discovery.js';
import type { ComponentStatus } from '../dapr/control-plane.js';
import { judgeDataPlane, unreached, type DataPlaneWorkload } from '../dapr/data-plane.js';
import { sharedDaprd } from '../dapr/dapr-shared.js';
import { skew } from '../dapr/skew.js';
import { checkTrustBundle, type BundleReport } from '../dapr/trust-bundle.js';
import type { ReleaseFacts } from '../dapr/discovery.js';
import { STEP_IDS } from '../runbook/runbook.js';
import { JournalStore, stoppedAt, unfinishedRun } from '../state/journal.js';

export interface StatusReport {
  release: ReleaseFacts;
  haEnabled: boolean;
  mtlsEnabled?: boolean;
  controlPlane: ComponentStatus[];
  trustBundle?: BundleReport;
  dataPlane: (Omit<DataPlaneWorkload, 'podList'> & { skew: string; note?: string })[];
  skewedWorkloads: number;
  /** daprd groups daprup's restart does not replace, each with what would (see decisionNote). */
  unreached: { key: string; note: string }[];
  sharedReleases: {
    name: string;
    namespace: string;
    chartVersion: string;
    daprd: string;
    skew: string;
    sentryAddress?: string;
    mtls?: boolean;
  }[];
  unfinishedRun?: { runId: string; kind: 'upgrade' | 'rollback' | 'rotate'; from: string; target: string; step: string; status: string };
}

export async function reportStatus(tools: Tools, o: DiscoveryOptions & { stateDir: string; warnDays: number }): Promise<StatusReport> {
  const facts = await inspectCluster(tools, o);
  const version = facts.release.version;
  const all = dataPlaneOf(facts);
  const shared = new Set(facts.sharedReleases.map((r) => `${r.namespace}/${r.name}`));
  const verdicts = judgeDataPlane(all, version, { sharedReleases: shared });
  const dataPlane = verdicts
    .filter((w) => w.decision !== 'shared')
    .map((w) => {
      const worst = w.sidecarVersions.map((v) => skew(v, version)).find((x) => x !== 'none');
      const { decision, note, podList: _pods, ...rest } = w;
      return {
        ...rest,
        note: decision === 'unreached' || decision === 'next-run' ? note : undefined,
        skew: w.pinnedImage ? 'pinned' : w.podsWithSidecar === 0 ? (w.pods ? 'no sidecar' : '-') : (worst ?? 'none'),
      };
    });
  const sharedReleases = sharedDaprd(facts.sharedReleases, all).map((s) => ({
    name: s.name,
    namespace: s.namespace,
    chartVersion: s.chartVersion,
    daprd: s.tag ?? '-',
    skew: skew(s.version, version),
    sentryAddress: s.sentryAddress,
    mtls: s.mtls,
  }));
  const store = new JournalStore(o.stateDir, STEP_IDS);
  const key = { clusterId: facts.clusterId, namespace: facts.release.namespace, release: facts.release.name };
  const local = await store.read(key).catch(() => undefined);
  const remote = await store
    .inCluster(tools.kubectl, key)
    .read()
    .catch(() => undefined);
  const journal = unfinishedRun(local, remote);
  const unfinishedStep = journal && stoppedAt(journal);
  return {
    release: facts.release,
    haEnabled: facts.haEnabled,
    mtlsEnabled: facts.mtlsEnabled,
    controlPlane: facts.controlPlane,
    trustBundle: facts.trustBundle && checkTrustBundle(facts.trustBundle, { warnDays: o.warnDays }),
    dataPlane,
    skewedWorkloads: dataPlane.filter((w) => !['none', 'pinned', '-', 'no sidecar'].includes(w.skew)).length,
    unreached: unreached(verdicts).map((w) => ({ key: w.key, note: w.note })),
    sharedReleases,
    unfinishedRun:
      journal && unfinishedStep
        ? {
            runId: journal.runId,
            kind: journal.kind ?? 'upgrade',
            from: journal.from,
            target: journal.target,
            step: unfinishedStep,
            status: journal.status,
          }
        : undefined,
  };
}
