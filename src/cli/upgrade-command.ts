// What `upgrade` and `rollback` share once their options are known: the confirmation rules, the progress display,
// the run itself (src/operations/upgrade.ts) and the last line, which never claims "every daprd" while some is
// out of reach.
import { DaprupError, ExitCode } from '../errors.js';
import { runUpgrade } from '../operations/upgrade.js';
import type { UpgradeOptions } from '../runbook/types.js';
import { TerminalPrompter, unattendedPrompter, yesPrompter } from '../ui/prompter.js';
import { progressHooks } from '../ui/progress.js';
import { renderPlan, renderPlanSummary } from '../ui/render.js';
import { type ClusterFlags, DaprupCommand } from './base-command.js';

export interface RunFlags extends ClusterFlags {
  yes: boolean;
  abandon: boolean;
  'recover-pending': boolean;
}

export abstract class UpgradeRunCommand extends DaprupCommand {
  protected async runAndReport(flags: RunFlags, options: UpgradeOptions): Promise<void> {
    const what = options.rollback ? 'A rollback' : 'An upgrade';
    if (!this.interactive && !flags.yes) {
      throw new DaprupError(
        `${what} changes the cluster and nobody is here to confirm it.`,
        'Pass --yes to confirm in advance (CI), or run at a terminal.',
        ExitCode.confirmationNeeded,
      );
    }
    const tools = this.tools(flags);
    const prompter = flags.yes ? yesPrompter : this.interactive ? new TerminalPrompter() : unattendedPrompter;
    const write = (line: string) => process.stderr.write(`${line}\n`);
    process.once('SIGINT', () => {
      write('Interrupted. Run the same command again to resume where it stopped.');
      process.exit(ExitCode.interrupted);
    });
    const result = await runUpgrade(tools, {
      options,
      stateDir: this.stateDir(flags),
      abandon: flags.abandon,
      recoverPending: flags['recover-pending'],
      interactive: this.interactive,
      prompter,
      hooks: progressHooks({ interactive: this.interactive, silent: flags.json, prompter, write: (line) => this.print(line) }),
      // At a glance before the confirmation; every table and command with --verbose (and in `daprup plan`).
      showPlan: (plan) => {
        if (!flags.json && !flags.yes) this.print(flags.verbose ? renderPlan(plan, { applyHint: false }) : renderPlanSummary(plan));
      },
      log: write,
    });
    if (flags.json) {
      this.printJson({
        runId: result.runId,
        resumed: result.resumed,
        nothingToDo: result.nothingToDo,
        from: result.plan.versionPolicy.current,
        target: options.target,
        ...(result.plan.path && result.plan.path.hops.length > 1 ? { hops: result.plan.path.hops.map((h) => h.to) } : {}),
      });
      return;
    }
    // Never "every sidecar" while some daprd is out of reach: name them (verify printed why, one by one).
    const out = result.plan.workloads.filter((w) => w.decision === 'unreached').map((w) => `${w.kind}/${w.namespace}/${w.name}`);
    const reach = out.length
      ? `; ${out.length} daprd out of reach: ${out.slice(0, 5).join(', ')}${out.length > 5 ? ', …' : ''} (daprup status)`
      : '';
    if (result.nothingToDo)
      this.print(`Nothing to do: ${result.plan.release.name} and every daprd daprup reaches already run ${options.target}${reach}.`);
    else
      this.print(
        `Dapr ${options.target} is running: control plane and ${out.length ? 'every reachable daprd' : 'every daprd'} verified (run ${result.runId}${result.resumed ? ', resumed' : ''})${reach}.`,
      );
  }
}
