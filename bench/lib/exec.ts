// Running measured programs: wall time, peak memory, and how many helm and kubectl processes they started.
// helm and kubectl are replaced by counting shims (a two-line sh script that appends one line to a log and
// execs the real binary), passed to daprup with --helm/--kubectl and to scripts as $KUBECTL.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DAPRUP = join(REPO, 'bin', 'run.js');
const MAXRSS = join(REPO, 'bench', 'lib', 'maxrss.mjs');
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

export interface Shims {
  dir: string;
  helm: string;
  kubectl: string;
  /** Starts a fresh count; returns the log file the shims append to (pass it as $DAPRUP_BENCH_CALLS). */
  log: string;
  /** Lines logged so far, e.g. ["kubectl get pods ...", "helm version --short"]. */
  calls(): Promise<string[]>;
  reset(): Promise<void>;
  remove(): Promise<void>;
}

export async function countingShims(real: { helm: string; kubectl: string }): Promise<Shims> {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-bench-shims-'));
  const log = join(dir, 'calls.log');
  for (const [name, bin] of Object.entries(real)) {
    // One line per process, cut below PIPE_BUF: such appends are atomic, so concurrent calls never interleave.
    await writeFile(
      join(dir, name),
      `#!/bin/sh\nprintf '%.3000s\\n' "${name} $*" >> "\${DAPRUP_BENCH_CALLS:-${log}}"\nexec ${JSON.stringify(bin)} "$@"\n`,
    );
    await chmod(join(dir, name), 0o755);
  }
  const calls = async () => (existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : []);
  return {
    dir,
    log,
    calls,
    helm: join(dir, 'helm'),
    kubectl: join(dir, 'kubectl'),
    reset: () => rm(log, { force: true }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak RSS of the measured Node process itself (KiB), when it is Node. */
  nodeRssKiB?: number;
  /** Peak RSS of the largest process in the tree (KiB), from GNU time when installed. */
  treeRssKiB?: number;
  helm: number;
  kubectl: number;
  calls: string[];
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  shims?: Shims;
  input?: string;
  cwd?: string;
  /** Node only: preload the peak-RSS reporter (default true; startup timings leave it out). */
  rss?: boolean;
}

/** Runs `file args` and measures it. For Node programs pass file = process.execPath; the RSS preload is added. */
export async function measure(file: string, args: readonly string[], o: MeasureOptions = {}): Promise<Measured> {
  const work = await mkdtemp(join(tmpdir(), 'daprup-bench-run-'));
  const rssFile = join(work, 'rss');
  const timeFile = join(work, 'time');
  const isNode = file === process.execPath && o.rss !== false;
  const argv = [...(isNode ? ['--import', MAXRSS] : []), ...args];
  const [cmd, cmdArgs] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', timeFile, file, ...argv]] : [file, argv];
  await o.shims?.reset();
  const env = { ...process.env, ...o.env, DAPRUP_BENCH_RSS_FILE: rssFile, ...(o.shims ? { DAPRUP_BENCH_CALLS: o.shims.log } : {}) };
  const t0 = performance.now();
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(o.input ?? '');
  });
  const wallMs = performance.now() - t0;
  const readKiB = async (f: string) => (existsSync(f) ? Number((await readFile(f, 'utf8')).trim().split('\n').at(-1)) : undefined);
  const calls = o.shims ? await o.shims.calls() : [];
  const m: Measured = {
    ...result,
    wallMs,
    nodeRssKiB: isNode ? await readKiB(rssFile) : undefined,
    treeRssKiB: GNU_TIME ? await readKiB(timeFile) : undefined,
    helm: calls.filter((c) => c.startsWith('helm ')).length,
    kubectl: calls.filter((c) => c.startsWith('kubectl ')).length,
    calls,
  };
  await rm(work, { recursive: true, force: true });
  return m;
}

/** `daprup ARGS` on this Node, unattended (CI=true), with the shims as its helm and kubectl. */
export function measureDaprup(
  args: readonly string[],
  o: MeasureOptions & { kubeconfig?: string; stateDir?: string } = {},
): Promise<Measured> {
  const tools = o.shims ? ['--helm', o.shims.helm, '--kubectl', o.shims.kubectl] : [];
  const kube = o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : [];
  const state = o.stateDir ? ['--state-dir', o.stateDir] : [];
  return measure(process.execPath, [DAPRUP, ...args, ...tools, ...kube, ...state], { ...o, env: { CI: 'true', ...o.env } });
}

export function check(m: Measured, what: string): Measured {
  if (m.code !== 0) throw new Error(`${what} exited with ${m.code}:\n${m.stderr.slice(-2000)}\n${m.stdout.slice(-1000)}`);
  return m;
}
