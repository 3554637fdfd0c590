// `daprup certs rotate` end to end in the sandbox: the issuer renewed under the same root (--root-key), the root
// replaced in three phases (watched as it happens: the anchors in Secret and ConfigMap after each phase, the issuer's
// root, every Dapr pod recreated after each change, Sentry first), a SIGKILL inside phase 2 resumed to the same end
// state, a second rotation refused meanwhile, and bad inputs refused with nothing changed. What the sandbox cannot
// show: mTLS traffic between real sidecars (containers never run); see the README for checking that on a cluster.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAnchors, validateTrustBundle } from '../../src/dapr/x509.js';
import { makeTrustBundle } from '../support/certs.js';
import { DAPRUP_COMMAND } from '../support/cli.js';
import { HELM_FLAVOURS } from '../support/tools.js';
import {
  APP_NAMESPACES,
  createDaprEnv,
  freshInstall,
  helm,
  kubectl,
  kubectlJson,
  NAMESPACE,
  OUTPUTS,
  runDaprup,
  snapshotCluster,
  type DaprEnv,
} from './dapr-env.js';

const VERSION = '1.17.13';
const CONTROL_PLANE_ORDER = ['dapr-sentry', 'dapr-operator', 'dapr-placement-server', 'dapr-sidecar-injector', 'dapr-scheduler-server'];

type PodJson = {
  metadata: {
    uid: string;
    name: string;
    namespace: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
};
interface Sample {
  at: number;
  roots: string[];
  issuer: string;
  configMapRoots: string[];
  pods: { uid: string; owner: string; created: number }[];
}

const fp = (pem: string) => parseAnchors(pem).map((c) => c.x509.fingerprint256);

async function bundle(e: DaprEnv): Promise<{ rootCert: string; issuerCert: string; issuerKey: string; configMapRootCert: string }> {
  const s = await kubectlJson<{ data: Record<string, string> }>(e, ['get', 'secret', 'dapr-trust-bundle', '-n', NAMESPACE]);
  const c = await kubectlJson<{ data: Record<string, string> }>(e, ['get', 'configmap', 'dapr-trust-bundle', '-n', NAMESPACE]);
  const d = (k: string) => Buffer.from(s.data[k] ?? '', 'base64').toString('utf8');
  return { rootCert: d('ca.crt'), issuerCert: d('issuer.crt'), issuerKey: d('issuer.key'), configMapRootCert: c.data['ca.crt'] ?? '' };
}

/** Dapr pods (control plane and Dapr-enabled apps), named by their app label. */
async function daprPods(e: DaprEnv): Promise<Sample['pods']> {
  const { items } = await kubectlJson<{ items: PodJson[] }>(e, ['get', 'pods', '--all-namespaces']);
  return items
    .filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        [NAMESPACE, ...APP_NAMESPACES].includes(p.metadata.namespace) &&
        p.metadata.labels?.app &&
        p.metadata.labels.app !== 'plain-web',
    )
    .map((p) => ({
      uid: p.metadata.uid,
      owner: `${p.metadata.namespace}/${p.metadata.labels!.app}`,
      created: Date.parse(p.metadata.creationTimestamp),
    }));
}

/** Samples the bundle and the pods every ~300 ms until stopped: what the cluster looked like during the rotation. */
function watch(e: DaprEnv): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [b, pods] = await Promise.all([bundle(e), daprPods(e)]).catch(() => [undefined, undefined] as const);
      if (b && pods)
        samples.push({
          at: Date.now(),
          roots: fp(b.rootCert),
          issuer: fp(b.issuerCert)[0]!,
          configMapRoots: fp(b.configMapRootCert),
          pods,
        });
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** The distinct bundle states in the order seen, with the last sample of the previous state and the first of the next. */
function phases(samples: Sample[]) {
  const out: { roots: string[]; issuer: string; lastBefore: number; firstSeen: number }[] = [];
  samples.forEach((s, i) => {
    const prev = out.at(-1);
    if (!prev || prev.issuer !== s.issuer || prev.roots.join() !== s.roots.join())
      out.push({ roots: s.roots, issuer: s.issuer, lastBefore: i ? samples[i - 1]!.at : 0, firstSeen: s.at });
  });
  return out;
}

/** Every private key a rotation made: none may appear outside a 0600 key file in a 0700 directory. */
const MADE_KEYS: string[] = [];

