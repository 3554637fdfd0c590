// buildPlan over a read cluster (a RunContext as prepareRun leaves it, made from the tuned check fixture): what it
// restarts, which steps it marks destructive, when it has nothing to do, and that its commands carry no secret.
import { describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import type { Workload } from '../../src/cluster/k8s-types.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { CONTROL_PLANE } from '../../src/dapr/chart.js';
import type { ClusterFacts } from '../../src/dapr/discovery.js';
import { buildPlan } from '../../src/runbook/plan.js';
import type { RunContext } from '../../src/runbook/types.js';
import { appPod, controlPlaneWorkload, trustBundlePems, tunedInput, VERSION } from './check-fixtures.js';
import { FakeRunner } from './fake-runner.js';

const CHANGE_STEPS = ['apply-crds', 'recreate-statefulsets', 'helm-upgrade', 'restart-data-plane', 'upgrade-dapr-shared'];

/**
 * The tuned cluster (Dapr 1.16.19, HA on, apps orders and cart in shop) prepared for an upgrade to `target`, the
 * sidecars at `daprd`. buildPlan's own calls: the installed chart's pull (refused here: the values diff then
 * compares the user's values) and the release's computed values.
 */
function prepared(o: { target: string; daprd: string; crds?: RunContext['crds']; rendered?: Workload[] }) {
  const {
    values: _values,
    pdbs,
    components,
    configurations,
    namespaces,
    claims,
    storageClasses,
    supported: _s,
    certWarnDays: _c,
    ...checked
  } = tunedInput();
  const facts: ClusterFacts = {
    ...checked,
    pods: [
      ...checked.pods.filter((p) => p.metadata.namespace !== 'shop'),
      appPod('shop', 'orders', o.daprd),
      appPod('shop', 'cart', o.daprd),
    ],
    helmVersion: { raw: 'v4.1.4', major: 4, minor: 1, patch: 4 },
    kubectlVersion: 'v1.33.9',
    serverVersion: 'v1.33.13',
    clusterId: 'uid-1',
    userValues: { global: { ha: { enabled: true } } },
    jobs: [],
    sharedReleases: [],
  };
  const runner = new FakeRunner()
    .on('helm', ['pull'], { exitCode: 1, stderr: 'Error: chart "dapr" version "1.16.19" not found' })
    .on('helm', ['get', 'values'], JSON.stringify({ global: { ha: { enabled: true } } }));
  const change = o.target === VERSION ? 'none' : 'minor';
  const ctx: RunContext = {
    tools: { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') },
    options: {
      target: o.target,
      chart: 'dapr/dapr',
      valuesFiles: [],
      set: [],
      timeout: '10m',
      concurrency: 4,
      overrides: {},
      certWarnDays: 30,
    },
    facts,
    verdict: { current: VERSION, target: o.target, change, warnings: [] },
    workDir: '/run',
    chartDir: '/run/chart/dapr',
    targetChart: { name: 'dapr', version: o.target, appVersion: o.target },
    installedChartVersion: VERSION,
    haAfter: true,
    userOverrides: {},
    userTrustBundle: false,
    rendered: o.rendered ?? CONTROL_PLANE.map((c) => controlPlaneWorkload(c.name, o.target)),
    renderedConfig: { global: { ha: { enabled: true } } },
    crdFiles: ['/run/crds/components.yaml'],
    crds: o.crds ?? [{ name: 'components.dapr.io', action: 'unchanged' }],
    checkObjects: {
      pdbs,
      components,
      configurations,
      namespaces,
      claims: claims ?? [],
      storageClasses: storageClasses ?? [],
      unreadable: [],
    },
    log: () => {},
  };
  return { ctx, runner };
}

describe('buildPlan', () => {
  it('has nothing pending when the release, the CRDs and every sidecar already run the target', async () => {
    const { ctx } = prepared({ target: VERSION, daprd: VERSION });
    const plan = await buildPlan(ctx);
    expect(plan.changesPending).toBe(false);
    expect(plan.steps.filter((s) => CHANGE_STEPS.includes(s.id)).map((s) => [s.id, s.skip])).toEqual([
      ['apply-crds', 'every CRD already matches the target chart'],
      ['recreate-statefulsets', 'no StatefulSet changes an immutable field'],
      ['helm-upgrade', `release already at ${VERSION} with HA on`],
      ['restart-data-plane', 'every daprd daprup can reach already runs the target'],
      ['upgrade-dapr-shared', 'no Dapr Shared releases'],
    ]);
    expect(plan.steps.filter((s) => s.destructive)).toEqual([]);
    expect(plan.workloads.map((w) => [w.name, w.decision])).toEqual([
      ['orders', 'current'],
      ['cart', 'current'],
    ]);
  });

  it('lists the restarts and marks the upgrade and the restarts destructive when the sidecars are behind', async () => {
    const { ctx } = prepared({ target: '1.17.2', daprd: VERSION, crds: [{ name: 'components.dapr.io', action: 'update' }] });
    const plan = await buildPlan(ctx);
    expect(plan.changesPending).toBe(true);
    expect(plan.workloads.map((w) => [`${w.namespace}/${w.name}`, w.sidecar, w.decision])).toEqual([
      ['shop/orders', VERSION, 'restart'],
      ['shop/cart', VERSION, 'restart'],
    ]);
    expect(plan.steps.filter((s) => s.destructive).map((s) => s.id)).toEqual(['helm-upgrade', 'restart-data-plane']);
    expect(plan.steps.find((s) => s.id === 'restart-data-plane')?.commands).toContain(
      'kubectl rollout restart deployment/orders deployment/cart --namespace shop',
    );
    expect(plan.controlPlane.map((c) => [c.component, c.current, c.target])).toEqual(CONTROL_PLANE.map((c) => [c.name, VERSION, '1.17.2']));
  });

  it('only CRDs to update are changes pending too, and never destructive', async () => {
    const { ctx } = prepared({ target: VERSION, daprd: VERSION, crds: [{ name: 'components.dapr.io', action: 'update' }] });
    const plan = await buildPlan(ctx);
    expect(plan.changesPending).toBe(true);
    expect(plan.steps.find((s) => s.id === 'apply-crds')).toMatchObject({ destructive: false, skip: undefined });
  });

  it('marks a StatefulSet recreation destructive, with the bound claims it leaves at their size', async () => {
    const bigger = CONTROL_PLANE.map((c) => controlPlaneWorkload(c.name, '1.17.2'));
    bigger.find((w) => w.metadata.name === 'dapr-scheduler-server')!.spec.volumeClaimTemplates![0]!.spec.resources!.requests!.storage =
      '32Gi';
    const { ctx } = prepared({ target: '1.17.2', daprd: VERSION, rendered: bigger });
    const plan = await buildPlan(ctx);
    expect(plan.statefulSets.map((s) => s.name)).toEqual(['dapr-scheduler-server']);
    expect(plan.steps.find((s) => s.id === 'recreate-statefulsets')).toMatchObject({ destructive: true, skip: undefined });
    expect(plan.statefulSets[0]!.claimNotes?.join(' ')).toContain('keep their size');
  });

  it('shows every command with the certificate paths and never a PEM', async () => {
    const { ctx } = prepared({ target: '1.17.2', daprd: VERSION });
    const text = JSON.stringify(await buildPlan(ctx));
    expect(text).toContain('--set-file dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key');
    const pems = trustBundlePems();
    for (const secret of [pems.issuerKey, pems.rootCert]) expect(text).not.toContain(secret.split('\n')[1]!);
  });
});
