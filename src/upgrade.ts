// `daprup upgrade`: plan, confirm, then walk the runbook under a journal so an interrupted run resumes.
import { rm } from 'node:fs/promises';
import { explain, findRelease, type Tools } from './dapr/discovery.js';
import { DaprupError, ExitCode, refusal } from './errors.js';
import { executeRunbook, type ExecuteHooks } from './runbook/execute.js';
import { RUNBOOK } from './runbook/runbook.js';
import { buildPlan, type UpgradePlan } from './runbook/plan.js';
import { prepareRun } from './runbook/prepare.js';
import { preflight } from './runbook/steps/preflight.js';
import type { UpgradeOptions } from './runbook/types.js';
import { ClusterJournal, JournalStore, unfinishedRun } from './state/journal.js';
import { RunLease } from './state/lease.js';
import type { Prompter } from './ui/prompter.js';

export interface UpgradeRun {
  options: UpgradeOptions;
  stateDir: string;
  abandon: boolean;
  /** --recover-pending: roll a stuck pending-* release back without asking. */
  recoverPending: boolean;
  interactive: boolean;
  prompter: Prompter;
  hooks: ExecuteHooks;
  /** Shown before the first confirmation (the plan as text). */
  showPlan: (plan: UpgradePlan) => void;
  log: (line: string) => void;
}

export interface UpgradeResult {
  plan: UpgradePlan;
  runId?: string;
  resumed: boolean;
  nothingToDo: boolean;
}

export async function runUpgrade(tools: Tools, run: UpgradeRun): Promise<UpgradeResult> {
  const o = run.options;
  const release = await findRelease(tools, { release: o.release, namespace: o.namespace });
  const clusterId = await tools.kubectl.clusterId().catch((e: unknown) => { throw explain(e, 'Reading the cluster identity'); });
  const key = { clusterId, namespace: release.namespace, release: release.name };
  const store = new JournalStore(run.stateDir);
  const clusterJournal = new ClusterJournal(tools.kubectl, release.namespace, release.name);
  // The local lock first: a state directory that cannot be written is found before the cluster is touched.
  const unlock = await store.lock(key);
  let lease: RunLease | undefined;
  try {
    lease = await RunLease.acquire(tools.kubectl, { namespace: release.namespace, release: release.name, runId: store.newRunId(), log: run.log });
    lease.startRenewing();
    const namespaceUid = await tools.kubectl.namespaceUid(release.namespace);
    let existing = unfinishedRun(await store.read(key), await clusterJournal.read().catch((e: unknown) => { throw explain(e, 'Reading the run journal from the cluster'); }));
    if (existing?.namespaceUid && existing.namespaceUid !== namespaceUid) {
      // Dapr was reinstalled since that run: its steps say nothing about this installation.
      run.log(`Ignoring unfinished run ${existing.runId}: it belongs to an earlier installation of ${release.namespace}.`);
      const stale = store.open(key, existing);
      await stale.finish('abandoned');
      existing = undefined;
    }
    if (existing?.kind === 'rotate' && !run.abandon) {
      throw refusal(`A trust-bundle rotation (${existing.runId}) is unfinished: upgrading now would pin a bundle halfway through it.`, 'Finish it with daprup certs rotate --yes, or pass --abandon to give it up.');
    }
    if (existing && (existing.target !== o.target || existing.kind === 'rotate')) {
      if (!run.abandon) {
        throw refusal(`An unfinished run (${existing.runId}) is upgrading to ${existing.target}, not ${o.target}.`, `Finish it with daprup upgrade --to ${existing.target}, or pass --abandon to give it up.`);
      }
      const old = store.open(key, existing);
      old.mirror = clusterJournal;
      await old.finish('abandoned');
      run.log(`Abandoned unfinished run ${existing.runId} (to ${existing.target}).`);
      existing = undefined;
    }
    const resumed = !!existing;
    if (existing && !(await run.prompter.confirm(`Resume the unfinished upgrade ${existing.runId} (${existing.from} → ${existing.target})?`))) {
      throw new DaprupError('Not resumed.', `Resume later with the same command, or give the run up with --abandon.`, ExitCode.confirmationNeeded);
    }

    const runId = existing?.runId ?? store.newRunId();
    // Always under this machine's state directory: a journal read from the cluster names another machine's path.
    const workDir = store.runDir(key, runId);
    const ctx = await prepareRun(tools, o, {
      workDir, log: run.log, from: existing?.from,
      recoverPending: async (message) => run.recoverPending || (run.interactive && run.prompter.confirm(message)),
    });
    const plan = await buildPlan(ctx);
    if (!resumed && !plan.changesPending) {
      await rm(workDir, { recursive: true, force: true });
      return { plan, resumed, nothingToDo: true };
    }
    if (!resumed) {
      run.showPlan(plan);
      if (!(await run.prompter.confirm(`Upgrade ${release.name} in ${release.namespace} from ${plan.versionPolicy.current} to ${o.target}?`))) {
        await rm(workDir, { recursive: true, force: true });
        throw new DaprupError('Upgrade not confirmed; nothing was changed.', 'Run again and confirm, or pass --yes.', ExitCode.confirmationNeeded);
      }
    }
    // Permissions are checked before the journal is written: a refusal leaves the cluster as it was.
    if (!resumed) await preflight.apply(ctx, () => {});
    const journal = existing ? store.open(key, existing) : store.create(key, { runId, from: ctx.verdict.current, target: o.target, planHash: plan.planHash, startRevision: ctx.facts.release.revision, namespaceUid });
    journal.mirror = clusterJournal;
    journal.data.status = 'running';
    if (!resumed) journal.data.steps.preflight = { status: 'done', finishedAt: new Date().toISOString() };
    await journal.save();
    ctx.journal = journal;
    await executeRunbook(ctx, journal, run.hooks, RUNBOOK, () => {
      if (lease?.lost) throw refusal('Another daprup run took over this run\'s lease.', 'Let that run finish; check `daprup status`.');
    });
    return { plan, runId, resumed, nothingToDo: false };
  } finally {
    await lease?.release();
    await unlock().catch(() => undefined);
  }
}
