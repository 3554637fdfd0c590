// `daprup certs rotate`: the trust bundle replaced with zero downtime (see src/dapr/rotation.ts for the phases),
// under the same journal, Lease and confirmations as an upgrade, resumable from any machine: the certificates a
// rotation moves to wait in Secret daprup-rotation-<release> beside dapr-trust-bundle until it ends.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Pod, Secret, Workload } from '../cluster/k8s-types.js';
import { selectorMatches } from '../cluster/k8s-types.js';
import { CONTROL_PLANE, TLS_VALUES } from '../dapr/chart.js';
import { isSharedRelease, type DataPlaneWorkload } from '../dapr/data-plane.js';
import { liveDataPlane } from '../dapr/live-data-plane.js';
import type { Tools } from '../cluster/tools.js';
import { dataPlaneOf, findRelease, inspectCluster, type ClusterFacts } from '../dapr/discovery.js';
import { explain } from '../dapr/error-hints.js';
import {
  bringYourOwn,
  newRoot,
  renewIssuer,
  rotationPhases,
  RotationInputError,
  sameBundle,
  sentryKeyType,
  type PendingBundle,
  type RotationPhase,
} from '../dapr/rotation.js';
import { checkTrustBundle, type TrustBundle } from '../dapr/trust-bundle.js';
import { parseAnchors } from '../dapr/x509.js';
import { DaprupError, ExitCode, refusal, usageError } from '../errors.js';
import { executeRunbook, type ExecuteHooks } from '../runbook/execute.js';
import { recoverPendingRelease } from '../runbook/prepare.js';
import { restartWorkloads } from '../runbook/restart.js';
import { STEP_IDS } from '../runbook/runbook.js';
import { readLiveTrustBundle, writeBundleFiles } from '../runbook/steps/trust-bundle.js';
import type { StepOf, StepPlan } from '../runbook/types.js';
import { JournalStore, unfinishedRun, type Journal } from '../state/journal.js';
import { RunLease } from '../state/lease.js';
import type { Prompter } from '../runbook/execute.js';

export interface RotateOptions {
  release?: string;
  namespace?: string;
  /** The chart the release was installed from (its installed version is kept). */
  chart: string;
  /** --root-key: renew the issuer under the running root. */
  rootKeyFile?: string;
  /** --root-cert, --issuer-cert, --issuer-key: the user's own bundle. */
  own?: { rootCert: string; issuerCert: string; issuerKey: string };
  timeout: string;
  concurrency: number;
}

export interface RotateRun {
  options: RotateOptions;
  stateDir: string;
  abandon: boolean;
  /** Plan only: print the phases and their commands, change nothing. */
  dryRun: boolean;
  prompter: Prompter;
  hooks: ExecuteHooks;
  showPlan: (plan: RotationPlan) => void;
  log: (line: string) => void;
  /** Asked when the release is stuck pending-* (a killed helm): true rolls it back to its last deployed revision. */
  recoverPending: (message: string) => Promise<boolean>;
}

export interface RotationPlan {
  release: { name: string; namespace: string; chartVersion: string; version: string };
  mode: PendingBundle['mode'];
  /** Fingerprints (SHA-256) of the roots trusted before and after, and of the new issuer. */
  rootsBefore: string[];
  rootsAfter: string[];
  newIssuer: string;
  phases: (StepPlan & { id: string; title: string })[];
  /** Where the new root's private key was written (a generated root only): keep it to renew the issuer later. */
  newRootKeyFile?: string;
}

export interface RotateResult {
  plan: RotationPlan;
  runId?: string;
  resumed: boolean;
}

interface RotateContext {
  tools: Tools;
  options: RotateOptions;
  facts: ClusterFacts;
  pending: PendingBundle;
  workDir: string;
  journal?: Journal;
}

/** The pending bundle's home in the cluster while a rotation runs (as sensitive as dapr-trust-bundle, beside it). */
const pendingSecretName = (release: string) => `daprup-rotation-${release}`;
const PENDING_KEYS = ['mode', 'oldRoots', 'oldIssuerCert', 'oldIssuerKey', 'newRoot', 'newIssuerCert', 'newIssuerKey'] as const;

