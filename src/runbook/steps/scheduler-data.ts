// protect-scheduler-data: before a hop that loses the scheduler's data (1.14 → 1.15, a 1.14 HA change, a
// recreation that drops its claims), snapshot each scheduler claim with a VolumeSnapshot and wait until it is ready
// to use; without a VolumeSnapshotClass that fits, the run refuses unless --accept-scheduler-data-loss. Also the
// hop's storage and node prerequisites, which preflight checks before anything changes.
import { basename, dirname } from 'node:path';
import type { PersistentVolumeClaim } from '../../cluster/k8s-types.js';
import { explain } from '../../dapr/error-hints.js';
import {
  chooseSnapshotClass,
  claimDriver,
  nodeFindings,
  recreationKeepsData,
  schedulerClaims,
  schedulerDataAtRisk,
  snapshotName,
  snapshotSuffix,
  spreadWorkloads,
  storageClassFinding,
  VOLUME_SNAPSHOT_CLASSES,
  VOLUME_SNAPSHOTS,
  volumeSnapshot,
  type HopFinding,
  type Node,
  type SchedulerDataRisk,
  type SchedulerHop,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
} from '../../dapr/scheduler-data.js';
import { DaprupError, ExitCode, refusal } from '../../errors.js';
import type { RunContext, Step } from '../types.js';
import { statefulSetsToRecreateNow } from './statefulsets.js';

const ns = (ctx: RunContext) => ctx.facts.release.namespace;
const classesRead = () => [VOLUME_SNAPSHOT_CLASSES, {}] as const;
const claimsRead = (ctx: RunContext) => ['persistentvolumeclaims', { namespace: ns(ctx) }] as const;
const snapshotsRead = (ctx: RunContext) => [VOLUME_SNAPSHOTS, { namespace: ns(ctx) }] as const;
const snapshotRef = (name: string) => `${VOLUME_SNAPSHOTS}/${name}`;
const READY = ['.status.readyToUse', 'true'] as const;
/** An upgrade's work dir is its run directory, `runs/<run id>` (JournalStore.runDir). */
const RUN_DIR = /^\d{8}T\d{6}-[0-9a-f]{8}$/;

/**
 * The run's id: the journal's, or (the plan shown before the journal is written) the run directory's name, so the
 * plan names the snapshots apply creates. `daprup plan` has no run: `run-id` stands in.
 */
export function runIdOf(ctx: RunContext): string {
  // A hop of a run of several works in <run dir>/hops/<n>-<version>.
  const dir = [ctx.workDir, dirname(dirname(ctx.workDir))].map((d) => basename(d)).find((d) => RUN_DIR.test(d));
  return ctx.journal?.data.runId ?? dir ?? 'run-id';
}

async function hopOf(ctx: RunContext): Promise<SchedulerHop> {
  return {
    from: ctx.verdict.current,
    to: ctx.verdict.target,
    namespace: ns(ctx),
    live: ctx.facts.controlPlaneWorkloads,
    rendered: ctx.rendered,
    recreations: await statefulSetsToRecreateNow(ctx),
  };
}

interface PlannedSnapshot {
  name: string;
  claim: string;
  className: string;
  /** Which class and why. */
  why: string;
}

interface Protection {
  snapshots: PlannedSnapshot[];
  /** Why the data cannot be snapshotted (all of it), when it cannot. */
  unprotected?: string;
  /** Drivers of the claims without a fitting class, for the hint. */
  drivers: string[];
  /** Claims not bound yet: they hold no data. */
  unbound: string[];
}

/** A snapshot per bound scheduler claim, each with the class that fits its driver. */
async function protection(ctx: RunContext, risk: SchedulerDataRisk): Promise<Protection> {
  const { kubectl } = ctx.tools;
  if (risk.inMemory)
    return { snapshots: [], unprotected: 'the scheduler keeps its data in memory, where no snapshot reaches', drivers: [], unbound: [] };
  const [classes, claims] = await Promise.all([
    kubectl.listIfServed<VolumeSnapshotClass>(...classesRead()),
    kubectl.list<PersistentVolumeClaim>(...claimsRead(ctx)),
  ]);
  const scheduler = schedulerClaims(claims, ns(ctx));
  const bound = scheduler.filter((c) => c.status?.phase === 'Bound');
  const storageClasses = ctx.checkObjects?.unreadable.includes('storageclasses') ? undefined : ctx.checkObjects?.storageClasses;
  const runId = runIdOf(ctx);
  const snapshots: PlannedSnapshot[] = [];
  const gaps: string[] = [];
  const drivers = new Set<string>();
  for (const claim of bound) {
    const driver = claimDriver(claim, storageClasses);
    const choice = chooseSnapshotClass(classes, driver);
    if (!choice.class) {
      gaps.push(choice.why);
      if (driver) drivers.add(driver);
      continue;
    }
    const name = snapshotName(claim.metadata.name, ctx.verdict.target, runId);
    snapshots.push({ name, claim: claim.metadata.name, className: choice.class.metadata.name, why: choice.why });
  }
  const unbound = scheduler.filter((c) => c.status?.phase !== 'Bound').map((c) => c.metadata.name);
  const unprotected = gaps.length ? [...new Set(gaps)].join('; ') : undefined;
  return { snapshots: unprotected ? [] : snapshots, drivers: [...drivers], unbound, ...(unprotected ? { unprotected } : {}) };
}

