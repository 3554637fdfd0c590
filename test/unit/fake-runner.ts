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
    const answer = rule ? rule.respond(args) : this.rawList(file, args);
    if (answer === undefined) throw new Error(`unexpected call: ${file} ${args.join(' ')}`);
    if (answer instanceof Error) throw answer;
    const result =
      typeof answer === 'string' ? { stdout: answer, stderr: '', exitCode: 0 } : { stdout: '', stderr: '', exitCode: 0, ...answer };
    if (result.exitCode !== 0 && !(options.okExitCodes ?? []).includes(result.exitCode))
      throw new CommandError(file, args, result.exitCode, result.stderr);
    return result;
  }

  /**
   * `kubectl get --raw /api/v1/pods` (Kubectl.listRaw) answered by the rule for `get pods` (or a list of kinds
   * including it, e.g. `get deployments,statefulsets,daemonsets`): the items of that kind, without kind and
   * apiVersion, as the API server sends them.
   */
  private rawList(file: string, args: readonly string[]): ReturnType<Responder> | undefined {
    const at = args.indexOf('--raw');
    const m =
      at > 0 && args[at - 1] === 'get'
        ? /^\/apis?\/(?:apps\/|argoproj\.io\/v1alpha1)?(?:v1)?(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\?labelSelector=(.*))?$/.exec(
            args[at + 1] ?? '',
          )
        : null;
    if (!m) return undefined;
    const [, namespace, resource, selector] = m;
    const rule = [...this.rules]
      .reverse()
      .find((r) => r.file === file && r.prefix[0] === 'get' && (r.prefix[1] ?? '').split(',').includes(resource!));
    // A cluster without Argo Rollouts' CRD answers its path as the API server does.
    if (!rule && resource === 'rollouts')
      return { exitCode: 1, stderr: 'Error from server (NotFound): the server could not find the requested resource' };
    if (!rule) return undefined;
    const getArgs = [
      'get',
      rule.prefix[1]!,
      '-o',
      'json',
      ...(namespace ? ['--namespace', namespace] : ['--all-namespaces']),
      ...(selector ? ['--selector', decodeURIComponent(selector)] : []),
    ];
    const answer = rule.respond(getArgs);
    if (typeof answer !== 'string') return answer;
    const kind = resource!.charAt(0).toUpperCase() + resource!.slice(1, -1);
    const list = JSON.parse(answer) as { items?: { kind?: string }[] };
    const items = (list.items ?? [])
      .filter((i) => !i.kind || i.kind.toLowerCase() === kind.toLowerCase())
      .map(({ kind: _k, apiVersion: _a, ...rest }: { kind?: string; apiVersion?: string }) => rest);
    return JSON.stringify({ kind: `${kind}List`, apiVersion: 'v1', items });
  }

  commandLines(): string[] {
    return this.calls.map((c) => `${c.file} ${c.args.join(' ')}`);
  }
}
