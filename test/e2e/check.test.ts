// `daprup check` against the sandbox control plane (helm 4): a deliberately poor install fails with the findings a
// person would fix (no HA, sidecars without limits, a Component with a plaintext password) and exit 1; a tuned
// install (HA, PDBs, sidecar annotations with GOMEMLIMIT, secretKeyRef, priority class, watchdog) passes --strict.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_FLAVOURS } from '../support/tools.js';
import { createDaprEnv, installDapr, kubectl, resetCluster, runDaprup, type DaprEnv } from './dapr-env.js';
import { TUNED_ANNOTATIONS as TUNED_FIXTURE_ANNOTATIONS } from '../unit/check-fixtures.js';

const APP_NS = 'apps-a'; // one of APP_NAMESPACES: resetCluster removes it
const PASSWORD = 'hunter2-plaintext';

interface Check {
  id: string;
  severity: string;
  finding: string;
  fix: string;
  affected?: { count: number; names: string[] };
}
interface Report {
  failed: boolean;
  summary: Record<string, number>;
  supportedMinors: { minors: string[]; source: string };
  checks: Check[];
}

const TUNED_VALUES = [
  'global.priorityClassName=system-cluster-critical',
  'global.ha.topologyKey=kubernetes.io/hostname',
  'dapr_operator.watchInterval=1m',
  'dapr_scheduler.cluster.storageSize=16Gi',
  ...['dapr_operator', 'dapr_sentry', 'dapr_sidecar_injector', 'dapr_placement', 'dapr_scheduler'].map((c) => `${c}.resources.limits=null`),
];

// The unit fixtures' tuned sidecar annotations, without dapr.io/enabled (the sample apps set that themselves).
const { 'dapr.io/enabled': _enabled, ...TUNED_ANNOTATIONS } = TUNED_FIXTURE_ANNOTATIONS;

/** The app `orders`, a state store Component, and (tuned) the Secrets it references and a tracing Configuration. */
async function deployApp(e: DaprEnv, tuned: boolean): Promise<void> {
  const labels = { app: 'orders' };
  const items: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NS } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'orders', namespace: APP_NS, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: {
              'dapr.io/enabled': 'true',
              'dapr.io/app-id': 'orders',
              'dapr.io/app-port': '8080',
              ...(tuned ? TUNED_ANNOTATIONS : {}),
            },
          },
          spec: {
            ...(tuned ? { automountServiceAccountToken: false } : {}),
            containers: [{ name: 'orders', image: 'ghcr.io/example/orders:1.0.0', ports: [{ containerPort: 8080 }] }],
          },
        },
      },
    },
    {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: { name: 'statestore', namespace: APP_NS },
      spec: {
        type: 'state.redis',
        version: 'v1',
        metadata: [
          { name: 'redisHost', value: 'redis:6379' },
          tuned ? { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } } : { name: 'redisPassword', value: PASSWORD },
        ],
      },
      ...(tuned ? { scopes: ['orders'] } : {}),
    },
  ];
  if (tuned) {
    items.push(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redis', namespace: APP_NS }, stringData: { password: PASSWORD } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dapr-api-token', namespace: APP_NS },
        stringData: { token: 'a-random-token' },
      },
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: 'tracing', namespace: APP_NS },
        spec: { tracing: { samplingRate: '1', otel: { endpointAddress: 'otel-collector:4317', isSecure: false, protocol: 'grpc' } } },
      },
    );
  }
  const file = join(e.work, `app-${tuned ? 'tuned' : 'poor'}.json`);
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await kubectl(e, ['apply', '-f', file]);
  await kubectl(e, ['rollout', 'status', 'deployment/orders', '-n', APP_NS, '--timeout=120s']);
}

const byId = (r: Report) => Object.fromEntries(r.checks.map((c) => [c.id, c]));

