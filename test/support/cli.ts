// Runs daprup as a user would: the built CLI (bin/run.js over dist/) on the same Node that runs the tests, or, with
// DAPRUP_BIN set (e.g. DAPRUP_BIN=release/daprup-linux-x64, from `npm run package`), that standalone executable.
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { REPO_ROOT } from './tools.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The executable under test, when DAPRUP_BIN names one (relative to the repository root). */
export const DAPRUP_BIN = process.env.DAPRUP_BIN
  ? isAbsolute(process.env.DAPRUP_BIN)
    ? process.env.DAPRUP_BIN
    : join(REPO_ROOT, process.env.DAPRUP_BIN)
  : undefined;

/** The program and leading arguments that start daprup. */
export const DAPRUP_COMMAND: readonly string[] = DAPRUP_BIN ? [DAPRUP_BIN] : [process.execPath, join(REPO_ROOT, 'bin', 'run.js')];

export function daprup(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return runProgram(DAPRUP_COMMAND, args, { env: { ...process.env, CI: 'true', ...opts.env }, timeoutMs: opts.timeoutMs });
}

/** Runs `command` (program and leading arguments) with more arguments; never rejects: the exit code is the answer. */
export function runProgram(
  command: readonly string[],
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const [file, ...lead] = command as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(
      file,
      [...lead, ...args],
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
