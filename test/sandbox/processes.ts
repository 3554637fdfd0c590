// Child processes of the sandbox: started with their output in logs/<name>.log, stopped by pid only (never by
// name), and killed on process exit or SIGINT/SIGTERM so a failing test run never leaks a control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Component {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Rejects when the process exits; used to fail readiness waits fast. */
  exited: Promise<never>;
}

const running = new Set<Component>();
let handlersInstalled = false;

export function isRunning(c: Component): boolean {
  return c.child.exitCode === null && c.child.signalCode === null;
}

export function startComponent(workDir: string, name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Component {
  installExitHandlers();
  const logFile = join(workDir, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  // detached: its own process group, so a terminal Ctrl-C reaches only us and we stop the components in order.
  const child = spawn(bin, args, { cwd: workDir, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${bin})`);
  child.unref();
  writeFileSync(join(workDir, 'pids', name), `${child.pid}\n`);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      running.delete(component);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}); last log lines:\n${tail(logFile)}`));
    });
    child.once('error', (err) => reject(new Error(`${name}: ${err.message}`)));
  });
  exited.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  const component: Component = { name, pid: child.pid, logFile, child, exited };
  running.add(component);
  return component;
}

/** SIGTERM, then SIGKILL after graceMs. Resolves once the process is gone. */
export async function stopComponent(c: Component, graceMs = 5_000): Promise<void> {
  if (!isRunning(c)) return;
  const gone = new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(c)) c.child.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
  running.delete(c);
}

/** Peak resident memory (VmHWM) of a running process in MiB, or undefined when /proc is unavailable. */
export function peakRssMiB(c: Component): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const exitCallbacks = new Set<() => void>();

/** A synchronous callback run when the process exits without stop() (e.g. remove the etcd data dir on tmpfs). */
export function onHardExit(cb: () => void): () => void {
  exitCallbacks.add(cb);
  return () => exitCallbacks.delete(cb);
}

function killAllNow(): void {
  for (const c of running) {
    if (isRunning(c)) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  running.clear();
  for (const cb of exitCallbacks) {
    try {
      cb();
    } catch {
      // best effort during exit
    }
  }
  exitCallbacks.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      // Someone else listens too (vitest, cli.ts): they shut down and exit, and 'exit' above kills what is left.
      if (process.listenerCount(signal) > 1) return;
      killAllNow();
      process.off(signal, handler);
      process.kill(process.pid, signal); // the default action: exit 128+n
    };
    process.on(signal, handler);
  }
}
