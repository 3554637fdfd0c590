// prepareRun over a fake cluster: every read-only probe the plan and the upgrade start from, the refusals that stop a
// run before anything changes, and the HA decision. Then buildPlan over what it prepared.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Helm } from '../../src/cluster/helm.js';
import type { K8sObject, Workload } from '../../src/cluster/k8s-types.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { CONTROL_PLANE } from '../../src/dapr/chart.js';
import { ExitCode } from '../../src/errors.js';
import { buildPlan } from '../../src/runbook/plan.js';
import { prepareRun, type PrepareOptions } from '../../src/runbook/prepare.js';
import type { UpgradeOptions } from '../../src/runbook/types.js';
import { app, appPod, controlPlanePods, controlPlaneWorkload, NS, trustBundlePems, VERSION } from './check-fixtures.js';
import { FakeRunner } from './fake-runner.js';

const TARGET = '1.17.2';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/** `kubectl get` resource names (and `type/name` prefixes) → kind. */
const KINDS: Record<string, string> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  'jobs.batch': 'Job',
  'cronjobs.batch': 'CronJob',
  pods: 'Pod',
  poddisruptionbudgets: 'PodDisruptionBudget',
  'components.dapr.io': 'Component',
  'configurations.dapr.io': 'Configuration',
  namespaces: 'Namespace',
  namespace: 'Namespace',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  storageclasses: 'StorageClass',
  secret: 'Secret',
  configmap: 'ConfigMap',
  customresourcedefinitions: 'CustomResourceDefinition',
};

/**
 * Answers any `kubectl get <kinds or type/name …>` (and `get --raw <list path>`) from a set of objects, scoped by
 * namespace as the API server does.
 */
function kubectlGet(objects: readonly K8sObject[]) {
  return (args: readonly string[]) => {
    const raw = args.includes('--raw') ? args[args.indexOf('--raw') + 1]!.split('?')[0]! : undefined;
    const refs = raw ? [raw.split('/').at(-1)!] : args.slice(args.indexOf('get') + 1, args.indexOf('-o')).flatMap((a) => a.split(','));
    const at = args.indexOf('--namespace');
    const ns = raw ? /\/namespaces\/([^/]+)\//.exec(raw)?.[1] : at >= 0 ? args[at + 1] : undefined;
    return list(
      objects.filter((o) =>
        refs.some((ref) => {
          const [type, name] = ref.split('/');
          return (
            KINDS[type!] === o.kind && (!name || o.metadata.name === name) && (!ns || !o.metadata.namespace || o.metadata.namespace === ns)
          );
        }),
      ),
    );
  };
}

const crd = (name: string, description: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name },
  spec: {
    group: 'dapr.io',
    names: { kind: 'Component', plural: 'components' },
    scope: 'Namespaced',
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { description } } }],
  },
});

/** A chart as `helm pull --untar` leaves it: Chart.yaml at the version, defaults, one CRD. */
function writeChart(untarDir: string, version: string) {
  const dir = join(untarDir, 'dapr');
  mkdirSync(join(dir, 'crds'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), stringify({ apiVersion: 'v2', name: 'dapr', version, appVersion: version }));
  writeFileSync(
    join(dir, 'values.yaml'),
    stringify({ global: { ha: { enabled: false }, logLevel: version === TARGET ? 'info' : 'debug' } }),
  );
  writeFileSync(join(dir, 'crds', 'components.yaml'), stringify(crd('components.dapr.io', `v${version}`)));
}

/** The control plane at a version, HA (3 replicas) or not; placement with raft-log where HA renders it. */
function controlPlane(version: string, ha: boolean): Workload[] {
  return CONTROL_PLANE.map((c) => {
    const w = controlPlaneWorkload(c.name, version);
    w.spec.replicas = ha ? 3 : 1;
    w.status = { replicas: w.spec.replicas, readyReplicas: w.spec.replicas };
    if (c.name === 'dapr-placement-server' && ha)
      w.spec.volumeClaimTemplates = [{ metadata: { name: 'raft-log' }, spec: { resources: { requests: { storage: '1Gi' } } } }];
    return w;
  });
}

interface ClusterOptions {
  status?: string;
  haLive?: boolean;
  trustBundle?: boolean;
}

