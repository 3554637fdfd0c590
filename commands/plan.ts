import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { upgradeFlags, upgradeOptions } from '../src/cli/upgrade-flags.js';
import { DetailedExitCode, type DaprupError } from '../src/errors.js';
import { buildPlan } from '../src/runbook/plan.js';
import { prepareRun } from '../src/runbook/prepare.js';
import { renderPlan } from '../src/ui/render.js';

export default class Plan extends DaprupCommand {
  static override summary = 'Show everything an upgrade would do, without changing anything.';
  static override description =
    'Reads the cluster, checks the version policy, the trust bundle, the target chart, its CRDs and StatefulSets, and lists every step with its exact helm and kubectl commands (secrets redacted). Nothing in the cluster changes.';
  static override examples = [
    '<%= config.bin %> plan --to 1.16.19',
    '<%= config.bin %> plan --to 1.17.2 --enable-ha --json --out plan.json',
    '<%= config.bin %> plan --to 1.16.19 --detailed-exitcode   # exit 0: nothing to do, 2: changes pending, 1: error',
  ];
  static override flags = {
    ...clusterFlags,
    ...upgradeFlags,
    out: Flags.string({ description: 'also save the plan as JSON to this file' }),
    'detailed-exitcode': Flags.boolean({
      description: 'exit 0 when nothing to do, 2 when changes are pending, 1 on any error',
      default: false,
    }),
  };

  private detailed = false;

  async run(): Promise<void> {
    const { flags } = await this.parse(Plan);
    this.detailed = flags['detailed-exitcode'];
    this.jsonMode = flags.json;
    const options = upgradeOptions(flags);
    const tools = this.tools(flags);
    const workDir = await mkdtemp(join(tmpdir(), 'daprup-plan-'));
    try {
      const ctx = await prepareRun(tools, options, { workDir, log: () => undefined });
      const plan = await buildPlan(ctx);
      if (flags.out) await writeFileAtomic(flags.out, `${JSON.stringify(plan, null, 2)}\n`);
      if (flags.json) this.printJson(plan);
      else this.print(renderPlan(plan));
      if (this.detailed && plan.changesPending) process.exitCode = DetailedExitCode.changesPending;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  protected override mapExitCode(error: DaprupError): number {
    return this.detailed ? DetailedExitCode.error : error.exitCode;
  }
}
