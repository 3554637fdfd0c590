import { clusterFlags } from '../src/cli/base-command.js';
import { UpgradeRunCommand } from '../src/cli/upgrade-command.js';
import { runFlags, upgradeFlags, upgradeOptions } from '../src/cli/upgrade-flags.js';

export default class Upgrade extends UpgradeRunCommand {
  static override summary = 'Upgrade Dapr: control plane, CRDs, trust bundle kept, every Dapr-enabled workload restarted.';
  static override description =
    'Runs the upgrade as resumable steps. At a terminal it shows the plan at a glance (every command with --verbose) and asks before the run and before each destructive step. Unattended (no TTY, CI, --json) it needs --yes. If interrupted, run the same command again to resume.';
  static override examples = [
    '<%= config.bin %> upgrade --to 1.16.19',
    '<%= config.bin %> upgrade --to 1.17.2 --enable-ha --yes',
    '<%= config.bin %> upgrade --to 1.17.2 --yes --abandon   # give up an unfinished run to another version',
  ];
  static override flags = { ...clusterFlags, ...upgradeFlags, ...runFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(Upgrade);
    this.jsonMode = flags.json;
    await this.runAndReport(flags, upgradeOptions(flags));
  }
}
