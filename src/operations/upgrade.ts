// `daprup upgrade`: plan, confirm, then walk the runbook under a journal so an interrupted run resumes. Further
// than one minor, the run walks every hop of the path (src/runbook/path.ts) in one journal, under one Lease.
import { rm } from 'node:fs/promises';
import type { Tools } from '../cluster/tools.js';
import { findRelease } from '../dapr/discovery.js';
import { explain } from '../dapr/error-hints.js';
import { DaprupError, ExitCode, refusal } from '../errors.js';
import { executeRunbook, type ExecuteHooks } from '../runbook/execute.js';
import { RUNBOOK } from '../runbook/runbook.js';
import { buildPathPlan, type UpgradePlan } from '../runbook/plan.js';
import { preparePath, prepareHop, type PreparedPath } from '../runbook/path.js';
import type { PrepareOptions } from '../runbook/prepare.js';
import type { RunContext, Step, UpgradeOptions } from '../runbook/types.js';
import { currentHop, JournalStore, unfinishedRun, type Journal } from '../state/journal.js';
import { RunLease } from '../state/lease.js';
import type { Prompter } from '../runbook/execute.js';

/** What an upgrade walks: how its hops are read, its plan, and its steps in order. */
export interface UpgradeRunbook {
  /** Every hop's context, read and planned before anything changes (one hop for an upgrade of one minor). */
  prepare: typeof preparePath;
  /** A later hop's context, read again when its turn comes (the earlier hops changed the cluster). */
  prepareHop: typeof prepareHop;
  plan(prepared: PreparedPath): Promise<UpgradePlan>;
  /** In order. The `preflight` step runs before the journal is written, so its refusal leaves no run behind. */
  steps: readonly Step[];
}

