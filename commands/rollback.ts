import { Flags } from '@oclif/core';
import { clusterFlags } from '../src/cli/base-command.js';
import { UpgradeRunCommand } from '../src/cli/upgrade-command.js';
import { rollbackFlags, runFlags, runOptions } from '../src/cli/upgrade-flags.js';
import { checkTools } from '../src/dapr/discovery.js';
import { resolveRollback, rollbackOptions } from '../src/operations/rollback.js';

export default class Rollback extends UpgradeRunCommand {
  static override summary = 'Roll Dapr back to the previous deployed revision, the way back planned like an upgrade.';
  static override description =
    'Goes back to the previous deployed Helm revision (or --to-revision N): its chart and values, with the trust bundle kept, CRDs never downgraded, StatefulSets recreated where immutable fields differ (the scheduler when going below 1.15), every Dapr-enabled workload restarted and everything verified. Refused where Dapr forbids the way back (from 1.18 below 1.17.7; below 1.13 from 1.13 or newer). Preview it with daprup plan --rollback. Resumable like an upgrade.';
  static override examples = [
    '<%= config.bin %> plan --rollback',
    '<%= config.bin %> rollback',
    '<%= config.bin %> rollback --to-revision 4 --yes',
  ];
  static override flags = {
    ...clusterFlags,
    ...rollbackFlags,
    ...runFlags,
    'to-revision': Flags.integer({ description: 'the Helm revision to go back to (default: the previous deployed one)', min: 1 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Rollback);
    this.jsonMode = flags.json;
    const tools = this.tools(flags);
    await checkTools(tools);
    const target = await resolveRollback(tools, {
      release: flags.release,
      namespace: flags['dapr-namespace'],
      toRevision: flags['to-revision'],
      stateDir: this.stateDir(flags),
    });
    await this.runAndReport(flags, await rollbackOptions(tools, runOptions(flags), target));
  }
}