async function keyLeaks(e: DaprEnv): Promise<{ leaks: string[]; keyFiles: number }> {
  const needles = MADE_KEYS.flatMap((pem) => [
    pem.trim(),
    Buffer.from(pem.trim()).toString('base64').slice(0, 60),
    pem.trim().split('\n')[1]!,
  ]);
  const hit = (text: string) => needles.some((n) => text.includes(n));
  const leaks: string[] = [];
  let keyFiles = 0;
  for (const d of await readdir(e.stateDir, { recursive: true, withFileTypes: true })) {
    if (!d.isFile()) continue;
    const path = join(d.parentPath, d.name);
    if (!hit(await readFile(path, 'utf8'))) continue;
    const [file, dir] = [await stat(path), await stat(d.parentPath)];
    if (['issuer.key', 'ca.key'].includes(d.name) && (file.mode & 0o777) === 0o600 && (dir.mode & 0o777) === 0o700) keyFiles++;
    else leaks.push(`${path} (mode ${(file.mode & 0o777).toString(8)}, dir ${(dir.mode & 0o777).toString(8)})`);
  }
  OUTPUTS.forEach((t, i) => {
    if (hit(t)) leaks.push(`output #${i}: ${t.slice(0, 120)}`);
  });
  if (hit(await kubectl(e, ['get', 'configmap', 'daprup-run-dapr', '-n', NAMESPACE, '-o', 'json', '--ignore-not-found'])))
    leaks.push('ConfigMap daprup-run-dapr (the journal)');
  return { leaks, keyFiles };
}

