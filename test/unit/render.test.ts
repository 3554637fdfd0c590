// The table renderer: plain-text tables are drawn directly, and must look exactly as cli-table3 draws them.
// The plan: in full for `daprup plan`, at a glance for the confirmation `upgrade` asks at a terminal.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { UpgradePlan } from '../../src/runbook/plan.js';
import { renderPlan, renderPlanSummary, table } from '../../src/ui/render.js';

const Table = createRequire(import.meta.url)('cli-table3') as typeof import('cli-table3');
const cliTable3 = (head: string[], rows: string[][]) => {
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true });
  for (const r of rows) t.push(r);
  return t.toString();
};

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number) {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const text = () => Array.from({ length: Math.floor(next() * 14) }, () => 'ab -_/.:0123456789XYZ\n '[Math.floor(next() * 24)]).join('');
  return { next, text };
}

describe('table', () => {
  it('draws plain text exactly as cli-table3 does', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = random(seed);
      const columns = 1 + Math.floor(r.next() * 5);
      const head = r.next() < 0.1 ? [] : Array.from({ length: columns }, r.text);
      const rows = Array.from({ length: Math.floor(r.next() * 6) }, () => Array.from({ length: columns }, r.text));
      if (!head.length && !rows.length) continue;
      expect(table(head, rows), `seed ${seed}`).toBe(cliTable3(head, rows));
    }
  });

  it('uses cli-table3 for anything that is not plain ASCII, and shows undefined as "-"', () => {
    expect(
      table(
        ['check', 'result'],
        [
          ['✔ bundle', 'ok'],
          ['wide', '漢字'],
        ],
      ),
    ).toBe(
      cliTable3(
        ['check', 'result'],
        [
          ['✔ bundle', 'ok'],
          ['wide', '漢字'],
        ],
      ),
    );
    expect(table(['a', 'b'], [[undefined, 3]])).toBe(cliTable3(['a', 'b'], [['-', '3']]));
  });

  it('draws 2,000 rows: two lines a row and the frame', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ['Deployment', `ns-${i % 100}`, `app-${i}`, '1.16.19', 'will be restarted']);
    const text = table(['kind', 'namespace', 'name', 'sidecar', 'action'], rows);
    expect(text.split('\n')).toHaveLength(2 * 2000 + 3);
  });
});

const COMPONENTS = ['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector', 'dapr-placement-server', 'dapr-scheduler-server'];

/** A minor upgrade that turns HA on: placement recreated, 3 workloads in 2 namespaces restarted, one out of reach. */
function minorWithHa(): UpgradePlan {
  const step = (id: string, o: { destructive?: boolean; skip?: string; summary?: string; commands?: string[] } = {}) =>
    ({
      id,
      title: id,
      summary: o.summary ?? `${id} summary`,
      destructive: o.destructive ?? false,
      skip: o.skip,
      commands: o.commands ?? [`kubectl ${id}`],
    }) as UpgradePlan['steps'][number];
  const workload = (namespace: string, name: string, decision: string) => ({
    kind: 'Deployment',
    namespace,
    name,
    sidecar: '1.16.18',
    decision,
    action: decision === 'restart' ? 'will be restarted' : 'paused: resume it',
  });
  return {
    release: { name: 'dapr', namespace: 'dapr-system', chartVersion: '1.16.18', version: '1.16.18', revision: 3, status: 'deployed' },
    cluster: { id: 'uid-1', serverVersion: 'v1.33.13', helm: 'v4.1.4', kubectl: 'v1.33.9' },
    versionPolicy: { current: '1.16.18', target: '1.17.2', change: 'minor', verdict: 'ok', warnings: ['global.tag is pinned to "custom"'] },
    controlPlane: COMPONENTS.map((component) => ({
      component,
      kind: 'Deployment',
      current: '1.16.18',
      target: '1.17.2',
      ready: '1/1',
      replicasAfter: 3,
    })),
    ha: { now: false, after: true },
    mtls: { enabled: true, trustBundle: { checks: [], ok: true } },
    crds: [
      { name: 'components.dapr.io', action: 'update' },
      { name: 'mcpservers.dapr.io', action: 'create' },
      { name: 'resiliencies.dapr.io', action: 'unchanged' },
    ],
    statefulSets: [{ name: 'dapr-placement-server', namespace: 'dapr-system', changes: ['volumeClaimTemplates: raft-log (1Gi) added'] }],
    values: [
      { key: 'global.ha.enabled', from: false, to: true },
      { key: 'dapr_placement.cluster.forceInMemoryLog', from: true, to: false },
    ],
    workloads: [
      workload('shop', 'orders', 'restart'),
      workload('shop', 'cart', 'restart'),
      workload('ledger', 'ledger', 'restart'),
      workload('shop', 'current', 'current'),
      workload('batch', 'paused', 'unreached'),
    ],
    sharedReleases: [],
    checks: [
      { id: 'component-secrets', group: 'security', severity: 'failure', finding: 'Plaintext secrets', why: 'w', fix: 'f' },
      { id: 'metrics', group: 'observability', severity: 'warning', finding: 'Metrics are off', why: 'w', fix: 'f' },
    ] as UpgradePlan['checks'],
    steps: [
      step('preflight'),
      step('export-trust-bundle'),
      step('backup'),
      step('check-chart'),
      step('apply-crds'),
      step('recreate-statefulsets', { destructive: true, summary: 'dapr-placement-server: volumeClaimTemplates: raft-log (1Gi) added' }),
      step('helm-upgrade', {
        destructive: true,
        summary: 'dapr 1.16.18 → 1.17.2, HA off → on, user values kept',
        commands: ['helm upgrade dapr /run/chart/dapr --set-file dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key'],
      }),
      step('wait-control-plane'),
      step('restart-data-plane', { destructive: true, summary: '3 workloads in 2 namespaces, 4 at a time' }),
      step('upgrade-dapr-shared', { skip: 'no Dapr Shared releases' }),
      step('verify'),
    ],
    changesPending: true,
    planHash: '0123456789abcdef',
  };
}