async function readPending(tools: Tools, release: string, ns: string): Promise<PendingBundle | undefined> {
  const s = await tools.kubectl.getOptional<Secret>('secret', pendingSecretName(release), ns);
  if (!s?.data) return undefined;
  const get = (k: string) => Buffer.from(s.data![k] ?? '', 'base64').toString('utf8');
  return Object.fromEntries(PENDING_KEYS.map((k) => [k, get(k)])) as unknown as PendingBundle;
}

async function writePending(tools: Tools, release: string, ns: string, p: PendingBundle): Promise<void> {
  await tools.kubectl.applyObject({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: pendingSecretName(release), namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'daprup' } },
    data: Object.fromEntries(PENDING_KEYS.map((k) => [k, Buffer.from(String(p[k])).toString('base64')])),
  } as never);
}

const fingerprints = (pem: string) => parseAnchors(pem).map((c) => c.x509.fingerprint256);

/** The three PEMs of a phase as files for `helm upgrade --set-file` (0600 in 0700, never printed). */
const phaseDir = (workDir: string, phase: RotationPhase) => join(workDir, 'rotation', phase.id);

function setFileArgs(dir: string): string[] {
  return [
    '--set-file',
    `${TLS_VALUES.rootCert}=${join(dir, 'ca.crt')}`,
    '--set-file',
    `${TLS_VALUES.issuerCert}=${join(dir, 'issuer.crt')}`,
    '--set-file',
    `${TLS_VALUES.issuerKey}=${join(dir, 'issuer.key')}`,
  ];
}

/** `helm upgrade` of the installed chart version with every value kept and the phase's bundle pinned. */
function publishArgs(ctx: RotateContext, phase: RotationPhase): string[] {
  const r = ctx.facts.release;
  return ctx.tools.helm.upgradeArgs(
    r.name,
    ctx.options.chart,
    r.namespace,
    r.chartVersion,
    ['--reuse-values', ...setFileArgs(phaseDir(ctx.workDir, phase))],
    ctx.options.timeout,
  );
}

/** Control-plane components restarted after a phase, in the documented order: Sentry first. */
function componentsFor(phase: RotationPhase) {
  const order = ['dapr-sentry', 'dapr-operator', 'dapr-placement-server', 'dapr-sidecar-injector', 'dapr-scheduler-server'];
  const names = phase.restart === 'sentry' ? ['dapr-sentry'] : order;
  return names.map((n) => CONTROL_PLANE.find((c) => c.name === n)!);
}

const createdBefore = (p: Pod, at: string) => !p.metadata.creationTimestamp || Date.parse(p.metadata.creationTimestamp) < Date.parse(at);

/** Control-plane workloads whose pods predate the phase's bundle, in restart order. */
async function staleControlPlane(ctx: RotateContext, phase: RotationPhase, at: string): Promise<Workload[]> {
  const ns = ctx.facts.release.namespace;
  const [workloads, pods] = await Promise.all([
    ctx.tools.kubectl.list<Workload>('deployments,statefulsets', { namespace: ns }),
    ctx.tools.kubectl.listRaw<Pod>('pods', { namespace: ns }),
  ]);
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  return componentsFor(phase)
    .map((c) => workloads.find((w) => w.kind === c.kind && w.metadata.name === c.name))
    .filter((w): w is Workload => !!w && live.some((p) => selectorMatches(w.spec.selector, p.metadata.labels) && createdBefore(p, at)));
}

const sharedReleasesOf = (ctx: Pick<RotateContext, 'facts'>) => new Set(ctx.facts.sharedReleases.map((r) => `${r.namespace}/${r.name}`));

/**
 * How a rotation restarts a daprd workload: rolling restarts, a Dapr Shared release's DaemonSet or Deployment
 * rolled like any other (its init container copies the anchors at start); undefined when out of reach.
 */
