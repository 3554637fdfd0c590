import { Flags } from '@oclif/core';
import { clusterFlags, DaprupCommand } from '../../src/cli/base-command.js';
import { validateConcurrency, validateDuration } from '../../src/cli/upgrade-flags.js';
import { DEFAULT_CHART } from '../../src/dapr/chart.js';
import { DaprupError, ExitCode, usageError } from '../../src/errors.js';
import { rotateTrustBundle } from '../../src/operations/rotate.js';
import { TerminalPrompter, unattendedPrompter, yesPrompter } from '../../src/ui/prompter.js';
import { progressHooks } from '../../src/ui/progress.js';
import { renderRotationPlan } from '../../src/ui/render.js';

export default class CertsRotate extends DaprupCommand {
  static override summary = 'Rotate the trust bundle with zero downtime: a new issuer, or a new root in three phases.';
  static override description = [
    'With --root-key: a new issuer signed by the running root; only Sentry restarts.',
    'Without: a new root and issuer made as Sentry makes them (Ed25519 from Dapr 1.18, ECDSA P-256 before), rolled in with an overlap: 1. trust both roots, recreate every Dapr pod; 2. sign with the new issuer, restart Sentry, the control plane, then the workloads; 3. drop the old root, recreate every Dapr pod.',
    'With --root-cert, --issuer-cert and --issuer-key: your own bundle, checked before anything changes (the same root renews the issuer; another root is rolled in as above).',
    'Resumable like an upgrade: run it again (no certificate flags) to resume, from any machine.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> certs rotate --dry-run',
    '<%= config.bin %> certs rotate --root-key ./ca.key --yes',
    '<%= config.bin %> certs rotate --yes',
    '<%= config.bin %> certs rotate --root-cert ca.crt --issuer-cert issuer.crt --issuer-key issuer.key',
  ];
  static override flags = {
    ...clusterFlags,
    chart: Flags.string({ description: 'chart the release was installed from (its installed version is kept)', default: DEFAULT_CHART }),
    'root-key': Flags.string({
      description: 'private key of the running root: renew the issuer only',
      exclusive: ['root-cert', 'issuer-cert', 'issuer-key'],
    }),
    'root-cert': Flags.string({ description: 'your new root certificate (PEM)', dependsOn: ['issuer-cert', 'issuer-key'] }),
    'issuer-cert': Flags.string({
      description: 'your new issuer certificate (PEM), signed by --root-cert',
      dependsOn: ['root-cert', 'issuer-key'],
    }),
    'issuer-key': Flags.string({ description: 'the private key of --issuer-cert (PEM)', dependsOn: ['root-cert', 'issuer-cert'] }),
    timeout: Flags.string({ description: 'how long each wait may take (helm/kubectl duration)', default: '10m' }),
    concurrency: Flags.integer({ description: 'workloads restarted at once', default: 4 }),
    'dry-run': Flags.boolean({ description: 'show the phases and their commands; change nothing', default: false }),
    yes: Flags.boolean({ char: 'y', description: 'answer every confirmation with yes', default: false }),
    abandon: Flags.boolean({ description: 'give up an unfinished run (its pending certificates are deleted)', default: false }),
    'recover-pending': Flags.boolean({
      description: 'safety override: roll a release stuck in pending-* back to its last deployed revision, then continue',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CertsRotate);
    this.jsonMode = flags.json;
    const timeout = validateDuration(flags.timeout);
    const concurrency = validateConcurrency(flags.concurrency);
    if (flags['root-cert'] && !(flags['issuer-cert'] && flags['issuer-key']))
      throw usageError('--root-cert needs --issuer-cert and --issuer-key.', 'Give all three files of your bundle.');
    if (!flags['dry-run'] && !this.interactive && !flags.yes) {
      throw new DaprupError(
        'A rotation changes the cluster and nobody is here to confirm it.',
        'Pass --yes to confirm in advance (CI), run at a terminal, or preview with --dry-run.',
        ExitCode.confirmationNeeded,
      );
    }
    const tools = this.tools(flags);
    const prompter = flags.yes ? yesPrompter : this.interactive ? new TerminalPrompter() : unattendedPrompter;
    const write = (line: string) => process.stderr.write(`${line}\n`);
    process.once('SIGINT', () => {
      write('Interrupted. Run daprup certs rotate again to resume where it stopped.');
      process.exit(ExitCode.interrupted);
    });
    const result = await rotateTrustBundle(tools, {
      options: {
        release: flags.release,
        namespace: flags['dapr-namespace'],
        chart: flags.chart,
        timeout,
        concurrency,
        rootKeyFile: flags['root-key'],
        own: flags['root-cert']
          ? { rootCert: flags['root-cert'], issuerCert: flags['issuer-cert']!, issuerKey: flags['issuer-key']! }
          : undefined,
      },
      stateDir: this.stateDir(flags),
      abandon: flags.abandon,
      dryRun: flags['dry-run'],
      prompter,
      hooks: progressHooks({ interactive: this.interactive, silent: flags.json, prompter, write: (line) => this.print(line) }),
      showPlan: (plan) => {
        if (!flags.json && !flags.yes) this.print(renderRotationPlan(plan));
      },
      log: write,
      recoverPending: async (message) => flags['recover-pending'] || (this.interactive && !flags.yes && prompter.confirm(message)),
    });
    if (flags.json) return this.printJson({ ...result.plan, runId: result.runId, resumed: result.resumed, dryRun: flags['dry-run'] });
    if (flags['dry-run']) return this.print(renderRotationPlan(result.plan));
    const keep = result.plan.newRootKeyFile
      ? ` Keep the new root's private key (${result.plan.newRootKeyFile}, 0600) somewhere safe: renewing the issuer later needs it.`
      : '';
    this.print(
      `Trust bundle rotated (${result.plan.mode}, run ${result.runId}${result.resumed ? ', resumed' : ''}): every Dapr pod restarted after each phase.${keep}`,
    );
  }
}
