// The exact helm/kubectl argument arrays the steps plan, in order, from a fixed RunContext (no cluster).
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import type { Pod, Workload } from '../../src/cluster/k8s-types.js';
import type { ClusterFacts } from '../../src/dapr/discovery.js';
import { backup } from '../../src/runbook/steps/backup.js';
import { applyCrds, checkChart, fetchTargetChart } from '../../src/runbook/steps/chart.js';
import { restartDataPlane } from '../../src/runbook/steps/data-plane.js';
import { ensureBackupValues, helmUpgrade, helmUpgradeArgs } from '../../src/runbook/steps/helm-upgrade.js';
import { waitControlPlane } from '../../src/runbook/steps/control-plane.js';
import { preflight } from '../../src/runbook/steps/preflight.js';
import { recreateStatefulSets } from '../../src/runbook/steps/statefulsets.js';
import type { RunContext, UpgradeOptions } from '../../src/runbook/types.js';
import { FakeRunner } from './fake-runner.js';

const sts = (name: string, claims: string[]): Workload => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: 'dapr-system' },
  spec: {
    selector: { matchLabels: { app: name } },
    serviceName: name,
    template: { spec: { containers: [{ name: 'c', image: `ghcr.io/dapr/placement:1.16.19` }] } },
    volumeClaimTemplates: claims.map((c) => ({ metadata: { name: c }, spec: { resources: { requests: { storage: '1Gi' } } } })),
  },
});
const app = (ns: string, name: string, kind: Workload['kind'] = 'Deployment'): Workload => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, namespace: ns },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'app' }] } },
  },
});
const pod = (ns: string, appName: string, daprd: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `${appName}-1`, namespace: ns, labels: { app: appName } },
  spec: { containers: [{ name: 'app' }, { name: 'daprd', image: `ghcr.io/dapr/daprd:${daprd}` }] },
});

function context(
  o: { helm?: [number, number]; options?: Partial<UpgradeOptions>; change?: 'patch' | 'minor' | 'downgrade'; runner?: FakeRunner } = {},
): RunContext {
  const runner = o.runner ?? new FakeRunner();
  const target = { kubeconfig: '/kc' };
  const [major, minor] = o.helm ?? [4, 1];
  const facts = {
    helmVersion: { raw: `v${major}.${minor}.0`, major, minor, patch: 0 },
    release: { name: 'dapr', namespace: 'dapr-system', chartVersion: '1.16.18', version: '1.16.18', revision: 3, status: 'deployed' },
    haEnabled: false,
    controlPlaneWorkloads: [sts('dapr-placement-server', [])],
    workloads: [app('shop', 'orders'), app('shop', 'cart'), app('ledger', 'ledger', 'StatefulSet'), app('shop', 'current')],
    jobs: [],
    sharedReleases: [],
    pods: [
      pod('shop', 'orders', '1.16.18'),
      pod('shop', 'cart', '1.16.18'),
      pod('ledger', 'ledger', '1.16.18'),
      pod('shop', 'current', '1.17.2'),
    ],
  } as unknown as ClusterFacts;
  return {
    tools: { helm: new Helm(runner, 'helm', target), kubectl: new Kubectl(runner, 'kubectl', target) },
    options: {
      target: '1.17.2',
      chart: 'dapr/dapr',
      valuesFiles: [],
      set: [],
      timeout: '5m',
      concurrency: 4,
      overrides: {},
      certWarnDays: 30,
      ha: true,
      ...o.options,
    },
    facts,
    verdict: { current: '1.16.18', target: '1.17.2', change: o.change ?? 'minor', warnings: [] },
    workDir: '/run',
    chartDir: '/run/chart/dapr',
    targetChart: { name: 'dapr', version: '1.17.2', appVersion: '1.17.2' },
    installedChartVersion: '1.16.18',
    haAfter: true,
    userOverrides: {},
    userTrustBundle: false,
    rendered: [sts('dapr-placement-server', ['raft-log'])],
    renderedConfig: {},
    crdFiles: ['/run/chart/dapr/crds/components.yaml'],
    crds: [
      { name: 'components.dapr.io', action: 'update' },
      { name: 'mcpservers.dapr.io', action: 'create' },
    ],
    log: () => {},
  };
}