describe('certs rotate with helm 4', () => {
  const flavour = HELM_FLAVOURS.find((f) => f.name === 'helm4')!;
  let e: DaprEnv;
  let dir: string;

  beforeAll(async () => {
    e = await createDaprEnv(flavour, inject('kubeconfig'));
    await freshInstall(e, VERSION);
    dir = join(e.work, 'rotate-input');
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }, 600_000);
  afterAll(async () => e?.repo.stop());

  it('refuses bad inputs with one sentence and a hint, and changes nothing', async () => {
    const other = makeTrustBundle();
    const expired = makeTrustBundle({ issuerNotBeforeDaysAgo: 400, issuerValidDays: 365 });
    const files = {
      wrongKey: join(dir, 'other-root.key'),
      root: join(dir, 'exp-ca.crt'),
      issuer: join(dir, 'exp-issuer.crt'),
      key: join(dir, 'exp-issuer.key'),
    };
    await writeFile(files.wrongKey, other.rootKey, { mode: 0o600 });
    await writeFile(files.root, expired.rootCert);
    await writeFile(files.issuer, expired.issuerCert);
    await writeFile(files.key, expired.issuerKey, { mode: 0o600 });
    const before = await snapshotCluster(e);
    const cases: [string[], string][] = [
      [['--root-key', files.wrongKey], 'does not belong to the root certificate in the cluster'],
      [['--root-cert', files.root, '--issuer-cert', files.issuer, '--issuer-key', files.key], 'cannot be used'],
      [['--root-key', join(dir, 'missing.key')], 'cannot be read'],
    ];
    for (const [args, sentence] of cases) {
      const r = await runDaprup(e, ['certs', 'rotate', ...args, '--yes']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(sentence);
      expect(r.stderr).toMatch(/\nHint: \S/);
      expect(r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Hint:'))).toHaveLength(1);
    }
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('--dry-run shows the three phases with their commands and changes nothing', async () => {
    const before = await snapshotCluster(e);
    const r = await runDaprup(e, ['certs', 'rotate', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { mode: string; phases: { id: string; commands: string[][] }[] };
    expect(plan.mode).toBe('replace-root');
    expect(plan.phases.map((p) => p.id)).toEqual(['trust-both-roots', 'switch-issuer', 'drop-old-root', 'finish-rotation']);
    expect(plan.phases[0]!.commands.flat().join(' ')).toContain('--reuse-values --set-file dapr_sentry.tls.root.certPEM=');
    expect(r.stdout).not.toContain('PRIVATE KEY');
    expect(await snapshotCluster(e)).toEqual(before);
  });

  it('--root-key renews the issuer under the same root: Sentry restarts, nothing else, the release keeps the new PEMs', async () => {
    const keyFile = join(dir, 'ca.key');
    await writeFile(keyFile, e.bundle.rootKey, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    const old = await bundle(e);
    const podsBefore = await daprPods(e);
    const r = await runDaprup(e, ['certs', 'rotate', '--root-key', keyFile, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const now = await bundle(e);
    expect(fp(now.rootCert)).toEqual(fp(old.rootCert));
    expect(now.configMapRootCert.trim()).toBe(now.rootCert.trim());
    expect(fp(now.issuerCert)).not.toEqual(fp(old.issuerCert));
    expect(validateTrustBundle(now).ok).toBe(true);
    const after = await daprPods(e);
    const kept = (owner: string) => after.filter((p) => p.owner === owner).every((p) => podsBefore.some((b) => b.uid === p.uid));
    expect(kept(`${NAMESPACE}/dapr-sentry`)).toBe(false);
    for (const owner of new Set(podsBefore.map((p) => p.owner)))
      if (owner !== `${NAMESPACE}/dapr-sentry`) expect(kept(owner), owner).toBe(true);
    const values = JSON.parse(await helm(e, ['get', 'values', 'dapr', '-n', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig]));
    expect(fp(values.dapr_sentry.tls.issuer.certPEM)).toEqual(fp(now.issuerCert));
    MADE_KEYS.push(now.issuerKey);
  });

  it('replaces the root in three phases: the anchors after each, every Dapr pod recreated after each change, Sentry first', async () => {
    const old = await bundle(e);
    const w = watch(e);
    const r = await runDaprup(e, ['certs', 'rotate', '--yes']);
    const samples = await w.stop();
    expect(r.code, r.stderr).toBe(0);
    const now = await bundle(e);
    const keyFile = /Keep the new root's private key \((\S+ca\.key), 0600\)/.exec(r.stdout)?.[1];
    expect(keyFile).toBeDefined();
    // Recorded before the phase checks, so the key-leak test scans these keys whatever happens below.
    MADE_KEYS.push(now.issuerKey, await readFile(keyFile!, 'utf8'));
    const [oldRoot] = fp(old.rootCert);
    const [newRoot] = fp(now.rootCert);
    expect(fp(now.rootCert)).toHaveLength(1);
    expect(newRoot).not.toBe(oldRoot);
    expect(new X509Certificate(now.issuerCert).verify(new X509Certificate(now.rootCert).publicKey)).toBe(true);
    expect(validateTrustBundle(now).ok).toBe(true);

    const seen = phases(samples);
    expect(seen.map((s) => [s.roots.join('+'), s.issuer])).toEqual([
      [oldRoot, fp(old.issuerCert)[0]],
      [`${oldRoot}+${newRoot}`, fp(old.issuerCert)[0]],
      [`${oldRoot}+${newRoot}`, fp(now.issuerCert)[0]],
      [newRoot, fp(now.issuerCert)[0]],
    ]);
    // The ConfigMap holds exactly the Secret's anchors in each phase (helm writes both in one upgrade). A sample reads
    // the Secret, then the ConfigMap: one taken as helm writes may see the ConfigMap of the next phase already.
    seen.forEach((phase, i) => {
      const inPhase = samples.filter((x) => x.issuer === phase.issuer && x.roots.join() === phase.roots.join());
      const allowed = [phase.roots.join(), seen[i + 1]?.roots.join()];
      expect(
        inPhase.some((x) => x.configMapRoots.join() === phase.roots.join()),
        `ConfigMap in phase ${i}`,
      ).toBe(true);
      for (const x of inPhase) expect(allowed, `ConfigMap in phase ${i}`).toContain(x.configMapRoots.join());
    });

    // Each phase: every Dapr workload got a new pod after the change, before the next one. A pod belongs to the phase
    // in which the watcher first saw it (creationTimestamp has whole seconds: the last pods of one phase and the first
    // of the next can share a second); within a phase, creation order tells Sentry first and workloads last.
    const owners = [...new Set(samples[0]!.pods.map((p) => p.owner))];
    const firstSeen = new Map<string, number>();
    for (const sample of samples) for (const p of sample.pods) if (!firstSeen.has(p.uid)) firstSeen.set(p.uid, sample.at);
    const allPods = new Map(samples.flatMap((s) => s.pods).map((p) => [p.uid, p]));
    for (let i = 1; i < seen.length; i++) {
      const from = seen[i]!.lastBefore;
      const to = seen[i + 1]?.lastBefore ?? Date.now();
      const inPhase = [...allPods.values()].filter((p) => firstSeen.get(p.uid)! > from && firstSeen.get(p.uid)! <= to);
      const dump = () => JSON.stringify({ phase: i, from, to, pods: inPhase.map((p) => [p.owner, p.created, firstSeen.get(p.uid)]) });
      for (const owner of owners)
        expect(inPhase.filter((p) => p.owner === owner).length, `phase ${i}: ${owner} ${dump()}`).toBeGreaterThan(0);
      // Sentry, operator, placement, injector, scheduler in that order, the workloads after them.
      const firstOf = (owner: string) => Math.min(...inPhase.filter((p) => p.owner === owner).map((p) => p.created));
      const cp = CONTROL_PLANE_ORDER.map((n) => firstOf(`${NAMESPACE}/${n}`));
      expect(
        [...cp].sort((a, b) => a - b),
        `phase ${i} control-plane order ${dump()}`,
      ).toEqual(cp);
      for (const owner of owners.filter((o) => !o.startsWith(`${NAMESPACE}/`)))
        expect(firstOf(owner), `phase ${i}: ${owner} after the control plane ${dump()}`).toBeGreaterThanOrEqual(cp.at(-1)!);
    }
    const values = JSON.parse(await helm(e, ['get', 'values', 'dapr', '-n', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig]));
    expect(fp(values.dapr_sentry.tls.root.certPEM)).toEqual([newRoot]);
    const check = await runDaprup(e, ['certs', 'check']);
    expect(check.code, check.stdout).toBe(0);
  });

  it('SIGKILL inside phase 2 resumes to the same end state; a second rotation is refused meanwhile', async () => {
    const old = await bundle(e);
    const [cmd, ...lead] = DAPRUP_COMMAND as [string, ...string[]];
    const child = spawn(
      cmd,
      [
        ...lead,
        'certs',
        'rotate',
        '--yes',
        '--helm',
        e.flavour.helm,
        '--kubectl',
        e.flavour.kubectl,
        '--kubeconfig',
        e.kubeconfig,
        '--state-dir',
        e.stateDir,
      ],
      { env: { ...e.env, CI: 'true' }, detached: true, stdio: 'ignore' },
    );
    // Phase 2 has published the new issuer: kill the run while it restarts the control plane and workloads.
    for (;;) {
      const b = await bundle(e);
      if (fp(b.issuerCert)[0] !== fp(old.issuerCert)[0]) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const mid = await bundle(e);
    expect(fp(mid.rootCert)).toHaveLength(2);

    const other = makeTrustBundle();
    const files = [join(dir, 'b-ca.crt'), join(dir, 'b-issuer.crt'), join(dir, 'b-issuer.key')];
    await Promise.all([
      writeFile(files[0]!, other.rootCert),
      writeFile(files[1]!, other.issuerCert),
      writeFile(files[2]!, other.issuerKey, { mode: 0o600 }),
    ]);
    const second = await runDaprup(e, [
      'certs',
      'rotate',
      '--root-cert',
      files[0]!,
      '--issuer-cert',
      files[1]!,
      '--issuer-key',
      files[2]!,
      '--yes',
    ]);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('a second one cannot start');
    const upgrade = await runDaprup(e, ['upgrade', '--to', VERSION, '--yes']);
    expect(upgrade.code).toBe(3);
    expect(upgrade.stderr).toContain('rotation');

    // Lease of the killed run: taken over once it is stale (30 s without renewal).
    let resumed = await runDaprup(e, ['certs', 'rotate', '--yes']);
    for (let i = 0; resumed.code === 3 && /lease/i.test(resumed.stderr) && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 5000));
      resumed = await runDaprup(e, ['certs', 'rotate', '--yes', '--recover-pending']);
    }
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resumed');
    const end = await bundle(e);
    expect(fp(end.rootCert)).toEqual([fp(mid.rootCert)[1]]);
    expect(fp(end.issuerCert)).toEqual(fp(mid.issuerCert));
    expect(validateTrustBundle(end).ok).toBe(true);
    const pending = await kubectlJson<{ items: unknown[] }>(e, [
      'get',
      'secrets',
      '-n',
      NAMESPACE,
      '--field-selector',
      'metadata.name=daprup-rotation-dapr',
    ]);
    expect(pending.items).toHaveLength(0);
    MADE_KEYS.push(end.issuerKey);
  });

  it('brings your own bundle with another root through the three phases', async () => {
    const own = makeTrustBundle();
    const files = [join(dir, 'own-ca.crt'), join(dir, 'own-issuer.crt'), join(dir, 'own-issuer.key')] as const;
    await Promise.all([
      writeFile(files[0], own.rootCert),
      writeFile(files[1], own.issuerCert),
      writeFile(files[2], own.issuerKey, { mode: 0o600 }),
    ]);
    const r = await runDaprup(e, [
      'certs',
      'rotate',
      '--root-cert',
      files[0],
      '--issuer-cert',
      files[1],
      '--issuer-key',
      files[2],
      '--yes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('replace-root');
    const end = await bundle(e);
    expect(fp(end.rootCert)).toEqual(fp(own.rootCert));
    expect(fp(end.issuerCert)).toEqual(fp(own.issuerCert));
    expect(end.configMapRootCert.trim()).toBe(end.rootCert.trim());
    MADE_KEYS.push(own.issuerKey);
  });

  it('keeps every key it made in 0600 files in 0700 directories: never in output, plans or journals', async () => {
    expect(MADE_KEYS.length).toBeGreaterThanOrEqual(4);
    const { leaks, keyFiles } = await keyLeaks(e);
    expect(leaks).toEqual([]);
    expect(keyFiles).toBeGreaterThan(0);
  });
});