function rotationRestart(w: DataPlaneWorkload, shared: ReadonlySet<string>): DataPlaneWorkload | undefined {
  if (w.method === 'rollout-restart' || w.method === 'argo-restart') return w;
  if (w.method === 'template' && isSharedRelease(w, { sharedReleases: shared })) return { ...w, method: 'rollout-restart' };
  return undefined;
}

/** Workloads running daprd (Dapr Shared included) whose pods predate the phase's bundle, and those out of reach. */
async function staleDataPlane(ctx: RotateContext, at: string) {
  const shared = sharedReleasesOf(ctx);
  const dataPlane = await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace);
  const stale = dataPlane.filter(
    (w) => w.podsWithSidecar > 0 && w.podList.some((p) => p.version && (!p.createdAt || Date.parse(p.createdAt) < Date.parse(at))),
  );
  return {
    restart: stale.flatMap((w) => rotationRestart(w, shared) ?? []),
    unreached: stale.filter((w) => !rotationRestart(w, shared)),
  };
}

async function phaseIsDone(ctx: RotateContext, phase: RotationPhase): Promise<boolean> {
  const live = await readLiveTrustBundle(ctx);
  const at = ctx.journal?.data.rotation?.appliedAt[phase.id];
  if (!live || !at || !sameBundle(live, phase.bundle) || live.configMapRootCert?.trim() !== phase.bundle.rootCert.trim()) return false;
  if ((await staleControlPlane(ctx, phase, at)).length) return false;
  return phase.restart === 'sentry' || !(await staleDataPlane(ctx, at)).restart.length;
}

function phaseStep(phase: RotationPhase): StepOf<RotateContext> {
  return {
    id: phase.id,
    title: phase.title,
    async plan(ctx) {
      const k = ctx.tools.kubectl;
      const ns = ctx.facts.release.namespace;
      const restarts = componentsFor(phase).map((c) => k.commandLine(...k.rolloutRestartArgs(ns, [`${c.kind.toLowerCase()}/${c.name}`])));
      // The workloads as they are now (every one runs pods older than the phase's bundle), one restart per namespace.
      const shared = sharedReleasesOf(ctx);
      const dataPlane = phase.restart === 'sentry' ? [] : dataPlaneOf(ctx.facts);
      const workloads = dataPlane
        .filter((w) => w.podsWithSidecar > 0)
        .flatMap((w) => rotationRestart(w, shared) ?? [])
        .filter((w) => w.method === 'rollout-restart');
      const byNs = [...new Set(workloads.map((w) => w.namespace))].map((wns) =>
        k.commandLine(
          ...k.rolloutRestartArgs(
            wns,
            workloads.filter((w) => w.namespace === wns).map((w) => `${w.kind.toLowerCase()}/${w.name}`),
          ),
        ),
      );
      const rollouts = dataPlane
        .filter((w) => w.method === 'argo-restart')
        .map((w) => k.commandLine(...k.restartRolloutArgs(w.namespace, [w.name], '<now>')));
      return {
        summary: `ca.crt ${fingerprints(phase.bundle.rootCert).length} root(s), issuer ${fingerprints(phase.bundle.issuerCert)[0]?.slice(0, 23)}…; then restart ${phase.restart === 'sentry' ? 'Sentry' : 'Sentry, operator, placement, injector, scheduler, then every Dapr workload and Dapr Shared release'}`,
        commands: [ctx.tools.helm.commandLine(publishArgs(ctx, phase)), ...restarts, ...byNs, ...rollouts],
        destructive: true,
      };
    },
    isDone: (ctx) => phaseIsDone(ctx, phase),
    async apply(ctx, report) {
      const journal = ctx.journal!;
      const live = await readLiveTrustBundle(ctx);
      if (!live || !sameBundle(live, phase.bundle) || !journal.data.rotation?.appliedAt[phase.id]) {
        const dir = phaseDir(ctx.workDir, phase);
        await writeBundleFiles(dir, phase.bundle);
        try {
          await ctx.tools.helm.upgrade(publishArgs(ctx, phase));
        } catch (e) {
          throw explain(e, `Publishing the trust bundle of "${phase.title}"`);
        }
        // Pods created from now on read the new anchors: older ones are the ones to recreate.
        await journal.setPhaseApplied(phase.id, new Date().toISOString());
        report('trust bundle published (Secret and ConfigMap dapr-trust-bundle)');
      }
      const at = journal.data.rotation!.appliedAt[phase.id]!;
      for (const w of await staleControlPlane(ctx, phase, at)) {
        const ref = `${w.kind.toLowerCase()}/${w.metadata.name}`;
        await ctx.tools.kubectl.rolloutRestart(ctx.facts.release.namespace, [ref]).catch((e: unknown) => {
          throw explain(e, `Restarting ${ref}`);
        });
        await ctx.tools.kubectl.rolloutStatus(ctx.facts.release.namespace, ref, ctx.options.timeout).catch((e: unknown) => {
          throw explain(e, `Waiting for ${ref}`);
        });
        report(`restarted ${ref}`);
      }
      if (phase.restart === 'sentry') return;
      const { restart, unreached } = await staleDataPlane(ctx, at);
      for (const w of unreached) report(`not reached: ${w.key} keeps the anchors it started with until its pods are recreated`);
      // Journaled per phase: a workload restarted in phase 1 is restarted again in phase 2.
      const todo = restart.map((w) => ({ ...w, key: `${phase.id}/${w.key}` }));
      const out = await restartWorkloads(ctx.tools.kubectl, todo, {
        concurrency: ctx.options.concurrency,
        timeout: ctx.options.timeout,
        target: '',
        journal,
        report,
      });
      report(`${out.restarted.length} workloads restarted, ${out.resumed.length} resumed`);
    },
    async verify(ctx) {
      const live = await readLiveTrustBundle(ctx);
      if (!live || !sameBundle(live, phase.bundle) || live.configMapRootCert?.trim() !== phase.bundle.rootCert.trim()) {
        throw new DaprupError(
          `After "${phase.title}" the cluster's trust bundle is not the one published.`,
          'Sentry may have replaced it (the ConfigMap and Secret roots must match); check daprup certs check, then rerun to resume.',
          ExitCode.stepFailed,
        );
      }
    },
  };
}

