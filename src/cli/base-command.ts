// What every daprup command shares: the cluster flags, the helm and kubectl adapters, deciding whether a
// person is there to answer (no TTY, CI=true or --json means unattended), and turning errors into one
// sentence, a hint and a documented exit code.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Flags, type Interfaces } from '@oclif/core';
import { Helm } from '../cluster/helm.js';
import { Kubectl } from '../cluster/kubectl.js';
import { ExecaRunner } from '../cluster/runner.js';
import { redactText } from '../cluster/redact.js';
import type { Tools } from '../cluster/tools.js';
import { DaprupError, ExitCode, usageError } from '../errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** oclif lists parse errors under a header line ("The following errors occurred:"): keep the first real one. */
function firstSentence(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[0]?.endsWith(':') ? lines[1] : lines[0]) ?? message;
}

function defaultStateDir(): string {
  return process.env.DAPRUP_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'daprup');
}

export const clusterFlags = {
  'kube-context': Flags.string({ description: 'kubeconfig context to use', helpGroup: 'CLUSTER' }),
  kubeconfig: Flags.string({ description: 'path to the kubeconfig file', helpGroup: 'CLUSTER' }),
  'dapr-namespace': Flags.string({ description: 'namespace of the Dapr release (auto-detected)', helpGroup: 'CLUSTER' }),
  release: Flags.string({ description: 'name of the Dapr Helm release (auto-detected)', helpGroup: 'CLUSTER' }),
  helm: Flags.string({ description: 'helm binary', env: 'DAPRUP_HELM', default: 'helm', helpGroup: 'TOOLS' }),
  kubectl: Flags.string({ description: 'kubectl binary', env: 'DAPRUP_KUBECTL', default: 'kubectl', helpGroup: 'TOOLS' }),
  'state-dir': Flags.string({ description: 'where run journals, backups and exported certificates live', helpGroup: 'TOOLS' }),
  json: Flags.boolean({ description: 'print machine-readable JSON (implies unattended)', default: false }),
  verbose: Flags.boolean({
    description: 'print every helm and kubectl command as it runs (and, with upgrade, the full plan before the confirmation)',
    default: false,
  }),
};

export type ClusterFlags = Interfaces.InferredFlags<typeof clusterFlags>;

export abstract class DaprupCommand extends Command {
  protected jsonMode = false;
  protected runner?: ExecaRunner;

  /** A person can answer prompts: a TTY on both ends, not CI, not --json. */
  protected get interactive(): boolean {
    const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';
    return !!process.stdin.isTTY && !!process.stdout.isTTY && !ci && !this.jsonMode;
  }

  protected tools(flags: ClusterFlags): Tools {
    this.jsonMode = flags.json;
    for (const [name, value] of [
      ['--dapr-namespace', flags['dapr-namespace']],
      ['--release', flags.release],
    ] as const) {
      if (value !== undefined && (!DNS_LABEL.test(value) || value.length > 63)) {
        throw usageError(
          `${name} "${value}" is not a valid Kubernetes name.`,
          'Names are lower-case letters, digits and "-", at most 63 characters.',
        );
      }
    }
    this.runner = new ExecaRunner(flags.verbose ? (line) => process.stderr.write(`$ ${line}\n`) : undefined);
    const target = { kubeconfig: flags.kubeconfig, kubeContext: flags['kube-context'] };
    return { helm: new Helm(this.runner, flags.helm, target), kubectl: new Kubectl(this.runner, flags.kubectl, target) };
  }

  protected stateDir(flags: ClusterFlags): string {
    return flags['state-dir'] ?? defaultStateDir();
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  protected print(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    let error: DaprupError;
    if (err instanceof DaprupError) error = err;
    else if (err.oclif?.exit === 0)
      return; // --help / --version
    else if (err.name === 'ExitPromptError')
      error = new DaprupError('Cancelled at the prompt.', 'Run the same command again to resume.', ExitCode.interrupted);
    else if (err.oclif) error = usageError(firstSentence(err.message), `See daprup ${this.id?.replace(':', ' ') ?? ''} --help.`);
    else
      error = new DaprupError(
        `Unexpected error: ${err.message}`,
        'Rerun with --verbose; if it persists, report it with that output.',
        ExitCode.stepFailed,
      );
    const code = this.mapExitCode(error);
    if (this.jsonMode) this.printJson({ error: { message: redactText(error.message), hint: error.hint, exitCode: code } });
    process.stderr.write(`Error: ${redactText(error.message)}\nHint: ${error.hint}\n`);
    process.exitCode = code;
  }

  /** plan --detailed-exitcode maps every error to 1. */
  protected mapExitCode(error: DaprupError): number {
    return error.exitCode;
  }
}
