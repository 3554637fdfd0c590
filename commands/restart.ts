import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { reachFlags, validateConcurrency, validateDuration } from '../src/cli/upgrade-flags.js';
import { DaprupError, ExitCode } from '../src/errors.js';
import { restartSidecars } from '../src/operations/restart.js';
import { TerminalPrompter, yesPrompter } from '../src/ui/prompter.js';
import { table } from '../src/ui/render.js';

export default class Restart extends DaprupCommand {
  static override summary = 'Rolling-restart Dapr-enabled workloads whose sidecar differs from the control plane.';
  static override examples = [
    '<%= config.bin %> restart',
    '<%= config.bin %> restart -n shop --concurrency 8 --yes',
    '<%= config.bin %> restart --all -l team=payments',
  ];
  static override flags = {
    ...clusterFlags,
    namespace: Flags.string({ char: 'n', description: 'only workloads in this namespace' }),
    selector: Flags.string({ char: 'l', description: 'only workloads matching this label selector' }),
    all: Flags.boolean({ description: 'restart every Dapr-enabled workload, not only those behind', default: false }),
    concurrency: Flags.integer({ description: 'workloads restarted at once', default: 4 }),
    timeout: Flags.string({ description: 'how long each rollout may take', default: '10m' }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation', default: false }),
    ...reachFlags,
    strict: Flags.boolean({ description: 'exit 1 when any daprd is out of reach', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Restart);
    this.jsonMode = flags.json;
    const concurrency = validateConcurrency(flags.concurrency);
    const timeout = validateDuration(flags.timeout);
    if (!this.interactive && !flags.yes) {
      throw new DaprupError(
        'Restarting workloads needs a confirmation and nobody is here to give it.',
        'Pass --yes, or run at a terminal.',
        ExitCode.confirmationNeeded,
      );
    }
    const tools = this.tools(flags);
    const report = await restartSidecars(tools, {
      release: flags.release,
      daprNamespace: flags['dapr-namespace'],
      namespace: flags.namespace,
      selector: flags.selector,
      all: flags.all,
      recreatePods: flags['recreate-pods'],
      recreateBarePods: flags['recreate-bare-pods'],
      concurrency,
      timeout,
      prompter: flags.yes ? yesPrompter : new TerminalPrompter(),
      report: (line) => {
        if (!flags.json) process.stderr.write(`${line}\n`);
      },
    });
    if (flags.json) this.printJson(report);
    else {
      for (const w of report.notes) this.print(`note: ${w.key} ${w.note}`);
      for (const w of report.unreached) this.print(`not reached: ${w.key} ${w.note}`);
      const out = report.unreached.length ? `; ${report.unreached.length} daprd out of reach (above)` : '';
      if (!report.selected.length) this.print(`Nothing to restart: every daprd daprup reaches runs ${report.controlPlaneVersion}${out}.`);
      else {
        this.print(
          table(
            ['kind', 'namespace', 'name', 'sidecar before'],
            report.selected.map((w) => [w.kind, w.namespace, w.name, w.sidecarVersions.join(', ')]),
          ),
        );
        this.print(`${report.outcome?.restarted.length ?? 0} workloads restarted and rolled out${out}.`);
      }
    }
    if (flags.strict && report.unreached.length) {
      throw new DaprupError(
        `${report.unreached.length} daprd out of reach still run another version than ${report.controlPlaneVersion}.`,
        'Act on each as its note says, or drop --strict to accept them.',
        ExitCode.stepFailed,
      );
    }
  }
}
