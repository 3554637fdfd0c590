// The exact helm/kubectl argument arrays the steps plan, in order, from a fixed RunContext (no cluster).
import { describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import type { Pod, Workload } from '../../src/cluster/k8s-types.js';
import type { ClusterFacts } from '../../src/dapr/discovery.js';
import { applyCrds } from '../../src/runbook/steps/chart.js';
import { restartDataPlane } from '../../src/runbook/steps/data-plane.js';
import { helmUpgrade, helmUpgradeArgs } from '../../src/runbook/steps/helm-upgrade.js';
import { recreateStatefulSets } from '../../src/runbook/steps/statefulsets.js';
import type { RunContext, UpgradeOptions } from '../../src/runbook/types.js';
import { FakeRunner } from './fake-runner.js';

const sts = (name: string, claims: string[]): Workload => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: 'dapr-system' },
  spec: { selector: { matchLabels: { app: name } }, serviceName: name, template: { spec: { containers: [{ name: 'c', image: `ghcr.io/dapr/placement:1.16.19` }] } },
    volumeClaimTemplates: claims.map((c) => ({ metadata: { name: c }, spec: { resources: { requests: { storage: '1Gi' } } } })) },
});
const app = (ns: string, name: string, kind: Workload['kind'] = 'Deployment'): Workload => ({
  apiVersion: 'apps/v1', kind, metadata: { name, namespace: ns },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name }, annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'app' }] } } },
});
const pod = (ns: string, appName: string, daprd: string): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: `${appName}-1`, namespace: ns, labels: { app: appName } },
  spec: { containers: [{ name: 'app' }, { name: 'daprd', image: `ghcr.io/dapr/daprd:${daprd}` }] },
});

function context(o: { helm?: [number, number]; options?: Partial<UpgradeOptions>; change?: 'patch' | 'minor' | 'downgrade' } = {}): RunContext {
  const runner = new FakeRunner();
  const target = { kubeconfig: '/kc' };
  const [major, minor] = o.helm ?? [4, 1];
  const facts = {
    helmVersion: { raw: `v${major}.${minor}.0`, major, minor, patch: 0 },
    release: { name: 'dapr', namespace: 'dapr-system', chartVersion: '1.16.18', version: '1.16.18', revision: 3, status: 'deployed' },
    haEnabled: false,
    controlPlaneWorkloads: [sts('dapr-placement-server', [])],
    workloads: [app('shop', 'orders'), app('shop', 'cart'), app('ledger', 'ledger', 'StatefulSet'), app('shop', 'current')],
    pods: [pod('shop', 'orders', '1.16.18'), pod('shop', 'cart', '1.16.18'), pod('ledger', 'ledger', '1.16.18'), pod('shop', 'current', '1.17.2')],
  } as unknown as ClusterFacts;
  return {
    tools: { helm: new Helm(runner, 'helm', target), kubectl: new Kubectl(runner, 'kubectl', target) },
    options: { target: '1.17.2', chart: 'dapr/dapr', valuesFiles: [], set: [], timeout: '5m', concurrency: 4, overrides: {}, certWarnDays: 30, ha: true, ...o.options },
    facts,
    verdict: { current: '1.16.18', target: '1.17.2', change: o.change ?? 'minor', warnings: [] },
    workDir: '/run', chartDir: '/run/chart/dapr', targetChart: { name: 'dapr', version: '1.17.2', appVersion: '1.17.2' },
    haAfter: true,
    rendered: [sts('dapr-placement-server', ['raft-log'])],
    crdFiles: ['/run/chart/dapr/crds/components.yaml'],
    crds: [{ name: 'components.dapr.io', action: 'update' }, { name: 'mcpservers.dapr.io', action: 'create' }],
    log: () => {},
  };
}

describe('helm-upgrade arguments', () => {
  it('keeps user values with --reset-then-reuse-values, certs by --set-file, HA, user -f/--set last', () => {
    const ctx = context({ options: { valuesFiles: ['/my/values.yaml'], set: ['dapr_operator.logLevel=debug'] } });
    expect(helmUpgradeArgs(ctx)).toEqual([
      'upgrade', 'dapr', '/run/chart/dapr', '--namespace', 'dapr-system', '--version', '1.17.2',
      '--reset-then-reuse-values',
      '--set-file', 'dapr_sentry.tls.root.certPEM=/run/certs/ca.crt',
      '--set-file', 'dapr_sentry.tls.issuer.certPEM=/run/certs/issuer.crt',
      '--set-file', 'dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key',
      '--set', 'global.ha.enabled=true',
      '--values', '/my/values.yaml', '--set', 'dapr_operator.logLevel=debug',
      '--wait', '--timeout', '5m', '--kubeconfig', '/kc',
    ]);
  });

  it('falls back to the backed-up values file on helm older than 3.14', () => {
    const args = helmUpgradeArgs(context({ helm: [3, 13] }));
    expect(args.slice(7, 11)).toEqual(['--reset-values', '--values', '/run/backup/user-values.yaml', '--set-file']);
    expect(args).not.toContain('--reset-then-reuse-values');
    expect(helmUpgradeArgs(context({ helm: [3, 14] }))).toContain('--reset-then-reuse-values');
  });

  it('is planned as destructive with the exact command', async () => {
    const p = await helmUpgrade.plan(context());
    expect(p.destructive).toBe(true);
    expect(p.commands).toEqual([['helm', ...helmUpgradeArgs(context())]]);
  });
});

describe('planned commands of the other steps', () => {
  it('apply-crds: one server-side apply of the pulled chart crds/, skipped on a downgrade', async () => {
    expect((await applyCrds.plan(context())).commands).toEqual([
      ['kubectl', '--kubeconfig', '/kc', 'apply', '--server-side', '--force-conflicts', '--field-manager', 'daprup', '-f', '/run/chart/dapr/crds'],
    ]);
    const down = await applyCrds.plan(context({ change: 'downgrade' }));
    expect(down.skip).toContain('downgrade');
    expect(down.commands).toEqual([]);
  });

  it('recreate-statefulsets: background-cascade delete of placement when HA adds raft-log', async () => {
    const p = await recreateStatefulSets.plan(context());
    expect(p.destructive).toBe(true);
    expect(p.summary).toContain('raft-log');
    expect(p.commands).toEqual([
      ['kubectl', '--kubeconfig', '/kc', 'delete', 'statefulset', 'dapr-placement-server', '--namespace', 'dapr-system', '--cascade=background', '--wait=true', '--timeout=5m'],
    ]);
  });

  it('restart-data-plane: one rollout restart per namespace, only workloads behind the target', async () => {
    const p = await restartDataPlane.plan(context());
    expect(p.commands.filter((c) => c.includes('rollout'))).toEqual([
      ['kubectl', '--kubeconfig', '/kc', 'rollout', 'restart', 'deployment/orders', 'deployment/cart', '--namespace', 'shop'],
      ['kubectl', '--kubeconfig', '/kc', 'rollout', 'restart', 'statefulset/ledger', '--namespace', 'ledger'],
    ]);
    expect(p.summary).toBe('3 workloads in 2 namespaces, 4 at a time');
  });
});