/** The documented Dapr upgrade. */
export const DAPR_UPGRADE: UpgradeRunbook = { prepare: preparePath, prepareHop, plan: buildPathPlan, steps: RUNBOOK };

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
    const kind = o.rollback ? 'rollback' : 'upgrade';
    if (existing && (existing.target !== o.target || (existing.kind ?? 'upgrade') !== kind)) {
      if (!run.abandon) {
        const finish = existing.kind === 'rollback' ? 'daprup rollback --yes' : `daprup upgrade --to ${existing.target}`;
        throw refusal(
          `An unfinished run (${existing.runId}) is ${existing.kind === 'rollback' ? 'rolling back' : 'upgrading'} to ${existing.target}, not ${o.target}.`,
          `Finish it with ${finish}, or pass --abandon to give it up.`,
        );
      }
      await store.open(key, existing, clusterJournal).finish('abandoned');
      run.log(`Abandoned unfinished run ${existing.runId} (to ${existing.target}).`);
      existing = undefined;
    }
    const resumed = !!existing;
    if (
      existing &&
      !(await run.prompter.confirm(`Resume the unfinished ${kind} ${existing.runId} (${existing.from} → ${existing.target})?`))
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
    const prepare: PrepareOptions = {
      workDir,
      log: run.log,
      from: existing?.from,
      recoverPending: async (message) => run.recoverPending || (run.interactive && run.prompter.confirm(message)),
    };
    // A resumed run of several hops prepares only the hop it stopped in (the earlier ones changed the cluster).
    const resumeHop = existing?.hops ? (currentHop(existing) ?? existing.hops.length - 1) : 0;
    const prepared = existing?.hops
      ? {
          summary: { from: existing.from, target: existing.target, hops: existing.hops.map((h) => ({ ...h, notes: [] })) },
          contexts: [
            await runbook.prepareHop(
              tools,
              o,
              prepare,
              existing.hops,
              resumeHop,
              existing.hops.map((h) => h.restartDataPlane),
            ),
          ],
        }
      : await runbook.prepare(tools, o, { ...prepare, current: release.version });
    const plan = await runbook.plan(prepared);
    const ctx = prepared.contexts[0]!;
    if (!resumed && !plan.changesPending) {
      await rm(workDir, { recursive: true, force: true });
      return { plan, resumed, nothingToDo: true };
    }
    const hops = prepared.summary.hops;
    if (!resumed) {
      run.showPlan(plan);
      const through =
        hops.length > 1
          ? ` through ${hops
              .slice(0, -1)
              .map((h) => h.to)
              .join(', ')}`
          : '';
      if (
        !(await run.prompter.confirm(
          o.rollback
            ? `Roll ${release.name} in ${release.namespace} back from ${plan.versionPolicy.current} to ${o.target} (revision ${o.rollback.revision})?`
            : `Upgrade ${release.name} in ${release.namespace} from ${plan.versionPolicy.current} to ${o.target}${through}?`,
        ))
      ) {
        await rm(workDir, { recursive: true, force: true });
        throw new DaprupError(
          `${o.rollback ? 'Rollback' : 'Upgrade'} not confirmed; nothing was changed.`,
          'Run again and confirm, or pass --yes.',
          ExitCode.confirmationNeeded,
        );
      }
    }
    // Every hop's preflight (permissions, storage, nodes, scheduler data) before the journal is written: a refusal
    // leaves the cluster as it was. A later hop checks again when its turn comes.
    if (!resumed) for (const hopContext of prepared.contexts) await preflight.apply(hopContext, () => {});
    const several = !!existing?.hops || hops.length > 1;
    const journal = existing
      ? store.open(key, existing, clusterJournal)
      : store.create(
          key,
          {
            runId,
            kind,
            from: ctx.verdict.current,
            target: o.target,
            planHash: plan.planHash,
            startRevision: ctx.facts.release.revision,
            namespaceUid,
            ...(o.rollback ? { rollbackRevision: o.rollback.revision } : {}),
            ...(several ? { hops: hops.map(({ from, to, restartDataPlane }) => ({ from, to, restartDataPlane })) } : {}),
          },
          clusterJournal,
        );
    // Written here and in the cluster before the first step: a resumed run is running again, a new one passed preflight.
    const beforeStep = () => {
      if (lease?.lost) throw refusal("Another daprup run took over this run's lease.", 'Let that run finish; check `daprup status`.');
    };
    if (!several) {
      if (resumed) await journal.resume();
      else await journal.setStep(preflight.id, 'done');
      ctx.journal = journal;
      await executeRunbook(ctx, journal, run.hooks, runbook.steps, beforeStep);
    } else {
      if (resumed) await journal.resume();
      await walkHops(tools, run, runbook, journal, { prepare, first: resumeHop, firstContext: ctx, preflightDone: !resumed, beforeStep });
      await journal.finish('done');
    }
    return { plan, runId, resumed, nothingToDo: false };
  } finally {
    await lease?.release();
    await unlock().catch(() => undefined);
  }
}

/**
 * Each hop in turn, from `first`: its own context (read again from the cluster for every hop after the first of
 * this invocation), its view of the journal, the runbook's steps. A hop's preflight was run before the journal was
 * written when this is a new run's first hop.
 */
async function walkHops(
  tools: Tools,
  run: UpgradeRun,
  runbook: UpgradeRunbook,
  journal: Journal,
  w: { prepare: PrepareOptions; first: number; firstContext: RunContext; preflightDone: boolean; beforeStep: () => void },
): Promise<void> {
  const hops = journal.data.hops!;
  const restarts = hops.map((h) => h.restartDataPlane);
  for (let i = w.first; i < hops.length; i++) {
    const ctx =
      i === w.first
        ? w.firstContext
        : await runbook.prepareHop(tools, run.options, { ...w.prepare, from: hops[i]!.from }, hops, i, restarts);
    const hopJournal = await journal.hop(i, ctx.facts.release.revision);
    if (i === w.first && w.preflightDone) await hopJournal.setStep('preflight', 'done');
    run.log(`Hop ${i + 1} of ${hops.length}: ${hops[i]!.from} → ${hops[i]!.to}`);
    ctx.journal = hopJournal;
    await executeRunbook(ctx, hopJournal, run.hooks, runbook.steps, w.beforeStep);
  }
}
