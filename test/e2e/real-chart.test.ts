// What the published Dapr charts do and the fixture models, end to end with helm 3 and helm 4: the
// scheduler's storage `lookup`, subcharts as dependencies, the Subscription CRD's conversion webhook that the
// operator patches, a pinned variant tag, helm's value precedence, a failed release, and bound claims.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_FLAVOURS } from '../support/tools.js';
import {
  createDaprEnv,
  freshInstall,
  helm,
  helmHistory,
  kubectl,
  kubectlJson,
  NAMESPACE,
  pods,
  runDaprup,
  snapshotCluster,
  trustBundleData,
  type DaprEnv,
} from './dapr-env.js';

interface Sts {
  metadata: { uid: string };
  spec: {
    replicas: number;
    volumeClaimTemplates?: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[];
  };
}
interface Crd {
  spec: { conversion: { strategy: string; webhook?: { clientConfig: { service?: { namespace: string }; caBundle?: string } } } };
}
interface PlanJson {
  statefulSets: { name: string; changes: string[]; claimNotes?: string[] }[];
  values: { key: string; from: unknown; to: unknown }[];
  crds: { name: string; action: string }[];
  ha: { now: boolean; after: boolean };
  versionPolicy: { current: string; warnings: string[] };
}

/** A snapshot once the cluster has stopped changing on its own (controllers settling after a rollout: EndpointSlices). */
async function settledSnapshot(e: DaprEnv): Promise<Map<string, string>> {
  const key = (m: Map<string, string>) => JSON.stringify([...m].sort());
  let previous = await snapshotCluster(e);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await snapshotCluster(e);
    if (key(now) === key(previous)) return now;
    previous = now;
  }
  return previous;
}

const sts = (e: DaprEnv, name: string) => kubectlJson<Sts>(e, ['get', 'statefulset', name, '-n', NAMESPACE]);
const claimSize = (s: Sts) =>
  s.spec.volumeClaimTemplates?.find((v) => v.metadata.name === 'dapr-scheduler-data-dir')?.spec.resources.requests.storage;
const subscriptionConversion = async (e: DaprEnv) =>
  (await kubectlJson<Crd>(e, ['get', 'crd', 'subscriptions.dapr.io'])).spec.conversion.webhook?.clientConfig;

