// Walks the runbook for an upgrade: a step finished in an earlier run is skipped; a step found running or
// failed is re-probed, never assumed done; destructive steps ask first. Every transition is journaled.
import { DaprupError, ExitCode } from '../errors.js';
import type { Journal } from '../state/journal.js';
import type { StepOf, StepPlan } from './types.js';

/** How a run asks its user to confirm (src/ui/prompter.ts: at a terminal, --yes, or nobody to ask). */
export interface Prompter {
  confirm(message: string): Promise<boolean>;
}

export interface ExecuteHooks {
  confirmStep(step: { id: string; title: string }, plan: StepPlan): Promise<boolean>;
  runTask(title: string, work: (report: (message: string) => void) => Promise<void>): Promise<void>;
  skipped(title: string, reason: string): void;
}

export async function executeRunbook<C>(
  ctx: C,
  journal: Journal,
  hooks: ExecuteHooks,
  steps: readonly StepOf<C>[],
  beforeStep: () => void = () => {},
): Promise<void> {
  for (const step of steps) {
    beforeStep();
    const rec = journal.step(step.id);
    if (rec.status === 'done' || rec.status === 'skipped') {
      hooks.skipped(step.title, 'done earlier in this run');
      continue;
    }
    if (await step.isDone(ctx)) {
      await journal.setStep(step.id, 'done');
      hooks.skipped(step.title, 'already done');
      continue;
    }
    const plan = await step.plan(ctx);
    if (plan.skip) {
      await journal.setStep(step.id, 'skipped');
      hooks.skipped(step.title, plan.skip);
      continue;
    }
    if (plan.destructive && !(await hooks.confirmStep(step, plan))) {
      throw new DaprupError(
        `Stopped before "${step.title}": not confirmed.`,
        'Run the same command again to resume from this step.',
        ExitCode.confirmationNeeded,
      );
    }
    await journal.setStep(step.id, 'running');
    try {
      await hooks.runTask(step.title, (report) => step.apply(ctx, report));
      await step.verify(ctx);
    } catch (e) {
      await journal.setStep(step.id, 'failed', (e as Error).message);
      await journal.finish('failed');
      throw e;
    }
    await journal.setStep(step.id, 'done');
  }
  await journal.finish('done');
}