const finishStep: StepOf<RotateContext> = {
  id: 'finish-rotation',
  title: 'Check the bundle and remove the pending certificates',
  async plan(ctx) {
    return {
      summary: `every certificate chains to the new root; Secret ${pendingSecretName(ctx.facts.release.name)} deleted`,
      commands: [
        ctx.tools.kubectl.commandLine(
          ...ctx.tools.kubectl.deleteObjectArgs('secret', pendingSecretName(ctx.facts.release.name), ctx.facts.release.namespace),
        ),
      ],
      destructive: false,
    };
  },
  async isDone() {
    return false;
  },
  async apply(ctx, report) {
    const live = (await readLiveTrustBundle(ctx))!;
    const report_ = checkTrustBundle(live);
    if (!report_.ok)
      throw new DaprupError(
        `The rotated trust bundle fails its checks: ${report_.checks
          .filter((c) => c.severity === 'failure')
          .map((c) => c.message)
          .join(' ')}`,
        'Check it with daprup certs check.',
        ExitCode.stepFailed,
      );
    await ctx.tools.kubectl.deleteObject('secret', pendingSecretName(ctx.facts.release.name), ctx.facts.release.namespace);
    report('pending certificates removed');
  },
  async verify() {},
};

async function readFileOrRefuse(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw usageError(`${flag} ${path} cannot be read.`, `Check the path and its permissions (${flag} takes a PEM file).`);
  }
}

