// End to end against the sandbox control plane, with helm 3 and with helm 4: a patch upgrade, a minor upgrade
// that enables HA, a plan that changes nothing, and refusals that leave the cluster as it was.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PINNED_SIDECAR_IMAGE } from '../sandbox/sample-apps.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import {
  createDaprEnv,
  CUSTOM_VALUE,
  freshInstall,
  helm,
  helmHistory,
  kubectlJson,
  NAMESPACE,
  pods,
  revisionsPerWorkload,
  runDaprup,
  snapshotCluster,
  trustBundleData,
  type DaprEnv,
} from './dapr-env.js';

describe.each(HELM_FLAVOURS)('upgrades with $name', (flavour) => {
  let e: DaprEnv;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await freshInstall(e);
  });
  afterAll(async () => e?.repo.stop());

  it('plan changes nothing in the cluster', async () => {
    const before = await snapshotCluster(e);
    const history = await helmHistory(e);
    const r = await runDaprup(e, ['plan', '--to', '1.17.2', '--enable-ha', '--json', '--detailed-exitcode']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const plan = JSON.parse(r.stdout);
    expect(plan.versionPolicy).toMatchObject({ current: '1.16.18', target: '1.17.2', change: 'minor' });
    expect(plan.statefulSets.map((s: { name: string }) => s.name)).toEqual(['dapr-placement-server']);
    expect(plan.crds).toContainEqual({ name: 'configurations.dapr.io', action: 'update' });
    expect(r.stdout).not.toContain('PRIVATE KEY');
    expect(await snapshotCluster(e)).toEqual(before);
    expect(await helmHistory(e)).toEqual(history);
  });

  it.each([
    // Across minors daprup walks a path through the repository's index: a target the index lacks is refused first.
    ['a target across minors the repository lacks', '1.18.0', 'Dapr 1.18.0 is not in the chart repository index'],
    ['a downgrade', '1.15.12', 'downgrade'],
    ['an unknown version', '1.16.99', 'has no version 1.16.99'],
    ['the recalled 1.14.3', '1.14.3', 'recalled'],
  ])('refuses %s and leaves the cluster unchanged', async (_what, target, sentence) => {
    const before = await snapshotCluster(e);
    const r = await runDaprup(e, ['upgrade', '--to', target, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(sentence);
    expect(r.stderr).toMatch(/\nHint: \S/);
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('patch upgrade 1.16.18 → 1.16.19: control plane and sidecars at the target, nothing else touched', async () => {
    const bundle = await trustBundleData(e);
    const revisions = await revisionsPerWorkload(e);
    const r = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Dapr 1.16.19 is running');

    const all = await pods(e);
    const controlPlane = all.filter((p) => p.namespace === NAMESPACE);
    expect(controlPlane.length).toBeGreaterThanOrEqual(5);
    for (const p of controlPlane)
      expect(
        p.images.every((i) => i.endsWith(':1.16.19')),
        `${p.name}: ${p.images.join()}`,
      ).toBe(true);
    for (const p of all.filter((x) => x.daprd)) {
      expect(p.daprd, `${p.namespace}/${p.name}`).toBe(p.app === 'payments-legacy' ? PINNED_SIDECAR_IMAGE.split(':')[1] : '1.16.19');
    }
    const after = await revisionsPerWorkload(e);
    expect(after['apps-c/plain-web']).toBe(revisions['apps-c/plain-web']); // the app without Dapr kept its ReplicaSet
    expect(after['apps-b/payments-legacy']).toBe(revisions['apps-b/payments-legacy']); // pinned: not restarted
    expect(after['apps-a/orders']).toBe(revisions['apps-a/orders']! + 1);
    expect(await trustBundleData(e)).toBe(bundle);
    const values = JSON.parse(await helm(e, ['get', 'values', 'dapr', '-n', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig]));
    expect(values.dapr_operator.logLevel).toBe(CUSTOM_VALUE.value);

    const again = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
  });

  it('a plain helm upgrade that enables HA fails on the placement StatefulSet (the fixture is faithful)', async () => {
    const failed = await helm(e, [
      'upgrade',
      'dapr',
      'dapr/dapr',
      '--version',
      '1.16.19',
      '-n',
      NAMESPACE,
      '--reuse-values',
      '--set',
      'global.ha.enabled=true',
      '--kubeconfig',
      e.kubeconfig,
    ]).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(failed).toContain('updates to statefulset spec for fields other than');
    const last = (await helmHistory(e)).at(-1)!;
    await helm(e, ['rollback', 'dapr', String(last.revision - 1), '-n', NAMESPACE, '--wait', '--kubeconfig', e.kubeconfig]);
  });

  it('minor upgrade 1.16.19 → 1.17.2 with --enable-ha recreates placement and runs 3 replicas', async () => {
    const bundle = await trustBundleData(e);
    const r = await runDaprup(e, ['upgrade', '--to', '1.17.2', '--enable-ha', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const placement = await kubectlJson<{
      spec: { replicas: number; volumeClaimTemplates?: { metadata: { name: string } }[] };
      status: { readyReplicas: number };
    }>(e, ['get', 'statefulset', 'dapr-placement-server', '-n', NAMESPACE]);
    expect(placement.spec.replicas).toBe(3);
    expect(placement.status.readyReplicas).toBe(3);
    expect(placement.spec.volumeClaimTemplates?.map((v) => v.metadata.name)).toEqual(['raft-log']);
    // 1.17 changed the Configuration schema (stateRetentionPolicy): the applied CRD has it.
    const crd = await kubectlJson<object>(e, ['get', 'crd', 'configurations.dapr.io']);
    expect(JSON.stringify(crd)).toContain('stateRetentionPolicy');
    for (const p of (await pods(e)).filter((x) => x.daprd && x.app !== 'payments-legacy')) expect(p.daprd).toBe('1.17.2');
    expect(await trustBundleData(e)).toBe(bundle);
  });
});
