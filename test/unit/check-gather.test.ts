// `daprup check` end to end over a fake runner: which helm/kubectl processes it starts (few, read-only), how it
// degrades when a kind cannot be read, and what the text report looks like.
import { describe, expect, it } from 'vitest';
import { checkCluster } from '../../src/operations/check.js';
import { readCheckObjects } from '../../src/dapr/check-objects.js';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { renderCheckReport } from '../../src/ui/check-render.js';
import { app, component, NS, trustBundlePems, tunedInput } from './check-fixtures.js';
import { FakeRunner } from './fake-runner.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const EXTRA = 'poddisruptionbudgets,components.dapr.io,configurations.dapr.io,namespaces,persistentvolumeclaims,storageclasses';

/** A fake cluster answering every read `daprup check` makes, from the tuned fixture with a few edits. */
function fakeCluster(edit: (input: ReturnType<typeof tunedInput>) => void = () => undefined) {
  const input = tunedInput();
  edit(input);
  const pems = trustBundlePems();
  const runner = new FakeRunner()
    .on('helm', ['version'], 'v4.1.4+g1\n')
    .on('kubectl', ['version'], JSON.stringify({ clientVersion: { gitVersion: 'v1.33.9' }, serverVersion: { gitVersion: 'v1.33.13' } }))
    .on(
      'helm',
      ['list'],
      JSON.stringify([{ name: 'dapr', namespace: NS, revision: '3', status: 'deployed', chart: 'dapr-1.16.19', app_version: '1.16.19' }]),
    )
    .on('helm', ['get', 'values'], (args) => JSON.stringify(args.includes('--all') ? input.values : { global: { ha: { enabled: true } } }))
    // Deployments and pods are read raw (FakeRunner answers `get --raw` from these rules), the rest with kubectl get.
    .on('kubectl', ['get', 'deployments,statefulsets,daemonsets'], list([...input.controlPlaneWorkloads, ...input.workloads]))
    .on(
      'kubectl',
      ['get', 'statefulsets,daemonsets,jobs.batch,cronjobs.batch'],
      list([...input.controlPlaneWorkloads, ...input.workloads].filter((w) => w.kind !== 'Deployment')),
    )
    .on('kubectl', ['get', 'pods'], list(input.pods))
    .on(
      'kubectl',
      ['get', 'namespace/kube-system'],
      list([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', uid: 'uid-1' } },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'dapr-trust-bundle', namespace: NS },
          data: { 'ca.crt': b64(pems.rootCert), 'issuer.crt': b64(pems.issuerCert), 'issuer.key': b64(pems.issuerKey) },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dapr-trust-bundle', namespace: NS }, data: { 'ca.crt': pems.rootCert } },
        {
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Configuration',
          metadata: { name: 'daprsystem', namespace: NS },
          spec: { mtls: { enabled: input.mtlsEnabled } },
        },
      ]),
    )
    .on(
      'kubectl',
      ['get', EXTRA],
      list([
        ...input.pdbs,
        ...input.components,
        ...input.configurations,
        ...input.namespaces,
        ...(input.claims ?? []),
        ...(input.storageClasses ?? []),
      ]),
    )
    // Discovery folds the checks' kinds into its own `kubectl get -A` of the workloads beside Deployments.
    .on(
      'kubectl',
      ['get', `${WORKLOADS},${EXTRA}`],
      list([
        ...[...input.controlPlaneWorkloads, ...input.workloads].filter((w) => w.kind !== 'Deployment'),
        ...input.pdbs,
        ...input.components,
        ...input.configurations,
        ...input.namespaces,
        ...(input.claims ?? []),
        ...(input.storageClasses ?? []),
      ]),
    )
    .on(
      'helm',
      ['search', 'repo'],
      JSON.stringify(['1.18.2', '1.17.2', '1.16.19', '1.15.12'].map((v) => ({ name: 'dapr/dapr', version: v, app_version: v }))),
    );
  const tools = { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') };
  return { runner, tools };
}

const options = { chart: 'dapr/dapr', certWarnDays: 30, strict: false };
const WORKLOADS = 'statefulsets,daemonsets,jobs.batch,cronjobs.batch';

describe('daprup check over a fake cluster', () => {
  it("reads everything in 10 read-only processes, PDBs, Components, Configurations, namespaces, claims and StorageClasses in the workloads' call", async () => {
    const { runner, tools } = fakeCluster();
    const report = await checkCluster(tools, options);
    expect(runner.calls).toHaveLength(10);
    const lines = runner.commandLines();
    expect(lines.filter((l) => l.includes(EXTRA))).toEqual([`kubectl get ${WORKLOADS},${EXTRA} -o json --all-namespaces`]);
    expect(lines.some((l) => l.includes('argoproj.io'))).toBe(false); // no pod says a Rollout exists
    expect(lines).toContain('helm get values dapr --namespace dapr-system --all -o json');
    for (const l of lines) expect(l).toMatch(/^(helm (version|list|get values|search repo)|kubectl (version|get)) /);
    expect(report.supportedMinors).toEqual({ minors: ['1.18', '1.17', '1.16'], source: 'chart repository index of dapr/dapr' });
    expect(report.failed).toBe(false);
    expect(report.summary).toEqual({ ok: 26, warning: 0, failure: 0, info: 1 });
  });

  it('fails on a plaintext secret and passes warnings unless --strict', async () => {
    const poor = fakeCluster((i) => {
      i.components = [component('shop', 'statestore', [{ name: 'redisPassword', value: 'hunter2' }])];
      i.workloads = [app('shop', 'orders', { 'dapr.io/enabled': 'true' })];
    });
    const report = await checkCluster(poor.tools, options);
    expect(report.failed).toBe(true);
    expect(report.checks.filter((c) => c.severity === 'failure').map((c) => c.id)).toEqual(['component-secrets']);
    expect(JSON.stringify(report)).not.toContain('hunter2');

    const warnedOnly = fakeCluster((i) => {
      i.workloads = [app('shop', 'orders', { 'dapr.io/enabled': 'true' })];
    });
    expect((await checkCluster(warnedOnly.tools, options)).failed).toBe(false);
    expect(
      (
        await checkCluster(
          fakeCluster((i) => {
            i.workloads = [app('shop', 'orders', { 'dapr.io/enabled': 'true' })];
          }).tools,
          { ...options, strict: true },
        )
      ).failed,
    ).toBe(true);
  });

  it('uses the built-in supported minors when the chart repository is not configured', async () => {
    const { runner, tools } = fakeCluster();
    runner.on('helm', ['search', 'repo'], { exitCode: 1, stderr: 'Error: no repositories configured' });
    const report = await checkCluster(tools, options);
    expect(report.supportedMinors.source).toMatch(/^built-in list as of \d{4}-\d\d-\d\d$/);
  });

  it('reads each kind alone when the combined call fails, and names what it could not read', async () => {
    const runner = new FakeRunner()
      .on('kubectl', ['get', EXTRA], { exitCode: 1, stderr: 'error: the server doesn\'t have a resource type "components"' })
      .on(
        'kubectl',
        ['get', 'poddisruptionbudgets'],
        list([{ kind: 'PodDisruptionBudget', metadata: { name: 'p', namespace: NS }, spec: {} }]),
      )
      .on('kubectl', ['get', 'components.dapr.io'], { exitCode: 1, stderr: 'forbidden' })
      .on('kubectl', ['get', 'configurations.dapr.io'], list([]))
      .on('kubectl', ['get', 'namespaces'], list([{ kind: 'Namespace', metadata: { name: 'a' } }]))
      .on('kubectl', ['get', 'persistentvolumeclaims'], list([]))
      .on('kubectl', ['get', 'storageclasses'], list([]));
    const objects = await readCheckObjects(new Kubectl(runner, 'kubectl'));
    expect(objects.unreadable).toEqual(['components']);
    expect(objects.pdbs.map((p) => p.metadata.name)).toEqual(['p']);
    expect(objects.namespaces.map((n) => n.metadata.name)).toEqual(['a']);
    expect(runner.calls).toHaveLength(7);
  });
});

describe('check report text', () => {
  it('groups checks with marks; every non-ok check gets indented why and fix lines', async () => {
    const { tools } = fakeCluster((i) => {
      i.components = [component('shop', 'statestore', [{ name: 'redisPassword', value: 'hunter2' }])];
      i.values = { ...i.values, global: { prometheus: { enabled: false } } };
    });
    const text = renderCheckReport(await checkCluster(tools, options));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Dapr 1.16.19: release dapr in dapr-system (chart 1.16.19, revision 3)');
    expect(lines.filter((l) => /^[A-Z]/.test(l) && !l.includes(':') && !l.includes('.'))).toEqual([
      'Control plane',
      'Sidecars',
      'Security',
      'Observability',
      'Versions',
    ]);
    const secret = lines.findIndex((l) => l.startsWith('  ✖ Plaintext secrets in Component metadata: shop/statestore (redisPassword).'));
    expect(secret).toBeGreaterThan(0);
    expect(lines[secret + 1]).toMatch(/^ {6}why: /);
    expect(lines[secret + 2]).toMatch(/^ {6}fix: .*secretKeyRef/);
    expect(lines).toContain('  ⚠ Metrics are off (global.prometheus.enabled=false).');
    expect(lines.some((l) => l.startsWith('  ✔ mTLS is enabled'))).toBe(true);
    expect(lines.some((l) => l.startsWith('  ℹ Seccomp: not checked'))).toBe(true);
    expect(lines.slice(-2)).toEqual(['1 failure, 1 warning, 23 ok, 2 info.', 'Status: failed (exit 1).']);
  });
});

describe('production checks in the plan', () => {
  const ctxFor = (haAfter: boolean) => {
    const input = tunedInput();
    const { values: _values, pdbs, components, configurations, namespaces, supported: _s, certWarnDays: _c, ...facts } = input;
    return {
      facts: {
        ...facts,
        haEnabled: false,
        controlPlane: facts.controlPlane.map((c) => ({ ...c, desired: c.name === 'dapr-scheduler-server' ? 3 : 1 })),
      },
      checkObjects: {
        pdbs: [],
        components: [...components, component('shop', 'leaky', [{ name: 'password', value: 'x' }], ['a'])],
        configurations,
        namespaces,
        unreadable: [],
      },
      chartVersions: ['1.17.2', '1.16.19', '1.15.12'],
      options: { target: '1.17.2', chart: 'dapr/dapr', certWarnDays: 30 },
      haAfter,
    } as never;
  };

  it('keeps failures (first) and warnings only, with fixes at the target and HA advice pointing at --enable-ha', async () => {
    const { productionChecks } = await import('../../src/runbook/plan.js');
    const checks = productionChecks(ctxFor(false), { global: { prometheus: { enabled: true } }, dapr_operator: { watchInterval: '1m' } });
    // Failures first.
    expect(checks.map((c) => [c.id, c.severity])).toEqual([
      ['component-secrets', 'failure'],
      ['control-plane-ha', 'warning'],
    ]);
    expect(checks[1]!.fix).toBe(
      'Add --enable-ha to this upgrade: daprup upgrade --to 1.17.2 --enable-ha (recreates the placement StatefulSet).',
    );
    const turningOn = productionChecks(ctxFor(true), { global: { prometheus: { enabled: false } } });
    expect(turningOn.find((c) => c.id === 'control-plane-ha')?.finding).toMatch(/This upgrade turns HA on\.$/);
    expect(turningOn.find((c) => c.id === 'metrics')?.fix).toMatch(/^daprup upgrade --to 1\.17\.2 --set global\.prometheus\.enabled=true,/);
  });

  it('has no checks, and no error, when their extra read failed', async () => {
    const { productionChecks } = await import('../../src/runbook/plan.js');
    expect(productionChecks({ ...(ctxFor(false) as object), checkObjects: undefined } as never, {})).toEqual([]);
  });
});
