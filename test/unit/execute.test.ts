import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeRunbook, type ExecuteHooks } from '../../src/runbook/execute.js';
import { RUNBOOK, STEP_IDS } from '../../src/runbook/runbook.js';
import type { RunContext, Step } from '../../src/runbook/types.js';
import { JournalStore, type JournalData } from '../../src/state/journal.js';
import type { StepId } from '../../src/runbook/types.js';

// Fake steps over an in-memory "cluster": each step's apply records itself; one can be made to fail once.
function fakeRunbook(applied: StepId[], failOnce: Set<StepId>, destructive = new Set<StepId>()): Step[] {
  const doneInCluster = new Set<StepId>();
  return STEP_IDS.map((id) => ({
    id,
    title: id,
    plan: async () => ({ summary: id, commands: [], destructive: destructive.has(id) }),
    isDone: async () => doneInCluster.has(id) && id !== 'verify',
    apply: async () => {
      if (failOnce.delete(id)) throw new Error(`${id} failed`);
      applied.push(id);
      doneInCluster.add(id);
    },
    verify: async () => {},
  }));
}

const hooks = (answers: boolean[] = []): ExecuteHooks & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    confirmStep: async (step) => {
      asked.push(step.id);
      return answers.shift() ?? true;
    },
    runTask: async (_t, work) => work(() => {}),
    skipped: () => {},
  };
};

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function journal() {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-journal-'));
  dirs.push(dir);
  const store = new JournalStore(dir, STEP_IDS);
  const key = { clusterId: 'c1', namespace: 'dapr-system', release: 'dapr' };
  return {
    store,
    key,
    journal: store.create(key, { runId: store.newRunId(), from: '1.16.18', target: '1.16.19', planHash: 'h', startRevision: 3 }),
  };
}

const ctx = {} as RunContext;

describe('executeRunbook resume', () => {
  it.each(STEP_IDS)('after a failure in %s, a second run finishes without repeating finished steps', async (failing) => {
    const { store, key, journal: j } = await journal();
    const applied: StepId[] = [];
    const steps = fakeRunbook(applied, new Set([failing]));
    await expect(executeRunbook(ctx, j, hooks(), steps)).rejects.toThrow(`${failing} failed`);
    const saved = (await store.read(key))!;
    expect(saved.steps[failing]?.status).toBe('failed');
    expect(saved.status).toBe('failed');

    await executeRunbook(ctx, store.open(key, saved), hooks(), steps);
    // Every step ran exactly once in total.
    expect([...applied].sort()).toEqual([...STEP_IDS].sort());
    expect((await store.read(key))!.status).toBe('done');
  });

  it('re-probes a step left running instead of assuming it done', async () => {
    const { store, key, journal: j } = await journal();
    await j.setStep('preflight', 'done');
    await j.setStep('export-trust-bundle', 'running'); // killed mid-step
    const applied: StepId[] = [];
    await executeRunbook(ctx, store.open(key, (await store.read(key))!), hooks(), fakeRunbook(applied, new Set()));
    expect(applied[0]).toBe('export-trust-bundle');
    expect(applied).not.toContain('preflight');
  });

  it('asks before destructive steps and stops cleanly when refused', async () => {
    const { journal: j } = await journal();
    const applied: StepId[] = [];
    const h = hooks([true, false]);
    await expect(
      executeRunbook(ctx, j, h, fakeRunbook(applied, new Set(), new Set(['recreate-statefulsets', 'helm-upgrade']))),
    ).rejects.toThrow('not confirmed');
    expect(h.asked).toEqual(['recreate-statefulsets', 'helm-upgrade']);
    expect(applied).toContain('recreate-statefulsets');
    expect(applied).not.toContain('helm-upgrade');
  });

  it('refuses a journal from another cluster and a corrupted one', async () => {
    const { store, key, journal: j } = await journal();
    await j.save();
    await expect(store.read({ ...key, clusterId: 'c2' })).resolves.toBeUndefined(); // different file per cluster
    await writeFile(store.file(key), '{not json');
    await expect(store.read(key)).rejects.toThrow('corrupted');
    await writeFile(store.file(key), JSON.stringify({ ...j.data, clusterId: 'other' }));
    await expect(store.read(key)).rejects.toThrow('another cluster');
  });
});

describe('step ids', () => {
  it("are the runbook's, in its order, and exactly the StepId union", () => {
    // Record<StepId, …> does not compile when the union gains or loses an id; the comparison ties it to RUNBOOK.
    const union: Record<StepId, true> = {
      preflight: true,
      'export-trust-bundle': true,
      backup: true,
      'protect-scheduler-data': true,
      'check-chart': true,
      'apply-crds': true,
      'recreate-statefulsets': true,
      'helm-upgrade': true,
      'wait-control-plane': true,
      'restart-data-plane': true,
      'upgrade-dapr-shared': true,
      verify: true,
    };
    expect(STEP_IDS).toEqual(RUNBOOK.map((s) => s.id));
    expect(new Set(STEP_IDS).size).toBe(STEP_IDS.length);
    expect([...STEP_IDS].sort()).toEqual(Object.keys(union).sort());
  });

  it('a journal written before a step was added loads, with that step pending after the others', async () => {
    const { store, key, journal: j } = await journal();
    await j.setStep('preflight', 'done');
    const written = JSON.parse(await readFile(store.file(key), 'utf8')) as JournalData;
    // As an older daprup wrote it: no kind, and no upgrade-dapr-shared step.
    const { kind: _kind, ...older } = {
      ...written,
      steps: Object.fromEntries(Object.entries(written.steps).filter(([id]) => id !== 'upgrade-dapr-shared')),
    };
    await writeFile(store.file(key), JSON.stringify(older));
    const read = (await store.read(key))!;
    expect(Object.keys(read.steps)).toEqual([...STEP_IDS.filter((id) => id !== 'upgrade-dapr-shared'), 'upgrade-dapr-shared']);
    expect(read.steps['upgrade-dapr-shared']).toEqual({ status: 'pending' });
    expect(read.steps.preflight?.status).toBe('done');
    // A rotation's journal keeps its own phases.
    await writeFile(store.file(key), JSON.stringify({ ...older, kind: 'rotate', steps: { 'phase-1': { status: 'done' } } }));
    expect(Object.keys((await store.read(key))!.steps)).toEqual(['phase-1']);
  });
});
