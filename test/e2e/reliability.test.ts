// Faults injected into real runs against the sandbox control plane: daprup killed at every step boundary,
// a resume on a machine without the local journal, a second run while one holds the Lease, a stale Lease,
// and helm killed mid-upgrade leaving the release pending-upgrade. Each ends where an uninterrupted run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELM_FLAVOURS, REPO_ROOT, runTool } from '../support/tools.js';
import {
  createDaprEnv,
  CUSTOM_VALUE,
  findKeyLeaks,
  freshInstall,
  helm,
  helmHistory,
  kubectlJson,
  NAMESPACE,
  pods,
  revisionsPerWorkload,
  runDaprup,
  snapshotCluster,
  trustBundleData,
  type DaprEnv,
} from './dapr-env.js';

const DAPR_WORKLOADS = ['apps-a/orders', 'apps-a/checkout', 'apps-b/inventory', 'apps-b/ledger', 'apps-c/node-agent'];
// Each step as it starts (listr prints "❯ <title>"). preflight and check-chart finish before the journal is
// written (nothing to interrupt there); apply-crds and recreate-statefulsets only run in a minor upgrade that
// enables HA, which a patch upgrade skips.
const PATCH = ['--to', '1.16.19'];
const MINOR_HA = ['--to', '1.17.2', '--enable-ha'];
const FAULTS: [string, string[]][] = [
  ['Export and check the trust bundle', PATCH],
  ['Back up Helm values and Dapr resources', PATCH],
  ['Apply the CRDs from the target chart', MINOR_HA],
  ['Recreate StatefulSets whose immutable fields change', MINOR_HA],
  ['helm upgrade the control plane', PATCH],
  ['helm upgrade the control plane', MINOR_HA],
  ['Wait for the control plane at the target version', PATCH],
  ['Restart Dapr-enabled workloads', PATCH],
  ['Verify control plane and sidecars', PATCH],
];

const FAULT_OUTPUTS: string[] = [];

function startUpgrade(
  e: DaprEnv,
  args: string[],
  stateDir = e.stateDir,
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  // Its own process group: a killed CI job or a Ctrl-C takes daprup and the helm/kubectl it started.
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'run.js'),
      'upgrade',
      ...args,
      '--yes',
      '--helm',
      e.flavour.helm,
      '--kubectl',
      e.flavour.kubectl,
      '--kubeconfig',
      e.kubeconfig,
      '--state-dir',
      stateDir,
    ],
    { env: { ...e.env, CI: 'true' }, detached: true },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return {
    child,
    output: () => out,
    exit: new Promise((r) =>
      child.on('exit', (code) => {
        FAULT_OUTPUTS.push(out);
        r(code);
      }),
    ),
  };
}

