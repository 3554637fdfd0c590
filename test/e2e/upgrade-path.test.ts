// End to end with helm 4 on the fixture charts: the road between versions. `plan` without --to lists the targets;
// `plan --to` across three minors shows every hop with its notes and changes nothing; the three-hop upgrade (HA
// turned on on the way) is SIGKILLed inside its second hop and resumed to the end state an uninterrupted run
// reaches; a rollback below Dapr's floor is refused with nothing changed; rollback, upgrade, rollback again ends
// where the first rollback did (versions, values, trust bundle bytes), each workload restarted once per direction.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DAPRUP_COMMAND } from '../support/cli.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import {
  createDaprEnv,
  freshInstall,
  helm,
  helmHistory,
  kubectl,
  NAMESPACE,
  pods,
  revisionsPerWorkload,
  runDaprup,
  snapshotCluster,
  trustBundleData,
  type DaprEnv,
} from './dapr-env.js';

const START = '1.15.12';
const HOPS = ['1.16.19', '1.17.13', '1.18.3'];
const RESTARTED = ['apps-a/orders', 'apps-a/checkout', 'apps-b/inventory', 'apps-b/ledger', 'apps-c/node-agent'];

interface PlanJson {
  path: { from: string; target: string; hops: { from: string; to: string; restartDataPlane: boolean; notes: { id: string }[] }[] };
  nextHops?: { versionPolicy: { current: string; target: string }; steps: { id: string; skip?: string }[] }[];
  steps: { id: string; skip?: string }[];
  changesPending: boolean;
}

/** `daprup upgrade` SIGKILLed once its log says the second hop began and a step of it ran. */
function upgradeKilledInHop2(e: DaprEnv, args: string[]): Promise<{ killed: boolean; output: string }> {
  const [cmd, ...lead] = DAPRUP_COMMAND as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(
      cmd,
      [...lead, ...args, '--helm', e.flavour.helm, '--kubectl', e.flavour.kubectl, '--kubeconfig', e.kubeconfig, '--state-dir', e.stateDir],
      { env: { ...e.env, CI: 'true' } },
    );
    let output = '';
    let killed = false;
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      const hop2 = output.indexOf('Hop 2 of 3');
      // Inside the hop: after its backup, before its helm upgrade finished.
      if (!killed && hop2 >= 0 && /Back up/i.test(output.slice(hop2))) killed = child.kill('SIGKILL');
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.on('exit', () => resolve({ killed, output }));
  });
}

/** What an upgrade or a rollback must leave: versions, user values, trust bundle bytes, HA, CRDs. */
async function endState(e: DaprEnv) {
  const status = JSON.parse((await runDaprup(e, ['status', '--json'])).stdout) as {
    release: { version: string };
    haEnabled: boolean;
    controlPlane: { name: string; version?: string; desired: number }[];
    dataPlane: { namespace: string; name: string; sidecarVersions: string[]; skew: string }[];
  };
  const values = JSON.parse(await helm(e, ['get', 'values', 'dapr', '-n', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig]));
  const crds = (await kubectl(e, ['get', 'crd', '-o', 'name']))
    .split('\n')
    .filter((n) => n.endsWith('.dapr.io'))
    .sort();
  return {
    version: status.release.version,
    ha: status.haEnabled,
    controlPlane: status.controlPlane.map((c) => [c.name, c.version, c.desired]),
    // A workload that pins its own daprd image (dapr.io/sidecar-image) keeps it: the sample apps have one.
    sidecars: [...new Set(status.dataPlane.filter((w) => w.skew !== 'pinned').flatMap((w) => w.sidecarVersions))].sort(),
    values,
    trustBundle: await trustBundleData(e),
    crds,
  };
}

