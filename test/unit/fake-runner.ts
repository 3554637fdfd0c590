// A CommandRunner that answers from a script and records every call, for unit tests of adapters and steps.
import { CommandError, type CommandResult, type CommandRunner, type RunOptions } from '../../src/cluster/runner.js';

export type Responder = (args: readonly string[]) => Partial<CommandResult> | string | Error;

export class FakeRunner implements CommandRunner {
  readonly calls: { file: string; args: string[]; input?: string }[] = [];
  private readonly rules: { file: string; prefix: string[]; respond: Responder }[] = [];

  /** Answers calls of `file` whose arguments start with `prefix` (global flags excluded by the caller). */
  on(file: string, prefix: string[], respond: Responder | Partial<CommandResult> | string): this {
    this.rules.push({ file, prefix, respond: typeof respond === 'function' ? respond : () => respond });
    return this;
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ file, args: [...args], input: options.input });
    const rule = [...this.rules].reverse().find((r) => r.file === file && r.prefix.every((p, i) => args[i] === p));
    if (!rule) throw new Error(`unexpected call: ${file} ${args.join(' ')}`);
    const answer = rule.respond(args);
    if (answer instanceof Error) throw answer;
    const result = typeof answer === 'string' ? { stdout: answer, stderr: '', exitCode: 0 } : { stdout: '', stderr: '', exitCode: 0, ...answer };
    if (result.exitCode !== 0 && !(options.okExitCodes ?? []).includes(result.exitCode)) throw new CommandError(file, args, result.exitCode, result.stderr);
    return result;
  }

  commandLines(): string[] {
    return this.calls.map((c) => `${c.file} ${c.args.join(' ')}`);
  }
}
