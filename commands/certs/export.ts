import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../../src/cli/base-command.js';
import { exportCertificates } from '../../src/operations/certs.js';
import { renderBundle } from '../../src/ui/render.js';

export default class CertsExport extends DaprupCommand {
  static override summary = 'Export the trust bundle (ca.crt, issuer.crt, issuer.key) to a private directory.';
  static override description =
    'Writes the three PEM files with mode 0600 in a 0700 directory, as `dapr mtls export` does. The root private key is not part of the bundle: Dapr keeps only the issuer key in the cluster.';
  static override examples = ['<%= config.bin %> certs export --out ./dapr-certs'];
  static override flags = {
    ...clusterFlags,
    out: Flags.string({ description: 'directory to write the files to', required: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CertsExport);
    const tools = this.tools(flags);
    const result = await exportCertificates(tools, { release: flags.release, namespace: flags['dapr-namespace'], out: flags.out });
    if (flags.json) return this.printJson(result);
    this.print(`Wrote ${result.files.join(', ')} (mode 0600, directory 0700).`);
    this.print(
      'The root private key is not part of the trust bundle, so it is not exported: keep your own copy if you created the root yourself.',
    );
    this.print(renderBundle(result.report));
  }
}