describe('upgrade paths and rollback with helm 4', () => {
  const flavour = HELM_FLAVOURS.find((f) => f.name === 'helm4')!;
  let e: DaprEnv;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await freshInstall(e, START);
  }, 600_000);
  afterAll(async () => e?.repo.stop());

  it('plan without --to lists the newest patch of each newer supported minor, with its hops, and changes nothing', async () => {
    const before = await snapshotCluster(e);
    const r = await runDaprup(e, ['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { release: { version: string }; targets: { version: string; hops: string[] }[] };
    expect(list.release.version).toBe(START);
    expect(list.targets.map((t) => [t.version, t.hops])).toEqual([
      ['1.16.19', ['1.16.19']],
      ['1.17.13', ['1.16.19', '1.17.13']],
      ['1.18.3', HOPS],
    ]);
    const text = await runDaprup(e, ['plan']);
    expect(text.stdout).toContain('3 hops: 1.16.19 → 1.17.13 → 1.18.3');
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('plan --to 1.18.3 shows each hop with its steps and only the notes that concern it, and changes nothing', async () => {
    const before = await snapshotCluster(e);
    const r = await runDaprup(e, ['plan', '--to', '1.18.3', '--enable-ha', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan.path.hops.map((h) => [h.from, h.to, h.restartDataPlane])).toEqual([
      [START, '1.16.19', true],
      ['1.16.19', '1.17.13', true],
      ['1.17.13', '1.18.3', true],
    ]);
    expect(plan.nextHops?.map((h) => [h.versionPolicy.current, h.versionPolicy.target])).toEqual([
      ['1.16.19', '1.17.13'],
      ['1.17.13', '1.18.3'],
    ]);
    const ids = plan.path.hops.map((h) => h.notes.map((n) => n.id));
    const only = (id: string, hop: number) =>
      ids.forEach((notes, i) => {
        expect(notes.includes(id), `${id} on hop ${i + 1}`).toBe(i === hop);
      });
    // Each release's note on its own hop only; nothing of 1.15 (already crossed) anywhere.
    only(ids[0]!.find((id) => /placement/.test(id))!, 0);
    only(ids[2]!.find((id) => /crd/.test(id))!, 2);
    expect(ids.flat().some((id) => /scheduler-data/.test(id))).toBe(false);
    const text = await runDaprup(e, ['plan', '--to', '1.18.3', '--enable-ha']);
    expect(text.stdout).toMatch(/=== Hop 2 of 3: 1\.16\.19 → 1\.17\.13/);
    expect(text.stdout).toContain('Changes pending. Apply with: daprup upgrade --to 1.18.3');
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('walks three hops with HA turned on, killed inside the second and resumed to the end state of an uninterrupted run', async () => {
    const before = await revisionsPerWorkload(e);
    const args = ['upgrade', '--to', '1.18.3', '--enable-ha', '--yes', '--concurrency', '8'];
    const first = await upgradeKilledInHop2(e, args);
    expect(first.killed, first.output).toBe(true);
    const status = JSON.parse((await runDaprup(e, ['status', '--json'])).stdout) as { unfinishedRun?: { target: string; step: string } };
    expect(status.unfinishedRun).toMatchObject({ target: '1.18.3' });
    expect(status.unfinishedRun?.step).toMatch(/^1\.17\.13\//);

    const second = await runDaprup(e, args);
    expect(second.code, second.stderr + second.stdout).toBe(0);
    expect(second.stdout).toContain('resumed');
    expect(second.stderr).not.toContain('Hop 1 of 3');

    // The end state an uninterrupted run reaches: everything at 1.18.3, HA on, the 1.18 CRDs, the bundle kept.
    const end = await endState(e);
    expect(end.version).toBe('1.18.3');
    expect(end.ha).toBe(true);
    for (const [name, version, desired] of end.controlPlane) {
      expect(version, String(name)).toBe('1.18.3');
      expect(desired, String(name)).toBe(3);
    }
    expect(end.sidecars).toEqual(['1.18.3']);
    expect(end.crds.some((c) => c.includes('mcpservers'))).toBe(true);
    expect(end.values.global.ha.enabled).toBe(true);
    // One helm revision per hop, each deployed at its hop's chart.
    const charts = (await helmHistory(e)).map((h) => h.chart);
    expect(charts.slice(-3)).toEqual(HOPS.map((v) => `dapr-${v}`));
    // The data plane restarted once per hop (every hop restarts it on a minor-by-minor path), never twice.
    const after = await revisionsPerWorkload(e);
    for (const w of RESTARTED) expect(after[w], w).toBe(before[w]! + 3);
    expect((await pods(e)).filter((p) => p.daprd && !p.daprd.endsWith('-custom')).every((p) => p.daprd === '1.18.3')).toBe(true);
  });

  it('refuses a rollback below the floor Dapr sets, and changes nothing', async () => {
    const before = await snapshotCluster(e);
    const first = (await helmHistory(e))[0]!.revision;
    const r = await runDaprup(e, ['rollback', '--to-revision', String(first), '--yes']);
    expect(r.code, r.stdout).toBe(3);
    expect(r.stderr).toContain(`cannot be rolled back to ${START}`);
    expect(r.stderr).toMatch(/\nHint: \S/);
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('rollback, upgrade and rollback again: back where the first rollback ended, each workload restarted once per direction', async () => {
    const plan = await runDaprup(e, ['plan', '--rollback', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const preview = JSON.parse(plan.stdout) as PlanJson & { rollbackRevision: number; versionPolicy: { target: string; change: string } };
    expect(preview.versionPolicy).toMatchObject({ target: '1.17.13', change: 'downgrade' });
    expect(preview.steps.find((s) => s.id === 'apply-crds')?.skip).toMatch(/newer CRDs stay/);

    const r0 = await revisionsPerWorkload(e);
    const back = await runDaprup(e, ['rollback', '--yes']);
    expect(back.code, back.stderr + back.stdout).toBe(0);
    const s1 = await endState(e);
    expect(s1.version).toBe('1.17.13');
    expect(s1.sidecars).toEqual(['1.17.13']);
    // CRDs are never downgraded: the 1.18 ones stay.
    expect(s1.crds.some((c) => c.includes('mcpservers'))).toBe(true);
    const r1 = await revisionsPerWorkload(e);
    for (const w of RESTARTED) expect(r1[w], w).toBe(r0[w]! + 1);

    const up = await runDaprup(e, ['upgrade', '--to', '1.18.3', '--yes']);
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect((await endState(e)).version).toBe('1.18.3');
    const again = await runDaprup(e, ['rollback', '--yes']);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    const s3 = await endState(e);
    expect(s3).toEqual(s1);
    const r3 = await revisionsPerWorkload(e);
    for (const w of RESTARTED) expect(r3[w], w).toBe(r1[w]! + 2);
  });
});