/** A Dapr 1.16.19 cluster (HA off unless asked) with three apps in two namespaces, answering every read prepare and plan make. */
function fakeCluster(o: ClusterOptions = {}) {
  const state = { status: o.status ?? 'deployed', rolledBack: false };
  const pems = trustBundlePems();
  const haLive = o.haLive ?? false;
  const apps = [app('shop', 'orders'), app('shop', 'cart'), app('ledger', 'ledger')];
  const objects: K8sObject[] = [
    ...controlPlane(VERSION, haLive),
    ...apps,
    ...CONTROL_PLANE.flatMap((c) => controlPlanePods(c.name, haLive ? ['node-a', 'node-b', 'node-c'] : ['node-a'])),
    ...apps.map((a) => appPod(a.metadata.namespace!, a.metadata.name)),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', uid: 'uid-1' } },
    ...((o.trustBundle ?? true)
      ? [
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'dapr-trust-bundle', namespace: NS },
            data: { 'ca.crt': b64(pems.rootCert), 'issuer.crt': b64(pems.issuerCert), 'issuer.key': b64(pems.issuerKey) },
          },
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'dapr-trust-bundle', namespace: NS },
            data: { 'ca.crt': pems.rootCert },
          },
        ]
      : []),
    {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'daprsystem', namespace: NS },
      spec: { mtls: { enabled: true } },
    },
    crd('components.dapr.io', `v${VERSION}`),
  ] as K8sObject[];
  const get = kubectlGet(objects);
  const runner = new FakeRunner()
    .on('helm', ['version'], 'v4.1.4+g1\n')
    .on('kubectl', ['version'], JSON.stringify({ clientVersion: { gitVersion: 'v1.33.9' }, serverVersion: { gitVersion: 'v1.33.13' } }))
    .on('helm', ['list'], () =>
      JSON.stringify([
        { name: 'dapr', namespace: NS, revision: '3', status: state.status, chart: `dapr-${VERSION}`, app_version: VERSION },
      ]),
    )
    .on('helm', ['get', 'values'], (args) =>
      JSON.stringify(args.includes('--all') ? { global: { ha: { enabled: haLive }, logLevel: 'debug' } } : {}),
    )
    .on(
      'helm',
      ['history'],
      JSON.stringify([
        { revision: 2, status: 'superseded', chart: `dapr-${VERSION}`, app_version: VERSION },
        { revision: 3, status: state.status, chart: `dapr-${VERSION}`, app_version: VERSION },
      ]),
    )
    .on('helm', ['rollback'], () => {
      state.status = 'deployed';
      state.rolledBack = true;
      return '';
    })
    .on('helm', ['repo', 'update'], '')
    .on(
      'helm',
      ['search', 'repo'],
      JSON.stringify([TARGET, '1.17.1', VERSION].map((v) => ({ name: 'dapr/dapr', version: v, app_version: v }))),
    )
    .on('helm', ['pull'], (args) => {
      writeChart(args[args.indexOf('--untardir') + 1]!, args[args.indexOf('--version') + 1]!);
      return '';
    })
    // The server-side dry run of the upgrade: what it would apply and the values it would record.
    .on('helm', ['upgrade'], (args) => {
      if (!args.includes('--dry-run=server')) return new Error(`unexpected write: helm ${args.join(' ')}`);
      const ha = args.includes('global.ha.enabled=true');
      return JSON.stringify({
        manifest: controlPlane(TARGET, ha)
          .map((w) => stringify(w))
          .join('---\n'),
        config: { global: { ha: { enabled: ha } } },
      });
    })
    .on('kubectl', ['get'], get)
    .on('kubectl', ['diff'], {
      exitCode: 1,
      stdout:
        'diff -u -N /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io\n@@ -12,7 +12,7 @@\n',
    });
  return { runner, state, tools: { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') } };
}

const options = (o: Partial<UpgradeOptions> = {}): UpgradeOptions => ({
  target: TARGET,
  chart: 'dapr/dapr',
  valuesFiles: [],
  set: [],
  timeout: '5m',
  concurrency: 4,
  overrides: {},
  certWarnDays: 30,
  ...o,
});

/** The commands that could change the cluster or the machine's helm state. */
const writes = (runner: FakeRunner) =>
  runner
    .commandLines()
    .filter((l) =>
      /^helm (upgrade(?!.*--dry-run)|rollback|pull|repo)|^kubectl (apply|delete|patch|create|replace|rollout restart)/.test(l),
    );

let workDir: string;
let prepare: PrepareOptions;
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'daprup-unit-'));
  prepare = { workDir, log: () => undefined };
});
afterEach(async () => rm(workDir, { recursive: true, force: true }));

describe('prepareRun refuses before anything changes', () => {
  it('a missing trust bundle: Sentry would generate a new CA', async () => {
    const { runner, tools } = fakeCluster({ trustBundle: false });
    await expect(prepareRun(tools, options(), prepare)).rejects.toMatchObject({
      message: 'The trust bundle (Secret dapr-trust-bundle in dapr-system) is missing.',
      hint: expect.stringContaining('Restore it'),
      exitCode: ExitCode.refused,
    });
    expect(writes(runner)).toEqual([]);
  });

  it('a pending-* release without consent, with the exact rollback command; nothing rolled back', async () => {
    for (const recoverPending of [undefined, async () => false]) {
      const { runner, tools } = fakeCluster({ status: 'pending-upgrade' });
      const error = await prepareRun(tools, options(), { ...prepare, recoverPending }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        message:
          'Release dapr in dapr-system is stuck in pending-upgrade (revision 3): a helm operation was interrupted or is still running.',
        hint: 'If no other helm or daprup is running, roll back (helm rollback dapr 2 -n dapr-system) or rerun with --recover-pending.',
        exitCode: ExitCode.refused,
      });
      expect(writes(runner)).toEqual([]);
    }
  });

  it('a pending-* release with consent is rolled back to its last deployed revision, then read again', async () => {
    const asked: string[] = [];
    const { runner, state, tools } = fakeCluster({ status: 'pending-upgrade' });
    const ctx = await prepareRun(tools, options(), { ...prepare, recoverPending: async (m) => (asked.push(m), true) });
    expect(asked).toEqual([expect.stringContaining('Roll back to revision 2 (dapr-1.16.19) and continue?')]);
    expect(state.rolledBack).toBe(true);
    expect(runner.commandLines()).toContain('helm rollback dapr 2 --namespace dapr-system --wait --timeout 5m');
    expect(ctx.facts.release.status).toBe('deployed');
  });

  it('a --chart it cannot fetch, before the cluster is read', async () => {
    const { runner, tools } = fakeCluster();
    await expect(prepareRun(tools, options({ chart: 'dapr' }), prepare)).rejects.toMatchObject({ exitCode: ExitCode.usage });
    expect(runner.calls).toEqual([]);
  });
});

