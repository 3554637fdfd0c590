// `daprup upgrade`: plan, confirm, then walk the runbook under a journal so an interrupted run resumes.
import { rm } from 'node:fs/promises';
import type { Tools } from '../cluster/tools.js';
import { findRelease } from '../dapr/discovery.js';
import { explain } from '../dapr/error-hints.js';
import { DaprupError, ExitCode, refusal } from '../errors.js';
import { executeRunbook, type ExecuteHooks } from '../runbook/execute.js';
import { RUNBOOK } from '../runbook/runbook.js';
import { buildPlan, type UpgradePlan } from '../runbook/plan.js';
import { prepareRun, type PrepareOptions } from '../runbook/prepare.js';
import type { RunContext, Step, UpgradeOptions } from '../runbook/types.js';
import { JournalStore, unfinishedRun } from '../state/journal.js';
import { RunLease } from '../state/lease.js';
import type { Prompter } from '../runbook/execute.js';

/** What an upgrade walks: how its context is read, its plan, and its steps in order. */
export interface UpgradeRunbook {
  prepare(tools: Tools, options: UpgradeOptions, p: PrepareOptions): Promise<RunContext>;
  plan(ctx: RunContext): Promise<UpgradePlan>;
  /** In order. The `preflight` step runs before the journal is written, so its refusal leaves no run behind. */
  steps: readonly Step[];
}

/** The documented Dapr upgrade. */
export const DAPR_UPGRADE: UpgradeRunbook = { prepare: prepareRun, plan: buildPlan, steps: RUNBOOK };

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
  /** Default DAPR_UPGRADE; tests walk fake steps over a fake context. */
  runbook?: UpgradeRunbook;
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
  const clusterId = await tools.kubectl.clusterId().catch((e: unknown) => {
    throw explain(e, 'Reading the cluster identity');
  });
  const key = { clusterId, namespace: release.namespace, release: release.name };
  const runbook = run.runbook ?? DAPR_UPGRADE;
  const preflight = runbook.steps.find((s) => s.id === 'preflight');
  if (!preflight) throw new Error('An upgrade runbook without a preflight step.');
  const store = new JournalStore(
    run.stateDir,
    runbook.steps.map((s) => s.id),
  );
  const clusterJournal = store.inCluster(tools.kubectl, key);
  // The local lock first: a state directory that cannot be written is found before the cluster is touched.
  const unlock = await store.lock(key);
  let lease: RunLease | undefined;
  try {
    lease = await RunLease.acquire(tools.kubectl, {
      namespace: release.namespace,
      release: release.name,
      runId: store.newRunId(),
      log: run.log,
    });
    lease.startRenewing();
    const namespaceUid = await tools.kubectl.namespaceUid(release.namespace);
    let existing = unfinishedRun(
      await store.read(key),
      await clusterJournal.read().catch((e: unknown) => {
        throw explain(e, 'Reading the run journal from the cluster');
      }),
    );
    if (existing?.namespaceUid && existing.namespaceUid !== namespaceUid) {
      // Dapr was reinstalled since that run: its steps say nothing about this installation.
      run.log(`Ignoring unfinished run ${existing.runId}: it belongs to an earlier installation of ${release.namespace}.`);
      await store.open(key, existing).finish('abandoned');
      existing = undefined;
    }
    if (existing?.kind === 'rotate' && !run.abandon) {
      throw refusal(
        `A trust-bundle rotation (${existing.runId}) is unfinished: upgrading now would pin a bundle halfway through it.`,
        'Finish it with daprup certs rotate --yes, or pass --abandon to give it up.',
      );
    }
    if (existing && (existing.target !== o.target || existing.kind === 'rotate')) {
      if (!run.abandon) {
        throw refusal(
          `An unfinished run (${existing.runId}) is upgrading to ${existing.target}, not ${o.target}.`,
          `Finish it with daprup upgrade --to ${existing.target}, or pass --abandon to give it up.`,
        );
      }
      await store.open(key, existing, clusterJournal).finish('abandoned');
      run.log(`Abandoned unfinished run ${existing.runId} (to ${existing.target}).`);
      existing = undefined;
    }
    const resumed = !!existing;
    if (
      existing &&
      !(await run.prompter.confirm(`Resume the unfinished upgrade ${existing.runId} (${existing.from} → ${existing.target})?`))
    ) {
      throw new DaprupError(
        'Not resumed.',
        `Resume later with the same command, or give the run up with --abandon.`,
        ExitCode.confirmationNeeded,
      );
    }

    const runId = existing?.runId ?? store.newRunId();
    // Always under this machine's state directory: a journal read from the cluster names another machine's path.
    const workDir = store.runDir(key, runId);
    const ctx = await runbook.prepare(tools, o, {
      workDir,
      log: run.log,
      from: existing?.from,
      recoverPending: async (message) => run.recoverPending || (run.interactive && run.prompter.confirm(message)),
    });
    const plan = await runbook.plan(ctx);
    if (!resumed && !plan.changesPending) {
      await rm(workDir, { recursive: true, force: true });
      return { plan, resumed, nothingToDo: true };
    }
    if (!resumed) {
      run.showPlan(plan);
      if (
        !(await run.prompter.confirm(`Upgrade ${release.name} in ${release.namespace} from ${plan.versionPolicy.current} to ${o.target}?`))
      ) {
        await rm(workDir, { recursive: true, force: true });
        throw new DaprupError(
          'Upgrade not confirmed; nothing was changed.',
          'Run again and confirm, or pass --yes.',
          ExitCode.confirmationNeeded,
        );
      }
    }
    // Permissions are checked before the journal is written: a refusal leaves the cluster as it was.
    if (!resumed) await preflight.apply(ctx, () => {});
    const journal = existing
      ? store.open(key, existing, clusterJournal)
      : store.create(
          key,
          {
            runId,
            from: ctx.verdict.current,
            target: o.target,
            planHash: plan.planHash,
            startRevision: ctx.facts.release.revision,
            namespaceUid,
          },
          clusterJournal,
        );
    // Written here and in the cluster before the first step: a resumed run is running again, a new one passed preflight.
    if (resumed) await journal.resume();
    else await journal.setStep(preflight.id, 'done');
    ctx.journal = journal;
    await executeRunbook(ctx, journal, run.hooks, runbook.steps, () => {
      if (lease?.lost) throw refusal("Another daprup run took over this run's lease.", 'Let that run finish; check `daprup status`.');
    });
    return { plan, runId, resumed, nothingToDo: false };
  } finally {
    await lease?.release();
    await unlock().catch(() => undefined);
  }
}
