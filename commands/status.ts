import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { certWarnDaysFlag } from '../src/cli/cert-flags.js';
import { reportStatus } from '../src/operations/status.js';
import { renderStatus } from '../src/ui/render.js';

export default class Status extends DaprupCommand {
  static override summary = 'Show the control plane, trust bundle, data plane skew and any unfinished run.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override flags = {
    ...clusterFlags,
    ...certWarnDaysFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const tools = this.tools(flags);
    const report = await reportStatus(tools, {
      release: flags.release,
      namespace: flags['dapr-namespace'],
      stateDir: this.stateDir(flags),
      warnDays: flags['cert-warn-days'],
    });
    if (flags.json) this.printJson(report);
    else this.print(renderStatus(report));
  }
}