function lossRefusal(ctx: RunContext, risk: SchedulerDataRisk, p: Protection): DaprupError {
  const install = `install the CSI snapshot CRDs and snapshot-controller (github.com/kubernetes-csi/external-snapshotter) and a VolumeSnapshotClass for driver ${p.drivers.join(', ') || "of the scheduler's claims"}, then run again`;
  return refusal(
    `Upgrading ${ctx.verdict.current} → ${ctx.verdict.target} loses the scheduler's ${risk.lost}, because ${risk.why}; it cannot be snapshotted first: ${p.unprotected}.`,
    risk.inMemory
      ? 'Accept the loss with --accept-scheduler-data-loss.'
      : `To keep them, ${install}; or accept the loss with --accept-scheduler-data-loss.`,
  );
}

const acceptedNote = (risk: SchedulerDataRisk, p: Protection) =>
  `the loss of the scheduler's ${risk.lost} was accepted (--accept-scheduler-data-loss): ${p.unprotected}`;

/**
 * Refuses, before anything in the cluster changes, a hop that loses scheduler data no VolumeSnapshotClass can
 * keep, unless the user accepted the loss (--accept-scheduler-data-loss).
 */
export async function refuseUnprotectedSchedulerLoss(ctx: RunContext): Promise<void> {
  if (ctx.options.acceptSchedulerDataLoss) return;
  const risk = schedulerDataAtRisk(await hopOf(ctx));
  if (!risk) return;
  const p = await protection(ctx, risk);
  if (p.unprotected) throw lossRefusal(ctx, risk, p);
}

/** This hop's snapshots among those the journal recorded (`namespace/name`). */
function recordedForHop(ctx: RunContext): string[] {
  const suffix = snapshotSuffix(ctx.verdict.target, runIdOf(ctx));
  return (ctx.journal?.data.schedulerSnapshots ?? []).filter((ref) => ref.endsWith(suffix));
}

/** The recorded snapshots of this hop that are missing or not ready, each with why. */
async function notReady(ctx: RunContext, recorded: readonly string[]): Promise<string[]> {
  const live = await ctx.tools.kubectl.listIfServed<VolumeSnapshot>(...snapshotsRead(ctx));
  return recorded.flatMap((ref) => {
    const vs = live.find((s) => `${s.metadata.namespace}/${s.metadata.name}` === ref);
    if (!vs) return [`${ref} is missing`];
    if (vs.status?.readyToUse === true) return [];
    return [`${ref} is not ready to use${vs.status?.error?.message ? ` (${vs.status.error.message})` : ''}`];
  });
}

