// `daprup upgrade` around its runbook, over a fake cluster: the local lock, the Lease, the unfinished run (here
// or in the cluster's copy of the journal), refusals, abandon and resume, and the journal a run leaves behind.
// The runbook itself is a few fake steps over a fake context (the steps have their own tests).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { ExitCode } from '../../src/errors.js';
import type { ExecuteHooks } from '../../src/runbook/execute.js';
import type { UpgradePlan } from '../../src/runbook/plan.js';
import type { RunContext, Step, UpgradeOptions } from '../../src/runbook/types.js';
import { JournalStore, type JournalData } from '../../src/state/journal.js';
import { runUpgrade, type UpgradeRun, type UpgradeRunbook } from '../../src/operations/upgrade.js';
import type { Prompter } from '../../src/ui/prompter.js';
import { FakeRunner } from './fake-runner.js';

const NS = 'dapr-system';
const KEY = { clusterId: 'cluster-1', namespace: NS, release: 'dapr' };
const STEPS = ['preflight', 'backup', 'helm-upgrade'] as const;
const LEASE_CALLS = /^kubectl (get|create|delete) .*leases\.coordination\.k8s\.io|^kubectl create -f -/;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/**
 * A cluster with release dapr (Dapr 1.16.18) in dapr-system, no Lease, and the journal's ConfigMap as the test
 * sets it; `kubectl apply` of that ConfigMap is kept, as the API server would.
 */
function fakeCluster(o: { clusterJournal?: JournalData } = {}) {
  const runner = new FakeRunner();
  let configMap = o.clusterJournal && { data: { 'journal.json': JSON.stringify(o.clusterJournal) } };
  runner
    .on(
      'helm',
      ['list'],
      JSON.stringify([{ name: 'dapr', namespace: NS, revision: '3', status: 'deployed', chart: 'dapr-1.16.18', app_version: '1.16.18' }]),
    )
    .on(
      'kubectl',
      ['get', 'namespace', 'kube-system'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', uid: 'cluster-1' } }),
    )
    .on('kubectl', ['get', 'namespace', NS], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, uid: 'ns-1' } }))
    .on('kubectl', ['get', 'leases.coordination.k8s.io'], '')
    .on('kubectl', ['create', '-f', '-'], () => runner.calls.at(-1)!.input!)
    .on('kubectl', ['delete', 'leases.coordination.k8s.io'], '')
    .on('kubectl', ['get', 'configmap', 'daprup-run-dapr'], () =>
      configMap
        ? JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'daprup-run-dapr', namespace: NS }, ...configMap })
        : '',
    )
    .on('kubectl', ['apply', '--server-side'], () => {
      configMap = JSON.parse(runner.calls.at(-1)!.input!) as { data: { 'journal.json': string } };
      return '';
    });
  const clusterJournal = () => configMap && (JSON.parse(configMap.data['journal.json']) as JournalData);
  return { runner, tools: { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') }, clusterJournal };
}

/**
 * Fake steps recording what they applied (`<hop target>:<step>` in a run of several hops), and what the journal
 * said when preflight ran. `hops`: the path the fake prepare plans (default one hop to the options' target);
 * `failOnce`: a step id (`1.17.13:helm-upgrade`) that fails the first time it is applied.
 */
function fakeRunbook(o: { hops?: string[]; failOnce?: string } = {}) {
  const applied: string[] = [];
  const prepared: { workDir: string; from?: string; hop?: number }[] = [];
  let journalAtPreflight: 'none' | 'written' | undefined;
  let failOnce = o.failOnce;
  const steps = STEPS.map(
    (id): Step => ({
      id,
      title: id,
      plan: async () => ({ summary: id, commands: [], destructive: false }),
      isDone: async () => false,
      apply: async (ctx) => {
        if (id === 'preflight') journalAtPreflight = ctx.journal ? 'written' : 'none';
        const name = o.hops ? `${ctx.options.target}:${id}` : id;
        if (name === failOnce) {
          failOnce = undefined;
          throw new Error(`${name} failed`);
        }
        applied.push(name);
      },
      verify: async () => {},
    }),
  );
  const context = (options: UpgradeOptions, target: string, from: string) =>
    ({ options: { ...options, target }, verdict: { current: from }, facts: { release: { revision: 3 } } }) as unknown as RunContext;
  const runbook: UpgradeRunbook = {
    prepare: async (_tools, options, p) => {
      prepared.push({ workDir: p.workDir, from: p.from });
      const tos = o.hops ?? [options.target];
      const hops = tos.map((to, i) => ({ from: i ? tos[i - 1]! : '1.16.18', to, restartDataPlane: i === tos.length - 1, notes: [] }));
      return { summary: { from: '1.16.18', target: options.target, hops }, contexts: hops.map((h) => context(options, h.to, h.from)) };
    },
    prepareHop: async (_tools, options, p, hops, i) => {
      prepared.push({ workDir: p.workDir, from: p.from, hop: i });
      return context(options, hops[i]!.to, hops[i]!.from);
    },
    plan: async () => ({ changesPending: true, planHash: 'plan-1', versionPolicy: { current: '1.16.18' } }) as unknown as UpgradePlan,
    steps,
  };
  return { runbook, applied, prepared, journalAtPreflight: () => journalAtPreflight };
}

const hooks: ExecuteHooks = {
  confirmStep: async () => true,
  runTask: async (_title, work) => work(() => undefined),
  skipped: () => undefined,
};

async function upgrade(
  tools: ReturnType<typeof fakeCluster>['tools'],
  o: { stateDir: string; target?: string; abandon?: boolean; answers?: boolean[]; runbook: UpgradeRunbook },
) {
  const asked: string[] = [];
  const log: string[] = [];
  const prompter: Prompter = {
    confirm: async (message) => {
      asked.push(message);
      return o.answers?.shift() ?? true;
    },
  };
  const run: UpgradeRun = {
    options: {
      target: o.target ?? '1.16.19',
      chart: 'dapr/dapr',
      valuesFiles: [],
      set: [],
      timeout: '5m',
      concurrency: 4,
      overrides: {},
      certWarnDays: 30,
    } as UpgradeOptions,
    stateDir: o.stateDir,
    abandon: o.abandon ?? false,
    recoverPending: false,
    interactive: true,
    prompter,
    hooks,
    showPlan: () => undefined,
    log: (line) => log.push(line),
    runbook: o.runbook,
  };
  return { result: runUpgrade(tools, run), asked, log };
}

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-upgrade-run-'));
  dirs.push(dir);
  return dir;
}