describe('the plan at a glance (upgrade at a terminal)', () => {
  it('says what changes, what is destructive and what it costs in restarts, in a screenful without commands', () => {
    const text = renderPlanSummary(minorWithHa());
    expect(text.split('\n')).toEqual([
      'Upgrade dapr in dapr-system: Dapr 1.16.18 → 1.17.2 (minor)',
      '⚠ global.tag is pinned to "custom"',
      '',
      'What changes:',
      '  Control plane   1.16.18 → 1.17.2 (5 components)',
      '  HA              off → on',
      '  CRDs            1 created, 1 updated',
      '  StatefulSets    recreated: dapr-placement-server',
      '  Values          2 values change',
      '',
      'Destructive steps:',
      '  recreate-statefulsets: dapr-placement-server: volumeClaimTemplates: raft-log (1Gi) added',
      '  helm-upgrade: dapr 1.16.18 → 1.17.2, HA off → on, user values kept',
      '  restart-data-plane: 3 workloads in 2 namespaces, 4 at a time',
      '',
      'Restarts:',
      '  Control plane   5 components roll out with the helm upgrade',
      '  Workloads       3 workloads in 2 namespaces',
      '  Out of reach    1 daprd, not restarted (daprup status names them)',
      '',
      'Production checks: 1 failure, 1 warning (advice, never a blocker: daprup check)',
      '',
      'Every table and command: daprup plan with the same flags, or this upgrade with --verbose.',
    ]);
  });

  it('names components at different versions apart, and says when nothing is destructive or restarts', () => {
    const p = minorWithHa();
    p.controlPlane[4] = { ...p.controlPlane[4]!, current: undefined };
    p.ha = { now: true, after: true };
    p.crds = [];
    p.statefulSets = [];
    p.values = [];
    p.workloads = [];
    p.checks = [];
    p.steps = p.steps.map((s) => ({ ...s, destructive: false, skip: s.destructive ? 'nothing to do' : s.skip }));
    const lines = renderPlanSummary(p).split('\n');
    expect(lines).toContain('  Control plane   1.16.18 → 1.17.2 (4 components), not installed → 1.17.2 (1 component)');
    expect(lines).toContain('  HA              on (unchanged)');
    expect(lines).toContain('  CRDs            none change');
    expect(lines).toContain('  StatefulSets    none recreated');
    expect(lines).toContain('  Values          none change');
    expect(lines).toContain('Destructive steps: none');
    expect(lines).toContain('  Control plane   not touched');
    expect(lines).toContain('  Workloads       none');
    expect(lines.some((l) => l.startsWith('Production checks'))).toBe(false);
  });

  it('the full plan keeps every command; inside upgrade it does not end by telling you to run upgrade', () => {
    const full = renderPlan(minorWithHa());
    expect(full).toContain('      $ helm upgrade dapr /run/chart/dapr');
    expect(full.split('\n').at(-1)).toBe('Changes pending. Apply with: daprup upgrade --to 1.17.2');
    const inUpgrade = renderPlan(minorWithHa(), { applyHint: false });
    expect(inUpgrade).toContain('      $ helm upgrade dapr /run/chart/dapr');
    expect(inUpgrade).not.toContain('Apply with');
    expect(
      renderPlan({ ...minorWithHa(), changesPending: false }, { applyHint: false })
        .split('\n')
        .at(-1),
    ).toBe('Nothing to do: the cluster already runs the target.');
  });
});
