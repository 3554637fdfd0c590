import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../../src/cli/base-command.js';
import { certWarnDaysFlag } from '../../src/cli/cert-flags.js';
import { checkCertificates } from '../../src/operations/certs.js';
import { ExitCode } from '../../src/errors.js';
import { renderBundle } from '../../src/ui/render.js';

export default class CertsCheck extends DaprupCommand {
  static override summary = 'Check the trust bundle: chain, key, expiry, Secret and ConfigMap roots.';
  static override description =
    'Reads the bundle from the cluster, or from ca.crt, issuer.crt and issuer.key in --dir. Exits 1 when a check fails; warnings (expiry within --cert-warn-days) exit 0.';
  static override examples = ['<%= config.bin %> certs check', '<%= config.bin %> certs check --dir ./dapr-certs --cert-warn-days 60'];
  static override flags = {
    ...clusterFlags,
    dir: Flags.string({ description: 'check files in this directory instead of the cluster' }),
    ...certWarnDaysFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CertsCheck);
    this.jsonMode = flags.json;
    const report = await checkCertificates(flags.dir ? undefined : this.tools(flags), {
      release: flags.release,
      namespace: flags['dapr-namespace'],
      dir: flags.dir,
      warnDays: flags['cert-warn-days'],
    });
    if (flags.json) this.printJson(report);
    else this.print(renderBundle(report));
    if (!report.ok) process.exitCode = ExitCode.stepFailed;
  }
}
