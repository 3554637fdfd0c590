import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { runOptions, upgradeFlags, upgradeOptions } from '../src/cli/upgrade-flags.js';
import { checkTools } from '../src/dapr/discovery.js';
import { resolveRollback, rollbackOptions } from '../src/operations/rollback.js';
import { DetailedExitCode, type DaprupError } from '../src/errors.js';
import { listUpgradeTargets, planUpgrade } from '../src/operations/plan.js';
import { renderPlan, renderTargets } from '../src/ui/render.js';

export default class Plan extends DaprupCommand {
  static override summary = 'Show everything an upgrade would do, without changing anything.';
  static override description =
    'Reads the cluster, checks the version policy, the trust bundle, the target chart, its CRDs and StatefulSets, and lists every step with its exact helm and kubectl commands (secrets redacted). A target more than one minor ahead is reached through the newest patch of every minor in between, each hop planned. Without --to, lists the versions worth upgrading to. Nothing in the cluster changes.';
  static override examples = [
    '<%= config.bin %> plan                # the targets worth having, and what each needs',
    '<%= config.bin %> plan --to 1.16.19',
    '<%= config.bin %> plan --to 1.18.3    # from 1.15: every hop through 1.16 and 1.17',
    '<%= config.bin %> plan --to 1.17.2 --enable-ha --json --out plan.json',
    '<%= config.bin %> plan --rollback     # what daprup rollback would do',
    '<%= config.bin %> plan --to 1.16.19 --detailed-exitcode   # exit 0: nothing to do, 2: changes pending, 1: error',
  ];
  static override flags = {
    ...clusterFlags,
    ...upgradeFlags,
    to: Flags.string({ description: 'target Dapr version; without it, the versions worth upgrading to are listed' }),
    rollback: Flags.boolean({
      description: 'preview daprup rollback: back to the previous deployed revision (or --to-revision)',
      default: false,
      exclusive: ['to'],
    }),
    'to-revision': Flags.integer({ description: 'with --rollback: the Helm revision to go back to', min: 1, dependsOn: ['rollback'] }),
    'all-versions': Flags.boolean({
      description: 'without --to: list release candidates and recalled releases too',
      default: false,
    }),
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
    const tools = this.tools(flags);
    if (!flags.to && !flags.rollback) {
      const list = await listUpgradeTargets(tools, {
        release: flags.release,
        namespace: flags['dapr-namespace'],
        chart: flags.chart,
        includePrerelease: flags['all-versions'] || flags['allow-prerelease'],
        includeRecalled: flags['all-versions'],
      });
      if (flags.out) await writeFileAtomic(flags.out, `${JSON.stringify(list, null, 2)}\n`);
      if (flags.json) this.printJson(list);
      else this.print(renderTargets(list));
      if (this.detailed && list.targets.length) process.exitCode = DetailedExitCode.changesPending;
      return;
    }
    if (flags.rollback) await checkTools(tools);
    const options = flags.rollback
      ? await rollbackOptions(
          tools,
          runOptions(flags),
          await resolveRollback(tools, { release: flags.release, namespace: flags['dapr-namespace'], toRevision: flags['to-revision'] }),
        )
      : upgradeOptions({ ...flags, to: flags.to! });
    const workDir = await mkdtemp(join(tmpdir(), 'daprup-plan-'));
    try {
      const plan = await planUpgrade(tools, options, workDir);
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
