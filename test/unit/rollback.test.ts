// Which revision `daprup rollback` goes back to, and where it refuses: the previous deployed revision (failed ones
// skipped), --to-revision, the revision that runs, one that never ran, the floors Dapr sets, and an unfinished
// rollback that resumes to its own revision. Over a fake helm and kubectl.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { ExitCode } from '../../src/errors.js';
import { resolveRollback, rollbackOptions } from '../../src/operations/rollback.js';
import { STEP_IDS } from '../../src/runbook/runbook.js';
import { JournalStore } from '../../src/state/journal.js';
import { FakeRunner } from './fake-runner.js';

const NS = 'dapr-system';
const REL = { name: 'dapr', namespace: NS };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Rev = [revision: number, status: string, version: string];

/** Release dapr whose last revision is the last of `history`. */
function cluster(history: Rev[], values: Record<number, object> = {}) {
  const runner = new FakeRunner();
  const [revision, status, version] = history.at(-1)!;
  runner
    .on(
      'helm',
      ['list'],
      JSON.stringify([{ name: 'dapr', namespace: NS, revision: String(revision), status, chart: `dapr-${version}`, app_version: version }]),
    )
    .on('helm', ['history'], JSON.stringify(history.map(([r, s, v]) => ({ revision: r, status: s, chart: `dapr-${v}`, app_version: v }))))
    .on('helm', ['get', 'values'], (args) => JSON.stringify(values[Number(args[args.indexOf('--revision') + 1])] ?? {}))
    .on('kubectl', ['get', 'namespace', 'kube-system'], JSON.stringify({ metadata: { name: 'kube-system', uid: 'cluster-1' } }))
    .on('kubectl', ['get', 'configmap', 'daprup-run-dapr'], '');
  return { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') };
}

describe('resolveRollback', () => {
  it('goes back to the newest earlier revision that was deployed, skipping failed ones', async () => {
    const tools = cluster([
      [1, 'superseded', '1.16.19'],
      [2, 'superseded', '1.17.13'],
      [3, 'failed', '1.18.3'],
      [4, 'deployed', '1.18.3'],
    ]);
    expect(await resolveRollback(tools, {})).toEqual({ release: REL, revision: 2, version: '1.17.13', from: '1.18.3' });
  });

  it('takes --to-revision when it was deployed and Dapr allows going there', async () => {
    const tools = cluster([
      [1, 'superseded', '1.16.19'],
      [2, 'superseded', '1.17.13'],
      [3, 'deployed', '1.17.13'],
    ]);
    expect(await resolveRollback(tools, { toRevision: 1 })).toEqual({ release: REL, revision: 1, version: '1.16.19', from: '1.17.13' });
  });

  it.each([
    ['a revision not in the history', [[1, 'deployed', '1.17.13']] as Rev[], 7, /has no revision 7/],
    [
      'the revision that runs',
      [
        [1, 'superseded', '1.16.19'],
        [2, 'deployed', '1.17.13'],
      ] as Rev[],
      2,
      /is the one that runs/,
    ],
    [
      'a revision that never ran',
      [
        [1, 'failed', '1.16.19'],
        [2, 'deployed', '1.17.13'],
      ] as Rev[],
      1,
      /never ran \(its status is failed\)/,
    ],
    ['no earlier deployed revision', [[1, 'deployed', '1.17.13']] as Rev[], undefined, /no earlier deployed revision/],
  ])('refuses %s, with a hint naming helm history', async (_what, history, toRevision, message) => {
    const err = await resolveRollback(cluster(history), { toRevision }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: ExitCode.refused, message: expect.stringMatching(message) });
    expect((err as { hint: string }).hint).toContain('helm history dapr -n dapr-system');
  });

  it.each([
    ['1.18.3', '1.17.6', true],
    ['1.18.3', '1.17.7', false],
    ['1.18.3', '1.16.19', true],
    ['1.17.13', '1.16.19', false],
    ['1.17.13', '1.12.4', true],
  ])('from %s to %s: refused below the floor = %s', async (from, to, refused) => {
    const tools = cluster([
      [1, 'superseded', to],
      [2, 'deployed', from],
    ]);
    const result = await resolveRollback(tools, {}).then(
      () => 'ok',
      (e: { message: string; hint: string }) => e,
    );
    if (!refused) expect(result).toBe('ok');
    else {
      expect(result).toMatchObject({ message: expect.stringContaining(`cannot be rolled back to ${to}`) });
      expect((result as { hint: string }).hint).toMatch(/^Roll back to 1\.1\d\.\d+ or newer/);
    }
  });

  it('an unfinished rollback resumes to its own revision, even after the release moved on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'daprup-rollback-'));
    dirs.push(dir);
    const key = { clusterId: 'cluster-1', namespace: NS, release: 'dapr' };
    const store = new JournalStore(dir, STEP_IDS);
    const journal = store.create(key, {
      runId: 'r1',
      kind: 'rollback',
      from: '1.18.3',
      target: '1.17.13',
      planHash: 'h',
      startRevision: 4,
      rollbackRevision: 2,
    });
    await journal.finish('failed');
    // The rollback's helm upgrade already made revision 5 (1.17.13): "the previous revision" would now be 4.
    const tools = cluster([
      [2, 'superseded', '1.17.13'],
      [4, 'superseded', '1.18.3'],
      [5, 'deployed', '1.17.13'],
    ]);
    expect(await resolveRollback(tools, { stateDir: dir })).toEqual({ release: REL, revision: 2, version: '1.17.13', from: '1.18.3' });
  });
});

describe('rollbackOptions', () => {
  it("targets the revision's version with its own values and HA, nothing of the user's, downgrade allowed", async () => {
    const tools = cluster(
      [
        [1, 'superseded', '1.16.19'],
        [2, 'deployed', '1.17.13'],
      ],
      { 1: { global: { ha: { enabled: true } }, dapr_operator: { logLevel: 'debug' } } },
    );
    const base = { chart: 'dapr/dapr', timeout: '5m', concurrency: 4, certWarnDays: 30 };
    const o = await rollbackOptions(tools, base, { release: REL, revision: 1, version: '1.16.19', from: '1.17.13' });
    expect(o).toMatchObject({
      target: '1.16.19',
      valuesFiles: [],
      set: [],
      ha: true,
      overrides: { allowDowngrade: true },
      rollback: { revision: 1, values: { dapr_operator: { logLevel: 'debug' } } },
    });
  });
});
