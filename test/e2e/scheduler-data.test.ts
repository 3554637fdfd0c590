// End to end with helm 4 on the fixture charts: 1.14 → 1.15 loses the scheduler's data (1.15 starts etcd in a new
// directory). Without a VolumeSnapshotClass the run is refused, naming what is lost and the flag that accepts it,
// and nothing changes; with the snapshot stand-in (test/sandbox/snapshots.ts) and a class for the sandbox's
// volumes, every bound scheduler claim is snapshotted and waited for until ready before anything changes, the
// names are recorded in the journal, and the upgrade goes on.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeApi } from '../sandbox/kube-api.js';
import { installSnapshotClass, startSnapshotController, type SnapshotControllerHandle } from '../sandbox/snapshots.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import { createDaprEnv, freshInstall, kubectl, kubectlJson, NAMESPACE, runDaprup, snapshotCluster, type DaprEnv } from './dapr-env.js';

interface Obj {
  metadata: { name: string; namespace?: string; creationTimestamp: string };
  spec?: { source?: { persistentVolumeClaimName?: string } };
  status?: { phase?: string; readyToUse?: boolean };
}

describe('scheduler data across 1.14 → 1.15 with helm 4', () => {
  const flavour = HELM_FLAVOURS.find((f) => f.name === 'helm4')!;
  let e: DaprEnv;
  let snapshots: SnapshotControllerHandle | undefined;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await freshInstall(e, '1.14.5');
  }, 600_000);
  afterAll(async () => {
    await snapshots?.stop();
    const crds = (await kubectl(e, ['get', 'crd', '-o', 'name'])).split('\n').filter((n) => n.endsWith('.snapshot.storage.k8s.io'));
    if (crds.length) await kubectl(e, ['delete', ...crds, '--wait=true']);
    await e?.repo.stop();
  });

  it('refuses without a VolumeSnapshotClass, naming what is lost and the flag that accepts it; nothing changes', async () => {
    const plan = await runDaprup(e, ['plan', '--to', '1.15.12']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/protect-scheduler-data .*refused: /);
    const before = await snapshotCluster(e);
    const r = await runDaprup(e, ['upgrade', '--to', '1.15.12', '--yes']);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toMatch(/loses the scheduler's .*jobs/);
    expect(r.stderr).toMatch(/\nHint: .*--accept-scheduler-data-loss/);
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('with a class, snapshots every bound scheduler claim until ready, records the names in the journal, then upgrades', async () => {
    const api = KubeApi.fromKubeconfig(e.kubeconfig);
    snapshots = await startSnapshotController({ api });
    await installSnapshotClass(api, { name: 'hostpath-snapshots', driver: 'kubernetes.io/host-path', default: true });
    const claims = (await kubectlJson<{ items: Obj[] }>(e, ['get', 'pvc', '-n', NAMESPACE])).items
      .filter((c) => c.metadata.name.startsWith('dapr-scheduler-data-dir-dapr-scheduler-server-') && c.status?.phase === 'Bound')
      .map((c) => c.metadata.name)
      .sort();
    expect(claims.length).toBeGreaterThan(0);

    const r = await runDaprup(e, ['upgrade', '--to', '1.15.12', '--yes']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const taken = (await kubectlJson<{ items: Obj[] }>(e, ['get', 'volumesnapshots', '-n', NAMESPACE])).items;
    expect(taken.map((s) => s.spec?.source?.persistentVolumeClaimName).sort()).toEqual(claims);
    expect(taken.every((s) => s.status?.readyToUse)).toBe(true);

    // Taken before the helm upgrade changed the scheduler: older than every 1.15 scheduler pod.
    const schedulerPods = (await kubectlJson<{ items: Obj[] }>(e, ['get', 'pods', '-n', NAMESPACE, '-l', 'app=dapr-scheduler-server']))
      .items;
    const newest = Math.max(...taken.map((s) => Date.parse(s.metadata.creationTimestamp)));
    for (const p of schedulerPods) expect(Date.parse(p.metadata.creationTimestamp)).toBeGreaterThanOrEqual(newest);

    const journalFile = (await readdir(e.stateDir, { recursive: true })).find((f) => f.endsWith('journal.json'))!;
    const journal = JSON.parse(await readFile(join(e.stateDir, journalFile), 'utf8')) as { status: string; schedulerSnapshots?: string[] };
    expect(journal.status).toBe('done');
    expect([...(journal.schedulerSnapshots ?? [])].sort()).toEqual(taken.map((s) => `${NAMESPACE}/${s.metadata.name}`).sort());
  });
});