async function killWhen(run: ReturnType<typeof startUpgrade>, pattern: RegExp): Promise<boolean> {
  for (let i = 0; i < 1200 && run.child.exitCode === null; i++) {
    if (pattern.test(run.output())) {
      process.kill(-run.child.pid!, 'SIGKILL');
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** What an uninterrupted run ends with. */
async function expectUpgraded(e: DaprEnv, target: string, revisionsBefore: Record<string, number>, bundle: string) {
  const all = await pods(e);
  for (const p of all.filter((x) => x.namespace === NAMESPACE))
    expect(
      p.images.every((i) => i.endsWith(`:${target}`)),
      p.name,
    ).toBe(true);
  for (const p of all.filter((x) => x.daprd && x.app !== 'payments-legacy')) expect(p.daprd, p.name).toBe(target);
  expect(await trustBundleData(e)).toBe(bundle);
  const values = JSON.parse(await helm(e, ['get', 'values', 'dapr', '-n', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig]));
  expect(values.dapr_operator.logLevel).toBe(CUSTOM_VALUE.value);
  const after = await revisionsPerWorkload(e);
  for (const w of DAPR_WORKLOADS) expect(after[w], `${w} restarted exactly once`).toBe(revisionsBefore[w]! + 1);
  expect(after['apps-c/plain-web']).toBe(revisionsBefore['apps-c/plain-web']);
}

async function freshInstallWithBaseline(e: DaprEnv) {
  await freshInstall(e);
  return { revisions: await revisionsPerWorkload(e), bundle: await trustBundleData(e) };
}

// The fault matrix alternates helm majors to cover both without doubling the run time.
describe('faults', () => {
  const envs: DaprEnv[] = [];
  beforeAll(async () => {
    for (const f of HELM_FLAVOURS) envs.push(await createDaprEnv(f, inject('kubeconfig')));
  });
  afterAll(async () => {
    for (const e of envs) await e.repo.stop();
  });

  it.each(FAULTS.map(([t, args], i) => [t, args.join(' '), args, i] as const))(
    'SIGKILL when "%s" starts (%s), then the same command completes',
    async (title, _shown, args, i) => {
      const e = envs[i % envs.length]!;
      const { revisions, bundle } = await freshInstallWithBaseline(e);
      const target = args[1]!;
      const run = startUpgrade(e, [...args, '--concurrency', '1']);
      const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(await killWhen(run, new RegExp(`❯ ${escaped}`)), run.output()).toBe(true);
      await run.exit;
      // Killed inside helm-upgrade, helm dies too and leaves the release pending-upgrade: consent to roll back.
      const again = await runDaprup(e, ['upgrade', ...args, '--yes', '--recover-pending']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      await expectUpgraded(e, target, revisions, bundle);
      if (args.includes('--enable-ha')) {
        const placement = await kubectlJson<{ status: { readyReplicas: number } }>(e, [
          'get',
          'statefulset',
          'dapr-placement-server',
          '-n',
          NAMESPACE,
        ]);
        expect(placement.status.readyReplicas).toBe(3);
      }
    },
  );

  it('resumes on another machine (no local journal) from the ConfigMap, re-reading the certificates', async () => {
    const e = envs[1]!;
    const { revisions, bundle } = await freshInstallWithBaseline(e);
    // Killed before helm-upgrade: the new machine needs the certificates and must re-read them.
    const run = startUpgrade(e, ['--to', '1.16.19', '--concurrency', '1']);
    expect(await killWhen(run, /❯ Back up Helm values/)).toBe(true);
    await run.exit;
    const cm = await kubectlJson<{ metadata: { annotations: Record<string, string> }; data: Record<string, string> }>(e, [
      'get',
      'configmap',
      'daprup-run-dapr',
      '-n',
      NAMESPACE,
    ]);
    expect(cm.metadata.annotations['daprup.io/schema-version']).toBe('1');
    expect(JSON.stringify(cm.data)).not.toMatch(/PRIVATE KEY|LS0tLS1CRUdJTi/);
    // A fresh CI runner: another state directory, nothing local.
    const again = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes'], { stateDir: join(e.work, 'other-machine') });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('resumed');
    // The resumed run worked in the new machine's state directory: certificates re-read there, 0600.
    expect(existsSync(join(e.work, 'other-machine'))).toBe(true);
    const runs = readdirSync(join(e.work, 'other-machine'), { recursive: true }).map(String);
    expect(runs.some((f) => /runs\/[^/]+\/certs\/issuer\.key$/.test(f))).toBe(true);
    await expectUpgraded(e, '1.16.19', revisions, bundle);
  });

  it('a second upgrade while one runs is refused with its holder (local lock here, Lease from another machine); a stale Lease is taken over', async () => {
    const e = envs[0]!;
    await freshInstallWithBaseline(e);
    const run = startUpgrade(e, ['--to', '1.16.19', '--concurrency', '1']);
    for (let i = 0; i < 400 && !/❯ Export and check/.test(run.output()); i++) await new Promise((r) => setTimeout(r, 25));
    // From this machine the local lock answers; from another machine (its own state directory), the Lease.
    const sameMachine = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
    expect(sameMachine.code).toBe(3);
    expect(sameMachine.stderr).toMatch(/Another daprup run holds the lock for release dapr in dapr-system \(pid \d+ on \S+, since \S+\)\./);
    const second = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes'], { stateDir: join(e.work, 'second-machine') });
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(
      /Another daprup run holds the lease for release dapr in dapr-system: \S+\/\d+, run \S+, renewed \d+s ago\./,
    );
    expect(await run.exit).toBe(0);

    // A Lease left by a run on another machine that stopped renewing two minutes ago.
    const old = new Date(Date.now() - 120_000).toISOString().replace(/Z$/, '000Z');
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'daprup-dapr', namespace: NAMESPACE, annotations: { 'daprup.io/run-id': 'gone-run' } },
      spec: { holderIdentity: 'ci-runner-7/4242', leaseDurationSeconds: 30, acquireTime: old, renewTime: old },
    };
    await runToolInput(e, ['create', '-f', '-'], JSON.stringify(lease));
    const third = await runDaprup(e, ['upgrade', '--to', '1.17.2', '--yes']);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/Took over the lease of run gone-run \(ci-runner-7\/4242\), last renewed 1[12]\ds ago\./);
  });

  it('helm killed during helm upgrade leaves pending-upgrade: refused without consent, recovered with --recover-pending', async () => {
    const e = envs[1]!;
    const { revisions, bundle } = await freshInstallWithBaseline(e);
    // A helm upgrade that can never become ready (an unschedulable operator), killed while it waits.
    const hung = spawn(
      e.flavour.helm,
      [
        'upgrade',
        'dapr',
        'dapr/dapr',
        '--version',
        '1.16.18',
        '-n',
        NAMESPACE,
        '--reuse-values',
        '--set',
        'dapr_operator.resources.requests.cpu=100000',
        '--wait',
        '--timeout',
        '5m',
        '--kubeconfig',
        e.kubeconfig,
      ],
      { env: e.env },
    );
    for (let i = 0; i < 400; i++) {
      if ((await helmHistory(e)).at(-1)?.status === 'pending-upgrade') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    hung.kill('SIGKILL');
    expect((await helmHistory(e)).at(-1)?.status).toBe('pending-upgrade');

    const before = await snapshotCluster(e);
    const refused = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('is stuck in pending-upgrade');
    expect(refused.stderr).toMatch(/Hint: .*helm rollback dapr 1 -n dapr-system.*--recover-pending/);
    expect(await snapshotCluster(e)).toEqual(before);

    const recovered = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes', '--recover-pending']);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stderr).toContain('Rolling back dapr to revision 1');
    await expectUpgraded(e, '1.16.19', revisions, bundle);
  });

  it('the API server stopped for 40 s as restart-data-plane begins: reads time out, retry, and the run completes', async () => {
    const e = envs[0]!;
    const { revisions, bundle } = await freshInstallWithBaseline(e);
    const port = new URL(
      (await kubectlJson<{ clusters: { cluster: { server: string } }[] }>(e, ['config', 'view', '--minify'])).clusters[0]!.cluster.server,
    ).port;
    const pid = Number((await runTool('pgrep', ['-f', `kube-apiserver .*--secure-port=${port}( |$)`])).trim().split('\n')[0]);
    expect(pid).toBeGreaterThan(0);
    const run = startUpgrade(e, [...PATCH, '--concurrency', '1']);
    for (let i = 0; i < 2400 && !/❯ Restart Dapr-enabled workloads/.test(run.output()); i++) await new Promise((r) => setTimeout(r, 25));
    process.kill(pid, 'SIGSTOP'); // accepts connections, answers nothing: the 30 s read timeout fires
    try {
      await new Promise((r) => setTimeout(r, 40_000));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await run.exit, run.output()).toBe(0);
    await expectUpgraded(e, '1.16.19', revisions, bundle);
  });

  it('leaks the issuer private key nowhere: output, journals (local and in-cluster), plans, backups', async () => {
    const keyFiles: string[] = [];
    for (const e of envs) {
      const plan = await runDaprup(e, ['plan', '--to', '1.17.2', '--json', '--out', join(e.work, 'state', 'plan.json')]);
      expect(plan.code, plan.stderr).toBe(0);
      const found = await findKeyLeaks(e, [e.stateDir, join(e.work, 'other-machine')], FAULT_OUTPUTS);
      expect(found.leaks).toEqual([]);
      keyFiles.push(...found.keyFiles);
    }
    // The only copies: exported for helm --set-file, 0600 in the 0700 certs directory of a run.
    expect(keyFiles.length).toBeGreaterThan(0);
    expect(keyFiles.every((f) => /\/runs\/[^/]+\/certs\/issuer\.key$/.test(f))).toBe(true);
  });
});

function runToolInput(e: DaprEnv, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(e.flavour.kubectl, ['--kubeconfig', e.kubeconfig, ...args], { env: e.env });
    let err = '';
    c.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(err))));
    c.stdin.end(input);
  });
}