describe('daprup check with helm4', () => {
  const flavour = HELM_FLAVOURS[1]!;
  let e: DaprEnv;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await resetCluster(e);
  });
  afterAll(async () => e?.repo.stop());

  it('fails a poor install (no HA, sidecars without limits, a plaintext password) with exit 1', async () => {
    await installDapr(e, '1.16.19');
    await deployApp(e, false);

    const r = await runDaprup(e, ['check', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(PASSWORD);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.failed).toBe(true);
    const checks = byId(report);
    expect(report.checks.filter((c) => c.severity === 'failure').map((c) => c.id)).toEqual(['component-secrets']);
    expect(checks['component-secrets']!.affected).toEqual({ count: 1, names: [`${APP_NS}/statestore (redisPassword)`] });
    expect(checks['control-plane-ha']).toMatchObject({ severity: 'warning', affected: { count: 4 } });
    expect(checks['control-plane-ha']!.fix).toContain('daprup upgrade --to 1.16.19 --enable-ha');
    expect(checks['sidecar-resources']).toMatchObject({
      severity: 'warning',
      affected: { count: 1, names: [`${APP_NS}/orders (no cpu-request, cpu-limit, memory-request, memory-limit)`] },
    });
    // The fixture chart, like many real installs, limits control-plane memory, leaves the watchdog off and the
    // priority class unset, and gives the scheduler 1Gi.
    for (const id of [
      'control-plane-memory-limits',
      'control-plane-watchdog',
      'control-plane-priority-class',
      'control-plane-scheduler-storage',
      'sidecar-api-token',
      'sidecar-service-account-token',
    ]) {
      expect(checks[id]?.severity, id).toBe('warning');
    }
    for (const id of ['control-plane-ready', 'mtls', 'trust-bundle-roots-equal', 'metrics', 'version-skew'])
      expect(checks[id]?.severity, id).toBe('ok');
    expect(checks['component-scopes']!.severity).toBe('info');
    // Supported minors come from the (loopback) chart repository the user has configured.
    expect(report.supportedMinors).toEqual({ minors: ['1.18', '1.17', '1.16'], source: 'chart repository index of dapr/dapr' });

    const text = await runDaprup(e, ['check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`  ✖ Plaintext secrets in Component metadata: ${APP_NS}/statestore (redisPassword).`);
    expect(text.stdout).toMatch(/\n {2}⚠ HA is off: .*\n {6}why: .*\n {6}fix: daprup upgrade --to 1\.16\.19 --enable-ha/);
    expect(text.stdout).toContain('Status: failed (exit 1).');

    // The plan carries the same advice (failures and warnings), suggests --enable-ha, and is not blocked by it.
    const plan = await runDaprup(e, ['plan', '--to', '1.16.19', '--json']);
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout) as { checks: Check[] };
    expect(planned.checks.map((c) => c.severity).every((s) => s === 'failure' || s === 'warning')).toBe(true);
    expect(planned.checks.find((c) => c.id === 'component-secrets')?.severity).toBe('failure');
    expect(planned.checks.find((c) => c.id === 'control-plane-ha')?.fix).toBe(
      'Add --enable-ha to this upgrade: daprup upgrade --to 1.16.19 --enable-ha (recreates the placement StatefulSet).',
    );
    const planText = await runDaprup(e, ['plan', '--to', '1.16.19']);
    expect(planText.stdout).toContain('Production checks (advice');
    expect(planText.stdout).not.toContain(PASSWORD);
  });

  it('passes a tuned install with --strict: HA, PDBs, sidecar limits with GOMEMLIMIT, secretKeyRef', async () => {
    await resetCluster(e);
    await installDapr(e, '1.16.19', { ha: true, set: TUNED_VALUES });
    await deployApp(e, true);

    const r = await runDaprup(e, ['check', '--strict', '--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as Report;
    expect(report.checks.filter((c) => c.severity === 'failure' || c.severity === 'warning').map((c) => `${c.id}: ${c.finding}`)).toEqual(
      [],
    );
    expect(r.code).toBe(0);
    expect(report.failed).toBe(false);
    const checks = byId(report);
    expect(checks['control-plane-pdbs']!.severity).toBe('ok');
    expect(checks['control-plane-spread']!.severity).toBe('ok');
    expect(checks['sidecar-gomemlimit']!.finding).toBe(
      'Every workload with a sidecar memory limit (1) sets GOMEMLIMIT to about 90 % of it.',
    );
    expect(checks.tracing!.finding).toBe(`Tracing is configured in ${APP_NS}/tracing.`);
    expect((report.summary.failure ?? 0) + (report.summary.warning ?? 0)).toBe(0);

    const text = await runDaprup(e, ['check', '--strict']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Status: passed.');
  });
});