/** The certificates to rotate to, from the flags; checked before anything changes. */
async function pendingFromFlags(
  facts: ClusterFacts,
  o: RotateOptions,
  workDir: string | undefined,
): Promise<{ pending: PendingBundle; newRootKeyFile?: string }> {
  const current = facts.trustBundle;
  if (!current)
    throw refusal(
      `The trust bundle (Secret dapr-trust-bundle in ${facts.release.namespace}) is missing.`,
      'Sentry creates it at install; restore it from a backup.',
    );
  if (fingerprints(current.rootCert).length !== 1)
    throw refusal(
      'The cluster trusts more than one root: a rotation was left half done.',
      'Finish it with daprup certs rotate --yes (it resumes), or check the bundle with daprup certs check.',
    );
  const gen = {
    keyType: sentryKeyType(facts.release.version),
    namespace: facts.release.namespace,
    trustDomain: parseAnchors(current.rootCert)[0]?.organizations[0],
  };
  try {
    if (o.rootKeyFile) return { pending: renewIssuer(current, await readFileOrRefuse(o.rootKeyFile, '--root-key'), gen) };
    if (o.own) {
      const own = {
        rootCert: await readFileOrRefuse(o.own.rootCert, '--root-cert'),
        issuerCert: await readFileOrRefuse(o.own.issuerCert, '--issuer-cert'),
        issuerKey: await readFileOrRefuse(o.own.issuerKey, '--issuer-key'),
      };
      const { pending, problems } = bringYourOwn(current, own, { trustDomain: gen.trustDomain });
      if (problems.length)
        throw usageError(
          `Your certificates cannot be used: ${problems[0]!.message}`,
          problems.length > 1
            ? `Also: ${problems
                .slice(1)
                .map((p) => p.message)
                .join(' ')}`
            : 'Fix the files and run again; nothing was changed.',
        );
      return { pending };
    }
    const { pending, rootKey } = newRoot(current, gen);
    if (!workDir) return { pending }; // a dry run keeps no key
    const dir = join(workDir, 'new-root');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const newRootKeyFile = join(dir, 'ca.key');
    await writeFileAtomic(newRootKeyFile, rootKey, { mode: 0o600 });
    return { pending, newRootKeyFile };
  } catch (e) {
    if (e instanceof RotationInputError)
      throw usageError(
        e.message,
        o.rootKeyFile
          ? 'Pass the private key of the root in dapr-trust-bundle (ca.crt), or rotate without --root-key to replace the root.'
          : 'Check the files and run again; nothing was changed.',
      );
    throw e;
  }
}

