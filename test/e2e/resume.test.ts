// End to end, with helm 3 and with helm 4: daprup killed with SIGKILL during restart-data-plane resumes
// without restarting any workload twice; status reports sidecar skew before a restart and none after.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, HELM_FLAVOURS } from '../support/tools.js';
import { createDaprEnv, freshInstall, helm, NAMESPACE, revisionsPerWorkload, runDaprup, type DaprEnv } from './dapr-env.js';

const RESTARTED = ['apps-a/orders', 'apps-a/checkout', 'apps-b/inventory', 'apps-b/ledger', 'apps-c/node-agent'];

/** Starts `daprup upgrade` and SIGKILLs it as soon as its output shows the first restart. */
function upgradeKilledDuringRestart(e: DaprEnv, target: string): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve) => {
    const args = [
      join(REPO_ROOT, 'bin', 'run.js'),
      'upgrade',
      '--to',
      target,
      '--yes',
      '--concurrency',
      '1',
      '--helm',
      e.flavour.helm,
      '--kubectl',
      e.flavour.kubectl,
      '--kubeconfig',
      e.kubeconfig,
      '--state-dir',
      e.stateDir,
    ];
    const child = spawn(process.execPath, args, { env: { ...e.env, CI: 'true' } });
    let output = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!killed && /restarted (deployment|statefulset|daemonset)\//.test(output)) {
        killed = child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', () => resolve({ killed, output }));
  });
}

describe.each(HELM_FLAVOURS)('resume with $name', (flavour) => {
  let e: DaprEnv;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await freshInstall(e);
  });
  afterAll(async () => e?.repo.stop());

  it('SIGKILL during restart-data-plane, then the same command completes; no workload restarts twice', async () => {
    const before = await revisionsPerWorkload(e);
    const first = await upgradeKilledDuringRestart(e, '1.16.19');
    expect(first.killed, first.output).toBe(true);

    const status = await runDaprup(e, ['status', '--json']);
    expect(JSON.parse(status.stdout).unfinishedRun).toMatchObject({ target: '1.16.19', step: 'restart-data-plane' });

    const second = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
    // The killed run's Lease names a process that died on this machine: taken over at once, and said so.
    expect(second.stderr).toMatch(/^Took over the lease of run \S+ \(.+\/\d+\), last renewed \d+s ago\.\n$/);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('resumed');
    expect(second.stdout).toMatch(/skipped: done earlier in this run/);

    const after = await revisionsPerWorkload(e);
    for (const w of RESTARTED) expect(after[w], w).toBe(before[w]! + 1);
    expect(after['apps-c/plain-web']).toBe(before['apps-c/plain-web']);
  });

  it('status --json reports sidecar skew after a control-plane-only upgrade, and none after daprup restart', async () => {
    await helm(e, [
      'upgrade',
      'dapr',
      'dapr/dapr',
      '--version',
      '1.17.2',
      '-n',
      NAMESPACE,
      '--reset-then-reuse-values',
      '--wait',
      '--kubeconfig',
      e.kubeconfig,
    ]);
    const skewed = JSON.parse((await runDaprup(e, ['status', '--json'])).stdout);
    expect(skewed.release.version).toBe('1.17.2');
    expect(skewed.skewedWorkloads).toBe(RESTARTED.length);
    expect(skewed.dataPlane.find((w: { name: string }) => w.name === 'orders').skew).toBe('1 minor behind');
    expect(skewed.dataPlane.find((w: { name: string }) => w.name === 'payments-legacy').skew).toBe('pinned');

    const restart = await runDaprup(e, ['restart', '--yes', '--concurrency', '3']);
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout).toContain(`${RESTARTED.length} workloads restarted`);
    const clean = JSON.parse((await runDaprup(e, ['status', '--json'])).stdout);
    expect(clean.skewedWorkloads).toBe(0);
    expect(clean.dataPlane.find((w: { name: string }) => w.name === 'orders').sidecarVersions).toEqual(['1.17.2']);
  });
});
