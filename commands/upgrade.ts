import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { upgradeFlags, upgradeOptions } from '../src/cli/upgrade-flags.js';
import { DaprupError, ExitCode } from '../src/errors.js';
import { runUpgrade } from '../src/operations/upgrade.js';
import { TerminalPrompter, unattendedPrompter, yesPrompter } from '../src/ui/prompter.js';
import { progressHooks } from '../src/ui/progress.js';
import { renderPlan, renderPlanSummary } from '../src/ui/render.js';

export default class Upgrade extends DaprupCommand {
  static override summary = 'Upgrade Dapr: control plane, CRDs, trust bundle kept, every Dapr-enabled workload restarted.';
  static override description =
    'Runs the upgrade as resumable steps. At a terminal it shows the plan at a glance (every command with --verbose) and asks before the run and before each destructive step. Unattended (no TTY, CI, --json) it needs --yes. If interrupted, run the same command again to resume.';
  static override examples = [
    '<%= config.bin %> upgrade --to 1.16.19',
    '<%= config.bin %> upgrade --to 1.17.2 --enable-ha --yes',
    '<%= config.bin %> upgrade --to 1.17.2 --yes --abandon   # give up an unfinished run to another version',
  ];
  static override flags = {
    ...clusterFlags,
    ...upgradeFlags,
    yes: Flags.boolean({
      char: 'y',
      description: 'answer every confirmation with yes (never overrides a failed safety check)',
      default: false,
    }),
    abandon: Flags.boolean({ description: 'give up an unfinished run to another target version', default: false }),
    'recover-pending': Flags.boolean({
      description: 'safety override: roll a release stuck in pending-* back to its last deployed revision, then continue',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Upgrade);
    this.jsonMode = flags.json;
    const options = upgradeOptions(flags);
    if (!this.interactive && !flags.yes) {
      throw new DaprupError(
        'An upgrade changes the cluster and nobody is here to confirm it.',
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
      });
    } else {
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
}