describe('helm-upgrade arguments', () => {
  it('keeps user values with --reset-then-reuse-values, certs by --set-file, HA, user -f/--set last', () => {
    const ctx = context({ options: { valuesFiles: ['/my/values.yaml'], set: ['dapr_operator.logLevel=debug'] } });
    expect(helmUpgradeArgs(ctx)).toEqual([
      'upgrade',
      'dapr',
      '/run/chart/dapr',
      '--namespace',
      'dapr-system',
      '--version',
      '1.17.2',
      '--reset-then-reuse-values',
      '--set-file',
      'dapr_sentry.tls.root.certPEM=/run/certs/ca.crt',
      '--set-file',
      'dapr_sentry.tls.issuer.certPEM=/run/certs/issuer.crt',
      '--set-file',
      'dapr_sentry.tls.issuer.keyPEM=/run/certs/issuer.key',
      '--set',
      'global.ha.enabled=true',
      '--values',
      '/my/values.yaml',
      '--set',
      'dapr_operator.logLevel=debug',
      '--wait',
      '--timeout',
      '5m',
      '--kubeconfig',
      '/kc',
    ]);
  });

  it('falls back to the backed-up values file on helm older than 3.14', () => {
    const args = helmUpgradeArgs(context({ helm: [3, 13] }));
    expect(args.slice(7, 11)).toEqual(['--reset-values', '--values', '/run/backup/user-values.yaml', '--set-file']);
    expect(args).not.toContain('--reset-then-reuse-values');
    expect(helmUpgradeArgs(context({ helm: [3, 14] }))).toContain('--reset-then-reuse-values');
  });

  // Regression: helm merges every -f before any --set, so daprup's own --set used to beat the user's file.
  it("passes daprup's own values only where the user's -f/--set leave them unset", () => {
    const ctx = context({ options: { valuesFiles: ['/my/values.yaml'] } });
    ctx.userOverrides = { global: { ha: { enabled: true }, tag: '1.17.2-custom' } };
    ctx.tagAfter = '1.17.2-mariner';
    const args = helmUpgradeArgs(ctx);
    expect(args.filter((a) => a.startsWith('global.'))).toEqual([]);
    expect(args).toContain('/my/values.yaml');
  });

  it('moves a pinned variant tag to the target with --set global.tag', () => {
    const ctx = context();
    ctx.tagAfter = '1.17.2-mariner';
    expect(helmUpgradeArgs(ctx)).toEqual(expect.arrayContaining(['--set', 'global.tag=1.17.2-mariner']));
    const at = helmUpgradeArgs(ctx).indexOf('global.tag=1.17.2-mariner');
    expect(at).toBeGreaterThan(helmUpgradeArgs(ctx).indexOf('global.ha.enabled=true'));
  });

  it('leaves the certificates to the user when their values carry the trust bundle', () => {
    const ctx = context();
    ctx.userTrustBundle = true;
    expect(helmUpgradeArgs(ctx)).not.toContain('--set-file');
  });

  it('renders the same upgrade server-side for the plan: --dry-run=server, Secrets hidden, no certificates, no --wait', () => {
    const ctx = context({ options: { set: ['a=b'] } });
    expect(helmUpgradeArgs(ctx, { dryRun: true })).toEqual([
      'upgrade',
      'dapr',
      '/run/chart/dapr',
      '--namespace',
      'dapr-system',
      '--version',
      '1.17.2',
      '--reset-then-reuse-values',
      '--set',
      'global.ha.enabled=true',
      '--set',
      'a=b',
      '--dry-run=server',
      '--hide-secret',
      '-o',
      'json',
      '--kubeconfig',
      '/kc',
    ]);
    // helm 3.13: server-side but no --hide-secret; older: a client render without lookups, from the user's values.
    expect(helmUpgradeArgs(context({ helm: [3, 13] }), { dryRun: true })).toEqual(
      expect.arrayContaining(['--dry-run=server', '/run/dry-run-values.yaml']),
    );
    expect(helmUpgradeArgs(context({ helm: [3, 13] }), { dryRun: true })).not.toContain('--hide-secret');
    expect(helmUpgradeArgs(context({ helm: [3, 12] }), { dryRun: true })).toContain('--dry-run');
    expect(helmUpgradeArgs(context({ helm: [3, 12] }), { dryRun: true })).not.toContain('--dry-run=server');
  });

  // Regression: resumed on another machine, helm < 3.14 needed a backup only the first machine had.
  it('re-reads the values of the start revision when a resumed run on helm < 3.14 has no backup here', async () => {
    const work = await mkdtemp(join(tmpdir(), 'daprup-unit-'));
    try {
      const ctx = context({ helm: [3, 13] });
      ctx.workDir = work;
      ctx.journal = { data: { startRevision: 7 } } as unknown as RunContext['journal'];
      const runner = new FakeRunner().on(
        'helm',
        ['get', 'values', 'dapr'],
        JSON.stringify({ dapr_operator: { logLevel: 'debug' }, dapr_sentry: { tls: { issuer: { keyPEM: 'SECRET' } } } }),
      );
      ctx.tools = { ...ctx.tools, helm: new Helm(runner, 'helm', { kubeconfig: '/kc' }) };
      await ensureBackupValues(ctx);
      expect(runner.commandLines()).toEqual(['helm get values dapr --namespace dapr-system --revision 7 -o json --kubeconfig /kc']);
      const written = await readFile(join(work, 'backup', 'user-values.yaml'), 'utf8');
      expect(written).toContain('logLevel: debug');
      expect(written).not.toContain('SECRET');
      expect(helmUpgradeArgs(ctx)).toEqual(
        expect.arrayContaining(['--reset-values', '--values', join(work, 'backup', 'user-values.yaml')]),
      );
      await ensureBackupValues(ctx); // present now: not read again
      expect(runner.calls).toHaveLength(1);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('is planned as destructive with the exact command', async () => {
    const p = await helmUpgrade.plan(context());
    expect(p.destructive).toBe(true);
    expect(p.commands).toEqual([['helm', ...helmUpgradeArgs(context())]]);
  });
});

describe('planned commands of the other steps', () => {
  it("apply-crds: one server-side apply of the CRDs prepare wrote (the chart's, live conversion kept), skipped on a downgrade", async () => {
    expect((await applyCrds.plan(context())).commands).toEqual([
      ['kubectl', '--kubeconfig', '/kc', 'apply', '--server-side', '--force-conflicts', '--field-manager', 'daprup', '-f', '/run/crds'],
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
      ['kubectl', '--kubeconfig', '/kc', 'get', 'statefulsets', '-o', 'json', '--namespace', 'dapr-system'],
      [
        'kubectl',
        '--kubeconfig',
        '/kc',
        'delete',
        'statefulset',
        'dapr-placement-server',
        '--namespace',
        'dapr-system',
        '--cascade=background',
        '--wait=true',
        '--timeout=5m',
      ],
      [
        'kubectl',
        '--kubeconfig',
        '/kc',
        'wait',
        'pods',
        '--for=delete',
        '--namespace',
        'dapr-system',
        '--selector',
        'app=dapr-placement-server',
        '--timeout=5m',
      ],
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

/** Runs `work` with a fresh 0700 temporary directory, removed afterwards. */
async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-unit-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
/** What a plan shows, as the runner saw each call: `file arg arg …`. */
const shown = (commands: string[][]) => commands.map((c) => c.join(' '));

// Every step's plan is the command its apply runs: the same argument builder feeds both (issue: backup planned
// `-o yaml` and ran `-o json`; preflight and check-chart built their plan lines by hand).
describe('a plan shows the very commands its apply runs', () => {
  it('backup: helm get values and one kubectl get of the installed Dapr kinds in every namespace, -o json', async () => {
    await inTempDir(async (work) => {
      const runner = new FakeRunner()
        .on('helm', ['get', 'values'], '{}')
        .on(
          'kubectl',
          ['--kubeconfig', '/kc', 'get'],
          list([{ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'statestore', namespace: 'shop' } }]),
        );
      const ctx = { ...context({ runner }), workDir: work };
      const planned = (await backup.plan(ctx)).commands;
      await backup.apply(ctx, () => {});
      expect(runner.commandLines()).toEqual(shown(planned));
      // Only components.dapr.io: mcpservers.dapr.io is created by this upgrade, and listing it now would fail.
      expect(shown(planned)[1]).toBe('kubectl --kubeconfig /kc get components.dapr.io -o json --all-namespaces');
      expect(await readFile(join(work, 'backup', 'dapr-resources.yaml'), 'utf8')).toContain('name: statestore');
    });
  });

  it("preflight: one kubectl auth can-i per right the plan needs, as planned after discovery's helm list", async () => {
    const runner = new FakeRunner().on('kubectl', ['--kubeconfig', '/kc', 'auth', 'can-i'], 'yes\n');
    const ctx = context({ runner });
    const planned = shown((await preflight.plan(ctx)).commands);
    await preflight.apply(ctx, () => {});
    expect(planned[0]).toBe('helm list --all-namespaces --deployed --failed --pending -o json --kubeconfig /kc');
    expect(runner.commandLines()).toEqual(planned.slice(1));
    expect(runner.commandLines()).toEqual([
      'kubectl --kubeconfig /kc auth can-i patch deployments.apps --namespace dapr-system',
      'kubectl --kubeconfig /kc auth can-i patch customresourcedefinitions.apiextensions.k8s.io --all-namespaces',
      'kubectl --kubeconfig /kc auth can-i delete statefulsets.apps --namespace dapr-system',
      'kubectl --kubeconfig /kc auth can-i patch deployments.apps --all-namespaces',
      'kubectl --kubeconfig /kc auth can-i patch statefulsets.apps --all-namespaces',
    ]);
  });

  it('preflight: a right the user lacks stops the run with the verb, the resource and why', async () => {
    const runner = new FakeRunner()
      .on('kubectl', ['--kubeconfig', '/kc', 'auth', 'can-i'], 'yes\n')
      .on('kubectl', ['--kubeconfig', '/kc', 'auth', 'can-i', 'delete'], { stdout: 'no\n', exitCode: 1 });
    await expect(preflight.apply(context({ runner }), () => {})).rejects.toThrow(
      'Your Kubernetes user may not delete statefulsets.apps in dapr-system, which daprup needs to recreate StatefulSets',
    );
  });

  it('recreate-statefulsets: the fresh read, the background-cascade delete and the wait for its pods', async () => {
    const runner = new FakeRunner()
      .on('kubectl', ['--kubeconfig', '/kc', 'get', 'statefulsets'], list([sts('dapr-placement-server', [])]))
      .on('kubectl', ['--kubeconfig', '/kc', 'delete'], '')
      .on('kubectl', ['--kubeconfig', '/kc', 'wait'], '');
    const ctx = context({ runner });
    const planned = shown((await recreateStatefulSets.plan(ctx)).commands);
    await recreateStatefulSets.apply(ctx, () => {});
    expect(runner.commandLines()).toEqual(planned);
  });

  it('wait-control-plane: one rollout status per control-plane workload the chart renders', async () => {
    const runner = new FakeRunner().on('kubectl', ['--kubeconfig', '/kc', 'rollout', 'status'], '');
    const ctx = context({ runner });
    const planned = shown((await waitControlPlane.plan(ctx)).commands);
    await waitControlPlane.apply(ctx, () => {});
    expect(runner.commandLines()).toEqual(planned);
    expect(planned).toEqual([
      'kubectl --kubeconfig /kc rollout status statefulset/dapr-placement-server --namespace dapr-system --timeout=5m',
    ]);
  });

  it('check-chart: repo update, search and pull of a repository chart, as prepare fetches it', async () => {
    await inTempDir(async (work) => {
      const runner = new FakeRunner()
        .on('helm', ['repo', 'update'], '')
        .on(
          'helm',
          ['search', 'repo'],
          JSON.stringify([
            { name: 'dapr/dapr', version: '1.17.2', app_version: '1.17.2' },
            { name: 'dapr/dapr', version: '1.16.18', app_version: '1.16.18' },
          ]),
        )
        .on('helm', ['pull'], (args) => {
          const dir = join(args[args.indexOf('--untardir') + 1]!, 'dapr');
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: dapr\nversion: 1.17.2\nappVersion: 1.17.2\n');
          return '';
        });
      const ctx = context({ runner });
      const fetched = await fetchTargetChart(ctx.tools, ctx.options, work);
      const planned = (await checkChart.plan({ ...ctx, workDir: work, chartDir: fetched.chartDir })).commands;
      expect(runner.commandLines()).toEqual(shown(planned));
      expect(shown(planned)).toEqual([
        'helm repo update dapr',
        'helm search repo dapr/dapr --versions --devel -o json',
        `helm pull dapr/dapr --version 1.17.2 --untar --untardir ${join(work, 'chart')}`,
      ]);
      expect(fetched).toMatchObject({ chartDir: join(work, 'chart', 'dapr'), chartVersions: ['1.17.2', '1.16.18'] });
    });
  });

  it('check-chart: an OCI chart is pulled without a repository update or search', async () => {
    const p = await checkChart.plan(context({ options: { chart: 'oci://ghcr.io/dapr/helm/dapr' } }));
    expect(shown(p.commands)).toEqual(['helm pull oci://ghcr.io/dapr/helm/dapr --version 1.17.2 --untar --untardir /run/chart']);
  });

  // Regression: `--chart ./dir` planned `helm repo update .` (never run), and the apply's `helm pull ./dir` failed.
  it('check-chart: --chart ./dir runs no helm at all: the directory is copied into the run, and the plan says so', async () => {
    await inTempDir(async (work) => {
      const source = join(work, 'my-dapr');
      await mkdir(join(source, 'crds'), { recursive: true });
      await writeFile(join(source, 'Chart.yaml'), 'apiVersion: v2\nname: dapr\nversion: 1.17.2\nappVersion: 1.17.2\n');
      await writeFile(join(source, 'crds', 'components.yaml'), 'kind: CustomResourceDefinition\n');
      const chart = relative(process.cwd(), source).startsWith('.')
        ? relative(process.cwd(), source)
        : `./${relative(process.cwd(), source)}`;
      const runner = new FakeRunner();
      const ctx = context({ runner, options: { chart } });
      const fetched = await fetchTargetChart(ctx.tools, ctx.options, join(work, 'run'));
      expect(runner.calls).toEqual([]);
      expect(fetched.chartDir).toBe(join(work, 'run', 'chart', 'my-dapr'));
      expect(await readFile(join(fetched.chartDir, 'crds', 'components.yaml'), 'utf8')).toContain('CustomResourceDefinition');
      const p = await checkChart.plan({ ...ctx, chartDir: fetched.chartDir });
      expect(p.commands).toEqual([]);
      expect(p.summary).toContain(`copied to ${fetched.chartDir}`);
    });
  });

  it('check-chart: a chart archive or a reference helm cannot resolve is refused as a usage error before anything runs', async () => {
    const runner = new FakeRunner();
    const ctx = context({ runner });
    await expect(fetchTargetChart(ctx.tools, { ...ctx.options, chart: './dapr-1.17.2.tgz' }, '/nonexistent')).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('chart archive'),
    });
    await expect(fetchTargetChart(ctx.tools, { ...ctx.options, chart: 'dapr' }, '/nonexistent')).rejects.toMatchObject({
      exitCode: 2,
      message: '--chart "dapr" is not a chart reference.',
    });
    expect(runner.calls).toEqual([]);
  });
});
