// The one place that starts external programs. Adapters (helm.ts, kubectl.ts) build argument arrays and
// call a CommandRunner; unit tests swap in a fake runner that records every call.
import { execa } from 'execa';
import { DaprupError, ExitCode } from '../errors.js';
import { redactArgs, redactText } from './redact.js';

export interface RunOptions {
  /** Written to the program's standard input (e.g. a manifest for `kubectl apply -f -`). */
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Non-zero exit codes that are answers, not failures (e.g. `kubectl diff` exits 1 when there is a diff). */
  okExitCodes?: readonly number[];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** A program exited non-zero. Its arguments and output are already redacted. */
export class CommandError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`${file} ${args.join(' ')} exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    this.name = 'CommandError';
  }
}

export class ExecaRunner implements CommandRunner {
  /** Every program started, for benchmarks and `--verbose`. */
  readonly started: string[] = [];

  constructor(private readonly onCommand?: (line: string) => void) {}

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const shown = `${file} ${redactArgs(args).join(' ')}`;
    this.started.push(shown);
    this.onCommand?.(shown);
    let result: Awaited<ReturnType<typeof execa>>;
    try {
      result = await execa(file, args, {
        input: options.input,
        timeout: options.timeoutMs,
        env: options.env,
        reject: false,
        stripFinalNewline: false,
        maxBuffer: 512 * 1024 * 1024,
      });
    } catch (error) {
      throw new DaprupError(
        `Could not start ${file}: ${(error as Error).message}.`,
        'Check the path given with --helm/--kubectl (or $DAPRUP_HELM/$DAPRUP_KUBECTL).',
      );
    }
    if (result.timedOut) {
      // No answer in time: the caller decides whether that is worth another try.
      throw new CommandError(file, redactArgs(args), 124, `Client.Timeout exceeded: no answer in ${options.timeoutMs} ms`);
    }
    if (result.failed && result.exitCode === undefined) {
      const why = result.timedOut ? 'timed out' : result.code === 'ENOENT' ? 'was not found' : String(result.shortMessage);
      const exitCode = result.code === 'ENOENT' ? ExitCode.refused : ExitCode.stepFailed;
      throw new DaprupError(
        `${file} ${why}.`,
        `Install it or point daprup at it with --${file.endsWith('helm') ? 'helm' : 'kubectl'}.`,
        exitCode,
      );
    }
    const exitCode = result.exitCode ?? 1;
    const out = { stdout: String(result.stdout), stderr: redactText(String(result.stderr)), exitCode };
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
      throw new CommandError(file, redactArgs(args), exitCode, out.stderr);
    }
    return out;
  }
}
