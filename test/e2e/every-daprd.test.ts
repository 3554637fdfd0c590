// Every daprd in the cluster, end to end with helm 3 and helm 4: the annotation as users spell it, a native
// sidecar, an Argo Rollout (helm 3 run: the Argo Rollouts stand-in is running; helm 4 run: its CRD is absent and
// nothing is asked of it), OnDelete workloads, a bare ReplicaSet, a running Job, a CronJob, bare Pods, pods of
// another controller, daprd written into a template, and two Dapr Shared releases (daemonset and deployment).
// Each is restarted, upgraded or named exactly as documented, and a rerun after success restarts nothing.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deployEveryKind, KINDS_NAMESPACE, type KindApp } from '../sandbox/every-kind-apps.js';
import { KubeApi } from '../sandbox/kube-api.js';
import { startArgoRollouts, type ArgoRollouts } from '../sandbox/rollouts.js';
import { DAPR_SHARED_CHART } from '../support/fixture-charts.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import { createDaprEnv, freshInstall, helm, kubectl, kubectlJson, resetCluster, runDaprup, type DaprEnv } from './dapr-env.js';

const FROM = '1.17.13';
const TO = '1.18.3';
const SHARED_NS = 'shared';
const SHARED_CHART = ['--shared-chart', `dapr/${DAPR_SHARED_CHART.name}`];

interface LivePod {
  uid: string;
  name: string;
  owner: string;
  daprd?: string;
  native: boolean;
}
type PodJson = {
  metadata: {
    uid: string;
    name: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string; restartPolicy?: string }[] };
};

/** Pods of a namespace: uid, daprd tag (container or native sidecar), and the app label that names their app. */
async function livePods(e: DaprEnv, ns: string): Promise<LivePod[]> {
  const { items } = await kubectlJson<{ items: PodJson[] }>(e, ['get', 'pods', '-n', ns]);
  return items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => {
      const native = p.spec.initContainers?.find((c) => c.name === 'daprd' && c.restartPolicy === 'Always');
      const daprd = p.spec.containers.find((c) => c.name === 'daprd') ?? native;
      const owner = p.metadata.labels?.app ?? p.metadata.labels?.['app.kubernetes.io/instance'] ?? p.metadata.name;
      return { uid: p.metadata.uid, name: p.metadata.name, owner, daprd: daprd?.image.split(':').pop(), native: !!native };
    });
}

/** The pods of one app (by its app label; bare Pods and the custom controller's pod by name). */
const podsOf = (all: LivePod[], a: KindApp) =>
  all.filter(
    (p) => p.owner === a.name || (a.kind === 'ConfigMap' && p.name === 'custom-controller-0') || (a.kind === 'Pod' && p.name === a.name),
  );

