// Runs the built daprup CLI (dist/) as a user would, on the same Node that runs the tests.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function daprup(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
      env: { ...process.env, CI: 'true', ...opts.env },
      timeout: opts.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