describe("prepareRun decides HA from the flags, the user's values and what runs", () => {
  const dryRun = (runner: FakeRunner) => runner.calls.find((c) => c.file === 'helm' && c.args.includes('--dry-run=server'))!.args;

  it('keeps what runs without a flag: off stays off, on stays on', async () => {
    for (const haLive of [false, true]) {
      const { runner, tools } = fakeCluster({ haLive });
      const ctx = await prepareRun(tools, options(), prepare);
      expect(ctx.haAfter).toBe(haLive);
      expect(dryRun(runner)).toEqual(expect.arrayContaining(['--set', `global.ha.enabled=${haLive}`]));
    }
  });

  it('--enable-ha turns it on, and the dry run renders placement with its raft-log claim', async () => {
    const { runner, tools } = fakeCluster();
    const ctx = await prepareRun(tools, options({ ha: true }), prepare);
    expect(ctx.haAfter).toBe(true);
    expect(dryRun(runner)).toEqual(expect.arrayContaining(['--set', 'global.ha.enabled=true']));
    expect(
      ctx.rendered.find((w) => w.metadata.name === 'dapr-placement-server')?.spec.volumeClaimTemplates?.map((c) => c.metadata.name),
    ).toEqual(['raft-log']);
  });

  it("the user's own --set decides it, and daprup adds no --set of its own beside it", async () => {
    const { runner, tools } = fakeCluster();
    const ctx = await prepareRun(tools, options({ set: ['global.ha.enabled=true'] }), prepare);
    expect(ctx.haAfter).toBe(true);
    expect(dryRun(runner).filter((a) => a.startsWith('global.ha.enabled'))).toEqual(['global.ha.enabled=true']);
  });

  it("a flag that contradicts the user's values is a usage error", async () => {
    const { tools } = fakeCluster();
    await expect(prepareRun(tools, options({ ha: false, set: ['global.ha.enabled=true'] }), prepare)).rejects.toMatchObject({
      exitCode: ExitCode.usage,
      message: expect.stringContaining('--disable-ha contradicts global.ha.enabled=true'),
    });
  });
});

describe('buildPlan over what prepareRun read', () => {
  it('a minor upgrade with --enable-ha: restarts listed, destructive steps marked, every fetch command as prepare ran it', async () => {
    const { runner, tools } = fakeCluster();
    const plan = await buildPlan(await prepareRun(tools, options({ ha: true }), prepare));
    expect(plan.versionPolicy).toMatchObject({ current: VERSION, target: TARGET, change: 'minor' });
    expect(plan.ha).toEqual({ now: false, after: true });
    expect(plan.crds).toEqual([{ name: 'components.dapr.io', action: 'update' }]);
    expect(plan.statefulSets.map((s) => [s.name, s.changes])).toEqual([
      ['dapr-placement-server', ['volumeClaimTemplates: raft-log (1Gi) added']],
    ]);
    expect(plan.workloads.filter((w) => w.decision === 'restart').map((w) => `${w.namespace}/${w.name}`)).toEqual([
      'shop/orders',
      'shop/cart',
      'ledger/ledger',
    ]);
    expect(plan.steps.filter((s) => s.destructive).map((s) => s.id)).toEqual([
      'recreate-statefulsets',
      'helm-upgrade',
      'restart-data-plane',
    ]);
    expect(plan.steps.find((s) => s.id === 'restart-data-plane')?.summary).toBe('3 workloads in 2 namespaces, 4 at a time');
    expect(plan.values).toEqual(
      expect.arrayContaining([
        { key: 'global.ha.enabled', from: false, to: true },
        { key: 'global.logLevel', from: 'debug', to: 'info' },
      ]),
    );
    expect(plan.changesPending).toBe(true);
    // The check-chart step shows the repository update, search and pull prepare made, argument for argument.
    const fetched = runner.commandLines().filter((l) => /^helm (repo update|search|pull dapr\/dapr --version 1\.17\.2)/.test(l));
    expect(plan.steps.find((s) => s.id === 'check-chart')?.commands).toEqual(fetched);
    // The plan never changed anything: only reads and the server-side dry run (pulls land in the run directory).
    expect(writes(runner).filter((l) => !/^helm (pull|repo update)/.test(l))).toEqual([]);
  });
});