describe.each(HELM_FLAVOURS)('every daprd with $name', (flavour) => {
  const withArgo = flavour.name === 'helm3';
  let e: DaprEnv;
  let apps: KindApp[];
  let argo: ArgoRollouts | undefined;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'), { daprShared: true });
    await freshInstall(e, FROM); // resets the cluster first, the Rollout CRD included
    if (withArgo) argo = await startArgoRollouts({ api: KubeApi.fromKubeconfig(e.kubeconfig) });
    apps = await deployEveryKind(flavour.kubectl, e.kubeconfig, { rollouts: withArgo });
    const install = (name: string, set: string[]) =>
      helm(e, [
        'install',
        name,
        `dapr/${DAPR_SHARED_CHART.name}`,
        '--version',
        DAPR_SHARED_CHART.version,
        '-n',
        SHARED_NS,
        '--create-namespace',
        ...set.flatMap((s) => ['--set', s]),
        '--wait',
        '--timeout',
        '3m',
        '--kubeconfig',
        e.kubeconfig,
      ]);
    // The chart's defaults: a DaemonSet, daprd 1.15.7, Sentry on :80, mTLS off.
    await install('orders', ['shared.appId=orders-shared']);
    await install('checkout', [
      'shared.appId=checkout-shared',
      'shared.strategy=deployment',
      'shared.deployment.replicas=2',
      `shared.daprd.image.tag=${FROM}`,
      'shared.controlPlane.sentry.port=443',
      'shared.daprd.mtls.enabled=true',
    ]);
  }, 900_000);

  afterAll(async () => {
    await argo?.stop();
    if (e) await resetCluster(e); // the other e2e files never see these namespaces, releases or the Rollout CRD
    await e?.repo.stop();
  }, 600_000);

  it('plan names every daprd and what the upgrade does with it, Dapr Shared included', async () => {
    const r = await runDaprup(e, ['plan', '--to', TO, '--json', ...SHARED_CHART]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      workloads: { kind: string; namespace: string; name: string; decision: string; sidecar: string; action: string }[];
      sharedReleases: { name: string; daprd: string; after: string; sentryAddress: string; mtls: boolean }[];
      steps: { id: string; skip?: string; commands: string[] }[];
      checks: { id: string; severity: string }[];
    };
    const decision = (a: KindApp) =>
      plan.workloads.find((w) => w.kind === a.kind && w.namespace === KINDS_NAMESPACE && w.name === a.name)?.decision;
    const expected = { restarted: 'restart', 'recreated-with-flag': 'unreached', unreached: 'unreached', 'next-run': 'next-run' } as const;
    for (const a of apps) expect(decision(a), a.key).toBe(expected[a.expect]);
    expect(plan.workloads.find((w) => w.name === 'paused')!.action).toContain('kubectl rollout resume deployment/paused --namespace kinds');
    expect(plan.workloads.find((w) => w.name === 'ondelete-sts')!.action).toContain('--recreate-pods');
    expect(plan.sharedReleases.map((s) => [s.name, s.daprd, s.after, s.mtls]).sort()).toEqual([
      ['checkout', FROM, TO, true],
      ['orders', '1.15.7', TO, false],
    ]);
    expect(plan.sharedReleases.find((s) => s.name === 'orders')!.sentryAddress).toMatch(/:80$/);
    expect(plan.checks).toContainEqual(expect.objectContaining({ id: 'dapr-shared', severity: 'failure' }));
    const shared = plan.steps.find((s) => s.id === 'upgrade-dapr-shared')!;
    expect(shared.skip).toBeUndefined();
    expect(shared.commands.join('\n')).toContain(`--reuse-values --set shared.daprd.image.tag=${TO}`);
    // Rollouts are read raw: with the CRD absent the API answers 404, nothing else is asked of it.
    const restart = plan.steps.find((s) => s.id === 'restart-data-plane')!.commands.join('\n');
    expect(restart.includes('rollouts.argoproj.io canary')).toBe(withArgo);

    const allowed = JSON.parse(
      (await runDaprup(e, ['plan', '--to', TO, '--json', '--recreate-pods', '--recreate-bare-pods', ...SHARED_CHART])).stdout,
    ) as typeof plan;
    for (const a of apps.filter((x) => x.expect === 'recreated-with-flag')) {
      expect(allowed.workloads.find((w) => w.kind === a.kind && w.name === a.name)?.decision, a.key).toBe('restart');
    }
  });

  it('upgrade restarts what rolls, upgrades Dapr Shared with its values kept, and names what it cannot reach', async () => {
    const before = await livePods(e, KINDS_NAMESPACE);
    const r = await runDaprup(e, ['upgrade', '--to', TO, '--yes', ...SHARED_CHART]);
    expect(r.code, r.stderr).toBe(0);
    const lastLine = r.stdout.trim().split('\n').at(-1)!;
    expect(lastLine).toContain(`Dapr ${TO} is running: control plane and every reachable daprd verified`);
    expect(lastLine).toMatch(/\d+ daprd out of reach: /);
    expect(lastLine).not.toMatch(/every daprd verified/);
    const after = await livePods(e, KINDS_NAMESPACE);
    for (const a of apps) {
      const was = podsOf(before, a);
      const now = podsOf(after, a);
      if (a.expect === 'next-run') continue;
      expect(now.length, a.key).toBeGreaterThan(0);
      if (a.expect === 'restarted') {
        for (const p of now) expect(p.daprd, `${a.key} ${p.name}`).toBe(TO);
        expect(
          now.some((p) => was.some((w) => w.uid === p.uid)),
          a.key,
        ).toBe(false);
      } else {
        expect(now.map((p) => p.uid).sort(), a.key).toEqual(was.map((p) => p.uid).sort());
        for (const p of now) expect(p.daprd, `${a.key} ${p.name}`).toBe(FROM);
        expect(`${r.stdout}\n${r.stderr}`, a.key).toContain(`not reached: ${a.key}`);
      }
    }
    expect(podsOf(after, apps.find((a) => a.name === 'native')!).every((p) => p.native)).toBe(true);

    const shared = await livePods(e, SHARED_NS);
    expect(shared.length).toBe(3 + 2); // a DaemonSet on three nodes, a Deployment of two
    for (const p of shared) expect(p.daprd, p.name).toBe(TO);
    const values = JSON.parse(await helm(e, ['get', 'values', 'checkout', '-n', SHARED_NS, '-o', 'json', '--kubeconfig', e.kubeconfig]));
    expect(values.shared).toMatchObject({
      appId: 'checkout-shared',
      strategy: 'deployment',
      deployment: { replicas: 2 },
      daprd: { image: { tag: TO }, mtls: { enabled: true } },
      controlPlane: { sentry: { port: 443 } },
    });
    expect(
      JSON.parse(await helm(e, ['get', 'values', 'orders', '-n', SHARED_NS, '-o', 'json', '--kubeconfig', e.kubeconfig])).shared,
    ).toMatchObject({ appId: 'orders-shared', daprd: { image: { tag: TO } } });
  });

  it('restart --strict fails on what is out of reach; --recreate-pods and --recreate-bare-pods replace those pods', async () => {
    const strict = await runDaprup(e, ['restart', '--yes', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('daprd out of reach');
    expect(strict.stderr).toMatch(/\nHint: \S/);

    const before = await livePods(e, KINDS_NAMESPACE);
    const r = await runDaprup(e, ['restart', '--yes', '--recreate-pods', '--recreate-bare-pods']);
    expect(r.code, r.stderr).toBe(0);
    const after = await livePods(e, KINDS_NAMESPACE);
    for (const a of apps.filter((x) => x.expect === 'recreated-with-flag')) {
      const now = podsOf(after, a);
      expect(now.length, a.key).toBe(podsOf(before, a).length);
      for (const p of now) expect(p.daprd, `${a.key} ${p.name}`).toBe(TO);
      if (a.kind !== 'Pod')
        expect(
          now.some((p) => podsOf(before, a).some((w) => w.uid === p.uid)),
          a.key,
        ).toBe(false);
    }
    for (const a of apps.filter((x) => x.expect === 'unreached')) {
      expect(
        podsOf(after, a)
          .map((p) => p.uid)
          .sort(),
        a.key,
      ).toEqual(
        podsOf(before, a)
          .map((p) => p.uid)
          .sort(),
      );
    }
  });

  it('status shows Dapr Shared and names what is out of reach; a rerun restarts nothing', async () => {
    const s = await runDaprup(e, ['status', '--json']);
    expect(s.code).toBe(0);
    const status = JSON.parse(s.stdout) as {
      sharedReleases: { name: string; daprd: string; skew: string }[];
      unreached: { key: string }[];
    };
    expect(status.sharedReleases.map((x) => [x.name, x.daprd, x.skew]).sort()).toEqual([
      ['checkout', TO, 'none'],
      ['orders', TO, 'none'],
    ]);
    expect(status.unreached.map((u) => u.key).sort()).toEqual(
      apps
        .filter((a) => a.expect === 'unreached')
        .map((a) => a.key)
        .sort(),
    );

    const pods = await livePods(e, KINDS_NAMESPACE);
    const shared = await livePods(e, SHARED_NS);
    const again = await runDaprup(e, ['upgrade', '--to', TO, '--yes', ...SHARED_CHART]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(again.stdout).toContain('out of reach');
    expect((await livePods(e, KINDS_NAMESPACE)).map((p) => p.uid).sort()).toEqual(pods.map((p) => p.uid).sort());
    expect((await livePods(e, SHARED_NS)).map((p) => p.uid).sort()).toEqual(shared.map((p) => p.uid).sort());
    const rollouts = withArgo
      ? await kubectl(e, ['get', 'rollouts.argoproj.io', 'canary', '-n', KINDS_NAMESPACE, '-o', 'jsonpath={.status.phase}'])
      : 'Healthy';
    expect(rollouts).toBe('Healthy');
  });
});