export const protectSchedulerData: Step = {
  id: 'protect-scheduler-data',
  title: 'Snapshot the scheduler data',
  async plan(ctx) {
    const { kubectl } = ctx.tools;
    const hop = await hopOf(ctx);
    const risk = schedulerDataAtRisk(hop);
    const kept = recreationKeepsData(hop);
    if (!risk) {
      const skip = 'this upgrade loses no scheduler data';
      return { summary: skip, commands: [], destructive: false, skip, details: kept ? [kept] : [] };
    }
    const p = await protection(ctx, risk);
    const reads = [kubectl.getArgv(...classesRead()), kubectl.getArgv(...claimsRead(ctx))];
    if (p.unprotected) {
      if (ctx.options.acceptSchedulerDataLoss) {
        const skip = acceptedNote(risk, p);
        return { summary: skip, commands: [], destructive: false, skip };
      }
      const refused = lossRefusal(ctx, risk, p);
      return { summary: `refused: ${refused.message}`, commands: reads, destructive: false, details: [refused.hint] };
    }
    if (!p.snapshots.length) {
      const skip = `no scheduler claim is bound yet, so none holds data${p.unbound.length ? ` (${p.unbound.join(', ')})` : ''}`;
      return { summary: skip, commands: [], destructive: false, skip };
    }
    const classes = [...new Set(p.snapshots.map((s) => s.className))].join(', ');
    return {
      summary: `Snapshot ${p.snapshots.map((s) => s.claim).join(', ')} (class ${classes}) first: the upgrade loses the scheduler's ${risk.lost}, because ${risk.why}`,
      commands: [
        ...reads,
        ...p.snapshots.map(() => kubectl.commandLine(...kubectl.applyServerSideArgs('-'))),
        ...p.snapshots.map((s) =>
          kubectl.commandLine(...kubectl.waitJsonPathArgs(ns(ctx), snapshotRef(s.name), ...READY, ctx.options.timeout)),
        ),
      ],
      destructive: false,
      details: [
        ...p.snapshots.map((s) => `VolumeSnapshot ${s.name} of ${s.claim}: class ${s.why}`),
        ...(p.unbound.length ? [`Not bound, so holding no data: ${p.unbound.join(', ')}`] : []),
      ],
    };
  },
  async isDone(ctx) {
    const recorded = recordedForHop(ctx);
    return recorded.length > 0 && (await notReady(ctx, recorded)).length === 0;
  },
  async apply(ctx, report) {
    const { kubectl } = ctx.tools;
    const risk = schedulerDataAtRisk(await hopOf(ctx));
    if (!risk) return;
    const p = await protection(ctx, risk);
    if (p.unprotected) {
      if (!ctx.options.acceptSchedulerDataLoss) throw lossRefusal(ctx, risk, p);
      report(acceptedNote(risk, p));
      return;
    }
    if (!p.snapshots.length) return;
    report(`snapshotting ${p.snapshots.map((s) => s.claim).join(', ')} (${[...new Set(p.snapshots.map((s) => s.why))].join('; ')})`);
    const namespace = ns(ctx);
    const runId = runIdOf(ctx);
    // Applied, not created: a resumed run finds its snapshots under the same names and leaves them as they are.
    for (const s of p.snapshots) {
      try {
        await kubectl.applyObject(volumeSnapshot({ name: s.name, namespace, claim: s.claim, className: s.className, runId }));
      } catch (e) {
        throw explain(e, `Creating VolumeSnapshot ${s.name} of ${s.claim}`);
      }
    }
    for (const s of p.snapshots) {
      report(`waiting for VolumeSnapshot ${s.name} to be ready to use`);
      try {
        await kubectl.waitJsonPath(namespace, snapshotRef(s.name), ...READY, ctx.options.timeout);
      } catch {
        const [why] = await notReady(ctx, [`${namespace}/${s.name}`]).catch(() => [undefined]);
        throw new DaprupError(
          `VolumeSnapshot ${namespace}/${s.name} of ${s.claim} did not become ready to use within ${ctx.options.timeout}${why ? `: ${why}` : ''}.`,
          `kubectl describe volumesnapshot ${s.name} -n ${namespace} shows the snapshot-controller's events; fix the cause and run again (the snapshot is reused), or accept the loss with --accept-scheduler-data-loss.`,
          ExitCode.stepFailed,
        );
      }
    }
    const others = (ctx.journal?.data.schedulerSnapshots ?? []).filter((ref) => !p.snapshots.some((s) => ref === `${namespace}/${s.name}`));
    await ctx.journal?.setSchedulerSnapshots([...others, ...p.snapshots.map((s) => `${namespace}/${s.name}`)]);
  },
  async verify(ctx) {
    const [first] = await notReady(ctx, recordedForHop(ctx));
    if (first) throw new Error(`The scheduler snapshot ${first}`);
  },
};

/**
 * What the hop needs of the cluster, for preflight: a StorageClass for the scheduler claims it creates, and nodes
 * enough for the anti-affinity of workloads that gain replicas (or all spread ones when HA is on after the hop).
 * Reads the nodes only when some workload needs them; `commands` are those reads.
 */
export async function hopPrerequisites(ctx: RunContext): Promise<{ commands: string[][]; findings: HopFinding[] }> {
  const { kubectl } = ctx.tools;
  const objects = ctx.checkObjects;
  const readable = (kind: string) => !!objects && !objects.unreadable.includes(kind);
  const hop = { live: ctx.facts.controlPlaneWorkloads, rendered: ctx.rendered, namespace: ns(ctx) };
  const claims = readable('persistentvolumeclaims') ? objects!.claims : undefined;
  const findings: HopFinding[] = [];
  const storage = storageClassFinding(hop, claims, readable('storageclasses') ? objects!.storageClasses : undefined);
  if (storage) findings.push(storage);
  const liveReplicas = (kind: string, name: string) =>
    ctx.facts.controlPlaneWorkloads.find((w) => w.kind === kind && w.metadata.name === name)?.spec.replicas ?? 0;
  const spread = spreadWorkloads(ctx.rendered).filter((w) => ctx.haAfter || liveReplicas(w.kind, w.metadata.name) < (w.spec.replicas ?? 1));
  if (!spread.length) return { commands: [], findings };
  try {
    findings.push(...nodeFindings(spread, await kubectl.list<Node>('nodes')));
  } catch {
    findings.push({
      severity: 'warn',
      message: `The nodes could not be read (kubectl get nodes), so whether they can hold ${spread.map((w) => `${w.metadata.name}'s ${w.spec.replicas} replicas`).join(', ')} apart is not checked.`,
    });
  }
  return { commands: [kubectl.getArgv('nodes')], findings };
}