export async function rotateTrustBundle(tools: Tools, run: RotateRun): Promise<RotateResult> {
  const o = run.options;
  const release = await findRelease(tools, { release: o.release, namespace: o.namespace });
  const clusterId = await tools.kubectl.clusterId().catch((e: unknown) => {
    throw explain(e, 'Reading the cluster identity');
  });
  const key = { clusterId, namespace: release.namespace, release: release.name };
  // Upgrade journals read here are completed with the upgrade's steps, as `daprup upgrade` reads them.
  const store = new JournalStore(run.stateDir, STEP_IDS);
  const clusterJournal = store.inCluster(tools.kubectl, key);
  const unlock = run.dryRun ? async () => {} : await store.lock(key);
  let lease: RunLease | undefined;
  try {
    if (!run.dryRun) {
      lease = await RunLease.acquire(tools.kubectl, {
        namespace: release.namespace,
        release: release.name,
        runId: store.newRunId(),
        log: run.log,
      });
      lease.startRenewing();
    }
    let existing = unfinishedRun(
      await store.read(key),
      await clusterJournal.read().catch((e: unknown) => {
        throw explain(e, 'Reading the run journal from the cluster');
      }),
    );
    if (existing && run.abandon) {
      await store.open(key, existing, clusterJournal).finish('abandoned');
      if (existing.kind === 'rotate') await tools.kubectl.deleteObject('secret', pendingSecretName(release.name), release.namespace);
      run.log(`Abandoned unfinished run ${existing.runId}.`);
      existing = undefined;
    }
    if (existing?.kind !== 'rotate' && existing) {
      throw refusal(
        `An unfinished ${existing.kind ?? 'upgrade'} (${existing.runId}, to ${existing.target}) holds this release.`,
        `Finish it with ${existing.kind === 'rollback' ? 'daprup rollback --yes' : `daprup upgrade --to ${existing.target}`}, or pass --abandon.`,
      );
    }
    if (existing && (o.rootKeyFile || o.own)) {
      throw refusal(
        `A rotation (${existing.runId}) is unfinished: a second one cannot start.`,
        'Resume it with daprup certs rotate (no certificate flags), or give it up with --abandon.',
      );
    }
    let facts = await inspectCluster(tools, { release: o.release, namespace: o.namespace });
    if (facts.release.status.startsWith('pending-') && !run.dryRun) {
      // A killed run's helm upgrade: back to the last deployed revision; the phase publishes its bundle again.
      await recoverPendingRelease(tools, facts.release, o.timeout, { recoverPending: run.recoverPending, log: run.log });
      facts = await inspectCluster(tools, { release: o.release, namespace: o.namespace });
    }
    const runId = existing?.runId ?? store.newRunId();
    const workDir = store.runDir(key, runId);
    let pending: PendingBundle | undefined;
    let newRootKeyFile: string | undefined;
    if (existing) {
      pending = await readPending(tools, release.name, release.namespace);
      if (!pending)
        throw refusal(
          `The unfinished rotation ${existing.runId} has lost its pending certificates (Secret ${pendingSecretName(release.name)}).`,
          'Give it up with --abandon and check the bundle with daprup certs check.',
        );
    } else {
      ({ pending, newRootKeyFile } = await pendingFromFlags(facts, o, run.dryRun ? undefined : workDir));
    }
    const ctx: RotateContext = { tools, options: o, facts, pending, workDir };
    const phases = rotationPhases(pending);
    const steps = [...phases.map(phaseStep), finishStep];
    const plan: RotationPlan = {
      release: { name: release.name, namespace: release.namespace, chartVersion: release.chartVersion, version: release.version },
      mode: pending.mode,
      rootsBefore: fingerprints(pending.oldRoots),
      rootsAfter: fingerprints(pending.newRoot),
      newIssuer: fingerprints(pending.newIssuerCert)[0] ?? '',
      phases: await Promise.all(steps.map(async (s) => ({ id: s.id, title: s.title, ...(await s.plan(ctx)) }))),
      newRootKeyFile,
    };
    if (run.dryRun) return { plan, resumed: false };
    const resumed = !!existing;
    run.showPlan(plan);
    const question = resumed
      ? `Resume the unfinished trust-bundle rotation ${existing!.runId}?`
      : `Rotate the trust bundle of ${release.name} in ${release.namespace} (${pending.mode === 'renew-issuer' ? 'new issuer, same root' : 'new root, in three phases'})?`;
    if (!(await run.prompter.confirm(question))) {
      if (!resumed) await rm(workDir, { recursive: true, force: true });
      throw new DaprupError(
        'Rotation not confirmed; nothing was changed.',
        'Run again and confirm, or pass --yes.',
        ExitCode.confirmationNeeded,
      );
    }
    if (!resumed) await writePending(tools, release.name, release.namespace, pending);
    const journal = existing
      ? store.open(key, { ...existing, rotation: existing.rotation ?? { mode: pending.mode, appliedAt: {} } }, clusterJournal)
      : store.create(
          key,
          {
            runId,
            kind: 'rotate',
            from: plan.rootsBefore.join(','),
            target: plan.rootsAfter.join(','),
            planHash: plan.newIssuer,
            startRevision: release.revision,
            namespaceUid: await tools.kubectl.namespaceUid(release.namespace),
            steps: steps.map((s) => s.id),
            rotation: { mode: pending.mode, appliedAt: {} },
          },
          clusterJournal,
        );
    // Running (again), written here and in the cluster before the first phase.
    await journal.resume();
    ctx.journal = journal;
    if (!existsSync(workDir)) await mkdir(workDir, { recursive: true, mode: 0o700 });
    await executeRunbook(ctx, journal, run.hooks, steps, () => {
      if (lease?.lost) throw refusal("Another daprup run took over this run's lease.", 'Let that run finish; check `daprup status`.');
    });
    return { plan, runId, resumed };
  } finally {
    await lease?.release();
    await unlock().catch(() => undefined);
  }
}

export type { TrustBundle };
