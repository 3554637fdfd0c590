import { Flags } from '@oclif/core';
import { checkCluster } from '../src/operations/check.js';
import { clusterFlags, DaprupCommand } from '../src/cli/base-command.js';
import { certWarnDaysFlag } from '../src/cli/cert-flags.js';
import { DEFAULT_CHART } from '../src/dapr/chart.js';
import { ExitCode } from '../src/errors.js';
import { renderCheckReport } from '../src/ui/check-render.js';

export default class Check extends DaprupCommand {
  static override summary = "Audit the cluster against Dapr's production guidelines.";
  static override description =
    'Read-only. Control plane (HA, disruption budgets, spread, resources, priority, watchdog, scheduler storage), sidecars (resources, GOMEMLIMIT, seccomp, tokens), security (mTLS, trust bundle, plaintext secrets in Components), observability and versions. Each finding comes with why it matters and the exact Helm value or annotation that fixes it. Exits 1 when a check fails; warnings exit 0 unless --strict.';
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --strict --cert-warn-days 60   # warnings fail too (CI gate)',
    '<%= config.bin %> check --json | jq \'.checks[] | select(.severity != "ok")\'',
  ];
  static override flags = {
    ...clusterFlags,
    strict: Flags.boolean({ description: 'exit 1 on warnings as well as failures', default: false }),
    ...certWarnDaysFlag,
    chart: Flags.string({
      description: 'chart whose repository index tells the supported minors (read locally, no network)',
      default: DEFAULT_CHART,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Check);
    const tools = this.tools(flags);
    const report = await checkCluster(tools, {
      release: flags.release,
      namespace: flags['dapr-namespace'],
      chart: flags.chart,
      certWarnDays: flags['cert-warn-days'],
      strict: flags.strict,
    });
    if (flags.json) this.printJson(report);
    else this.print(renderCheckReport(report));
    if (report.failed) process.exitCode = ExitCode.stepFailed;
  }
}