/** A journal another daprup left: to `target`, failed at helm-upgrade. */
function unfinished(o: { target: string; runId?: string; kind?: JournalData['kind'] }): JournalData {
  const at = '2025-11-20T09:00:00.000Z';
  return {
    schemaVersion: 1,
    kind: o.kind ?? 'upgrade',
    runId: o.runId ?? 'run-old',
    ...KEY,
    from: '1.16.18',
    target: o.target,
    planHash: 'plan-0',
    startRevision: 3,
    namespaceUid: 'ns-1',
    createdAt: at,
    updatedAt: at,
    status: 'failed',
    restarts: {},
    runDir: '/elsewhere/runs/run-old',
    steps: { preflight: { status: 'done' }, backup: { status: 'done' }, 'helm-upgrade': { status: 'failed', error: 'timed out' } },
  };
}

const localJournal = async (dir: string) => JSON.parse(await readFile(new JournalStore(dir, STEPS).file(KEY), 'utf8')) as JournalData;

describe('runUpgrade', () => {
  it('a fresh run takes the Lease, runs preflight before writing the journal, walks every step and leaves a finished journal here and in the cluster', async () => {
    const cluster = fakeCluster();
    const dir = await stateDir();
    const fake = fakeRunbook();
    const { result, asked } = await upgrade(cluster.tools, { stateDir: dir, runbook: fake.runbook });
    const out = await result;

    expect(out).toMatchObject({ resumed: false, nothingToDo: false });
    expect(asked).toEqual(['Upgrade dapr in dapr-system from 1.16.18 to 1.16.19?']);
    expect(fake.applied).toEqual(['preflight', 'backup', 'helm-upgrade']);
    expect(fake.journalAtPreflight()).toBe('none');
    expect(fake.prepared).toEqual([{ workDir: join(dir, 'cluster-1', NS, 'dapr', 'runs', out.runId!), from: undefined }]);

    const leaseCalls = cluster.runner.commandLines().filter((l) => LEASE_CALLS.test(l));
    expect(leaseCalls).toEqual([
      'kubectl get leases.coordination.k8s.io daprup-dapr -o json --ignore-not-found --namespace dapr-system',
      'kubectl create -f - -o json',
      'kubectl delete leases.coordination.k8s.io daprup-dapr --namespace dapr-system --ignore-not-found',
    ]);
    // The Lease is taken before the journal is read, and given back after the last step.
    const lines = cluster.runner.commandLines();
    expect(lines.indexOf('kubectl create -f - -o json')).toBeLessThan(
      lines.findIndex((l) => l.startsWith('kubectl get configmap daprup-run-dapr')),
    );
    expect(lines.at(-1)).toMatch(/^kubectl delete leases/);

    const local = await localJournal(dir);
    expect(local).toMatchObject({
      runId: out.runId,
      kind: 'upgrade',
      from: '1.16.18',
      target: '1.16.19',
      planHash: 'plan-1',
      startRevision: 3,
      namespaceUid: 'ns-1',
      status: 'done',
    });
    expect(Object.entries(local.steps).map(([id, r]) => `${id}: ${r.status}`)).toEqual([
      'preflight: done',
      'backup: done',
      'helm-upgrade: done',
    ]);
    expect(cluster.clusterJournal()).toMatchObject({ runId: out.runId, status: 'done' });
  });

  it("refuses while an unfinished run (in the cluster's journal) upgrades to another version, and changes nothing", async () => {
    const cluster = fakeCluster({ clusterJournal: unfinished({ target: '1.17.2' }) });
    const dir = await stateDir();
    const fake = fakeRunbook();
    const { result } = await upgrade(cluster.tools, { stateDir: dir, target: '1.16.19', runbook: fake.runbook });
    await expect(result).rejects.toThrow('An unfinished run (run-old) is upgrading to 1.17.2, not 1.16.19.');
    await expect(result).rejects.toMatchObject({ exitCode: ExitCode.refused, hint: expect.stringContaining('--abandon') });
    expect(fake.prepared).toEqual([]);
    expect(cluster.clusterJournal()).toMatchObject({ runId: 'run-old', status: 'failed' });
    expect(existsSync(new JournalStore(dir, STEPS).file(KEY))).toBe(false);
    // The Lease is given back, and so is the local lock: the next run gets both.
    expect(cluster.runner.commandLines().at(-1)).toMatch(/^kubectl delete leases/);
    const again = await upgrade(fakeCluster().tools, { stateDir: dir, runbook: fakeRunbook().runbook });
    await expect(again.result).resolves.toMatchObject({ resumed: false });
  });

  it('refuses an upgrade in the middle of a trust-bundle rotation without --abandon', async () => {
    const cluster = fakeCluster({ clusterJournal: unfinished({ target: 'root-b', kind: 'rotate' }) });
    const { result } = await upgrade(cluster.tools, { stateDir: await stateDir(), runbook: fakeRunbook().runbook });
    await expect(result).rejects.toThrow('A trust-bundle rotation (run-old) is unfinished');
  });

  it('with --abandon, gives the unfinished run up (here and in the cluster) and starts a new one', async () => {
    const dir = await stateDir();
    const store = new JournalStore(dir, STEPS);
    const old = store.open(KEY, unfinished({ target: '1.17.2' }));
    await old.save();
    const cluster = fakeCluster();
    const fake = fakeRunbook();
    const { result, log } = await upgrade(cluster.tools, { stateDir: dir, abandon: true, runbook: fake.runbook });
    const out = await result;
    expect(log).toContain('Abandoned unfinished run run-old (to 1.17.2).');
    expect(out.runId).not.toBe('run-old');
    expect(fake.applied).toEqual(['preflight', 'backup', 'helm-upgrade']);
    expect(await localJournal(dir)).toMatchObject({ runId: out.runId, status: 'done' });
    // The abandoned run was written to the cluster before the new one replaced it there.
    const written = cluster.runner.calls
      .filter((c) => c.args[0] === 'apply')
      .map((c) => JSON.parse(JSON.parse(c.input!).data['journal.json']) as JournalData);
    expect(written[0]).toMatchObject({ runId: 'run-old', status: 'abandoned' });
  });

  it("resumes an unfinished run to the same version where it stopped, once confirmed, from the cluster's copy", async () => {
    const cluster = fakeCluster({ clusterJournal: unfinished({ target: '1.16.19' }) });
    const dir = await stateDir();
    const fake = fakeRunbook();
    const { result, asked } = await upgrade(cluster.tools, { stateDir: dir, runbook: fake.runbook });
    const out = await result;
    expect(asked).toEqual(['Resume the unfinished upgrade run-old (1.16.18 → 1.16.19)?']);
    expect(out).toMatchObject({ runId: 'run-old', resumed: true, nothingToDo: false });
    expect(fake.prepared).toEqual([{ workDir: join(dir, 'cluster-1', NS, 'dapr', 'runs', 'run-old'), from: '1.16.18' }]);
    // preflight and backup were done: only the failed step runs again.
    expect(fake.applied).toEqual(['helm-upgrade']);
    expect(await localJournal(dir)).toMatchObject({
      runId: 'run-old',
      status: 'done',
      runDir: join(dir, 'cluster-1', NS, 'dapr', 'runs', 'run-old'),
    });
    expect(cluster.clusterJournal()).toMatchObject({ runId: 'run-old', status: 'done' });
  });

  it('stops without a change when the resume is not confirmed', async () => {
    const cluster = fakeCluster({ clusterJournal: unfinished({ target: '1.16.19' }) });
    const fake = fakeRunbook();
    const { result } = await upgrade(cluster.tools, { stateDir: await stateDir(), answers: [false], runbook: fake.runbook });
    await expect(result).rejects.toMatchObject({ message: 'Not resumed.', exitCode: ExitCode.confirmationNeeded });
    expect(fake.prepared).toEqual([]);
    expect(cluster.clusterJournal()).toMatchObject({ status: 'failed' });
  });

  it("walks every hop of a path in one journal: every hop's preflight before it is written, each hop read again (and checked again) in its turn", async () => {
    const cluster = fakeCluster();
    const dir = await stateDir();
    const fake = fakeRunbook({ hops: ['1.17.13', '1.18.3'] });
    const { result, asked } = await upgrade(cluster.tools, { stateDir: dir, target: '1.18.3', runbook: fake.runbook });
    const out = await result;
    expect(asked).toEqual(['Upgrade dapr in dapr-system from 1.16.18 to 1.18.3 through 1.17.13?']);
    expect(out.resumed).toBe(false);
    expect(fake.applied).toEqual([
      '1.17.13:preflight',
      '1.18.3:preflight',
      '1.17.13:backup',
      '1.17.13:helm-upgrade',
      '1.18.3:preflight',
      '1.18.3:backup',
      '1.18.3:helm-upgrade',
    ]);
    expect(fake.prepared.map((p) => p.hop)).toEqual([undefined, 1]);
    expect(fake.prepared[1]).toMatchObject({ from: '1.17.13' });
    const journal = await localJournal(dir);
    expect(journal).toMatchObject({ status: 'done', from: '1.16.18', target: '1.18.3', steps: {} });
    expect(journal.hops?.map((h) => [h.from, h.to, h.restartDataPlane, Object.values(h.steps).map((r) => r.status)])).toEqual([
      ['1.16.18', '1.17.13', false, ['done', 'done', 'done']],
      ['1.17.13', '1.18.3', true, ['done', 'done', 'done']],
    ]);
    expect(journal.hops?.every((h) => h.startedAt && h.startRevision === 3)).toBe(true);
    expect(cluster.clusterJournal()).toMatchObject({ status: 'done', hops: [{ to: '1.17.13' }, { to: '1.18.3' }] });
  });

  it('a run of several hops that failed in the second resumes there, from any machine: finished hops are never repeated', async () => {
    const cluster = fakeCluster();
    const first = fakeRunbook({ hops: ['1.17.13', '1.18.3'], failOnce: '1.18.3:helm-upgrade' });
    const { result } = await upgrade(cluster.tools, { stateDir: await stateDir(), target: '1.18.3', runbook: first.runbook });
    await expect(result).rejects.toThrow('1.18.3:helm-upgrade failed');
    expect(cluster.clusterJournal()).toMatchObject({ status: 'failed' });

    // Another machine: an empty state directory, the cluster's copy of the journal.
    const dir = await stateDir();
    const again = fakeRunbook({ hops: ['1.17.13', '1.18.3'] });
    const resumed = await upgrade(cluster.tools, { stateDir: dir, target: '1.18.3', runbook: again.runbook });
    const out = await resumed.result;
    expect(resumed.asked).toEqual([`Resume the unfinished upgrade ${out.runId} (1.16.18 → 1.18.3)?`]);
    expect(out.resumed).toBe(true);
    expect(again.applied).toEqual(['1.18.3:helm-upgrade']);
    expect(again.prepared).toEqual([{ workDir: join(dir, 'cluster-1', NS, 'dapr', 'runs', out.runId!), from: '1.16.18', hop: 1 }]);
    expect(await localJournal(dir)).toMatchObject({ status: 'done', hops: [{ to: '1.17.13' }, { to: '1.18.3' }] });
  });
});