describe.each(HELM_FLAVOURS)("the real charts' behaviours with $name", (flavour) => {
  let e: DaprEnv;
  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
  });
  afterAll(async () => e?.repo.stop());

  describe('1.16.19-mariner → 1.17.13 with HA from a values file', () => {
    let plan: PlanJson;
    let haFile: string;
    beforeAll(async () => {
      // The install pins the Mariner variant (global.tag) and records HA off among the user's values.
      await freshInstall(e, '1.16.19', { set: ['global.tag=1.16.19-mariner'] });
      haFile = join(e.work, 'ha.yaml');
      await writeFile(haFile, 'global:\n  ha:\n    enabled: true\n');
    });

    it('the operator stand-in patched the Subscription conversion webhook, as the real operator does at start', async () => {
      expect(await subscriptionConversion(e)).toMatchObject({ service: { namespace: NAMESPACE }, caBundle: expect.any(String) });
    });

    it('plans only what helm will do: no scheduler recreation (lookup keeps 1Gi), real value changes only, HA from the file, CRDs not reset', async () => {
      const r = await runDaprup(e, ['plan', '--to', '1.17.13', '-f', haFile, '--json', '--detailed-exitcode']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(2);
      plan = JSON.parse(r.stdout) as PlanJson;
      // 9.2: 1.17.13's default is 16Gi, but its template looks the live StatefulSet up and keeps 1Gi.
      expect(plan.statefulSets.map((s) => s.name)).toEqual(['dapr-placement-server']);
      // 9.6: the user's -f wins over daprup's own HA value.
      expect(plan.ha).toEqual({ now: false, after: true });
      // 9.7: the variant moves with the target.
      expect(plan.values).toContainEqual({ key: 'global.tag', from: '1.16.19-mariner', to: '1.17.13-mariner' });
      // 9.1: a subchart default change is a change (not a removal), and nothing is removed that the target still has.
      expect(plan.values).toContainEqual({ key: 'dapr_scheduler.cluster.storageSize', from: '1Gi', to: '16Gi' });
      expect(plan.values.filter((v) => v.to === undefined)).toEqual([]);
      expect(plan.values.length).toBeLessThan(15);
      // 9.5: the operator's conversion settings are kept, so the Subscription CRD is no change.
      expect(plan.crds).toContainEqual({ name: 'subscriptions.dapr.io', action: 'unchanged' });
    });

    it('upgrades: scheduler kept (same uid, 1Gi), HA on, every image at 1.17.13-mariner, conversion settings intact', async () => {
      const before = await sts(e, 'dapr-scheduler-server');
      const bundle = await trustBundleData(e);
      const r = await runDaprup(e, ['upgrade', '--to', '1.17.13', '-f', haFile, '--yes']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const after = await sts(e, 'dapr-scheduler-server');
      expect(after.metadata.uid).toBe(before.metadata.uid);
      expect(claimSize(after)).toBe('1Gi');
      expect((await sts(e, 'dapr-placement-server')).spec.replicas).toBe(3);
      const all = await pods(e);
      for (const p of all.filter((x) => x.namespace === NAMESPACE))
        expect(
          p.images.every((i) => i.endsWith(':1.17.13-mariner')),
          `${p.name}: ${p.images.join()}`,
        ).toBe(true);
      for (const p of all.filter((x) => x.daprd && x.app !== 'payments-legacy'))
        expect(p.daprd, `${p.namespace}/${p.name}`).toBe('1.17.13-mariner');
      expect(await subscriptionConversion(e)).toMatchObject({ service: { namespace: NAMESPACE }, caBundle: expect.any(String) });
      expect(await trustBundleData(e)).toBe(bundle);
    });

    it('then has nothing to do: plan --detailed-exitcode exits 0 (the CRDs no longer count as an update)', async () => {
      const r = await runDaprup(e, ['plan', '--to', '1.17.13', '--json', '--detailed-exitcode']);
      expect(r.stderr).toBe('');
      const p = JSON.parse(r.stdout) as PlanJson;
      expect(p.crds.filter((c) => c.action !== 'unchanged')).toEqual([]);
      expect(r.code).toBe(0);
    });
  });

  describe('a failed release on top of 1.15.12', () => {
    beforeAll(async () => {
      await freshInstall(e, '1.15.12');
      // Enabling HA with a plain helm upgrade fails on placement's immutable claim: the release is `failed` while
      // the Deployments already run 1.16.19 and placement still 1.15.12.
      const failed = await helm(e, [
        'upgrade',
        'dapr',
        'dapr/dapr',
        '--version',
        '1.16.19',
        '-n',
        NAMESPACE,
        '--reset-then-reuse-values',
        '--set',
        'global.ha.enabled=true',
        '--kubeconfig',
        e.kubeconfig,
      ]).then(
        () => '',
        (err: Error) => err.message,
      );
      expect(failed).toContain('updates to statefulset spec for fields other than');
      expect((await helmHistory(e)).at(-1)?.status).toBe('failed');
      // What helm did apply rolls out; wait for it so the refusal below is measured against a still cluster.
      const deployments = ['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector'];
      for (const d of deployments) await kubectl(e, ['rollout', 'status', `deployment/${d}`, '-n', NAMESPACE, '--timeout=120s']);
      await kubectl(e, [
        'wait',
        'pods',
        '--for=delete',
        '-n',
        NAMESPACE,
        '-l',
        `app.kubernetes.io/version=1.15.12,app in (${deployments.join(',')})`,
        '--timeout=120s',
      ]);
    });

    it('refuses a target a minor beyond what runs, explains the failed revision and both ways out, and changes nothing', async () => {
      const before = await settledSnapshot(e);
      const r = await runDaprup(e, ['upgrade', '--to', '1.17.13', '--yes']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /revision of release dapr \(2, Dapr 1\.16\.19\) failed; the control plane runs 1\.15\.12\. 1\.15\.12 → 1\.17\.13 skips minor version 1\.16/,
      );
      expect(r.stderr).toMatch(
        /Hint: Retry the failed upgrade \(daprup upgrade --to 1\.16\.19\) or roll back first \(helm rollback dapr 1 -n dapr-system/,
      );
      expect(await snapshotCluster(e)).toEqual(before);
    });

    it('retries the failed target to the end, subchart default changes of 1.15 → 1.16 shown in the plan', async () => {
      const planned = await runDaprup(e, ['plan', '--to', '1.16.19', '--json']);
      expect(planned.code).toBe(0);
      const plan = JSON.parse(planned.stdout) as PlanJson;
      expect(plan.versionPolicy.current).toBe('1.15.12');
      expect(plan.versionPolicy.warnings[0]).toContain('retrying that upgrade');
      expect(plan.values.filter((v) => v.to === undefined)).toEqual([]);
      const r = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((await helmHistory(e)).at(-1)?.status).toBe('deployed');
      for (const p of (await pods(e)).filter((x) => x.namespace === NAMESPACE))
        expect(
          p.images.every((i) => i.endsWith(':1.16.19')),
          `${p.name}: ${p.images.join()}`,
        ).toBe(true);
    });
  });
});

describe('bound scheduler claims after a storage change (helm 4)', () => {
  let e: DaprEnv;
  beforeAll(async () => {
    e = await createDaprEnv(HELM_FLAVOURS[1]!, inject('kubeconfig'));
    await freshInstall(e, '1.16.15'); // before the chart looked the live size up
  });
  afterAll(async () => e?.repo.stop());

  it('plan and check speak of the bound claims, which keep 1Gi when the StatefulSet is recreated with 16Gi', async () => {
    const set = ['--set', 'dapr_scheduler.cluster.storageSize=16Gi'];
    const planned = await runDaprup(e, ['plan', '--to', '1.16.15', ...set, '--json']);
    expect(planned.stderr).toBe('');
    const plan = JSON.parse(planned.stdout) as PlanJson;
    const scheduler = plan.statefulSets.find((s) => s.name === 'dapr-scheduler-server');
    expect(scheduler?.changes).toEqual(['volumeClaimTemplates: dapr-scheduler-data-dir storage 1Gi → 16Gi']);
    expect(scheduler?.claimNotes?.[0]).toMatch(
      /^The bound claims keep their size: dapr-scheduler-data-dir-dapr-scheduler-server-0 \(1Gi\), .*-2 \(1Gi\); only new replicas get 16Gi\. Grow them after the upgrade \(StorageClass \S+ (does not allow|allows) expansion/,
    );

    const r = await runDaprup(e, ['upgrade', '--to', '1.16.15', ...set, '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(claimSize(await sts(e, 'dapr-scheduler-server'))).toBe('16Gi');
    const claims = await kubectlJson<{ items: { metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }[] }>(
      e,
      ['get', 'pvc', '-n', NAMESPACE, '-l', 'app=dapr-scheduler-server'],
    );
    expect(claims.items.map((c) => c.spec.resources.requests.storage)).toEqual(['1Gi', '1Gi', '1Gi']);

    const checked = await runDaprup(e, ['check', '--json']);
    const storage = (
      JSON.parse(checked.stdout) as { checks: { id: string; severity: string; finding: string; fix: string }[] }
    ).checks.find((c) => c.id === 'control-plane-scheduler-storage');
    expect(storage?.severity).toBe('warning');
    expect(storage?.finding).toBe(
      "Scheduler storage is persistent but its bound claims hold 1Gi per replica (Dapr advises at least 16Gi) (the StatefulSet's template asks 16Gi for new claims only).",
    );
    expect(storage?.fix).toContain('kubectl patch pvc dapr-scheduler-data-dir-dapr-scheduler-server-0 -n dapr-system');
  });
});
