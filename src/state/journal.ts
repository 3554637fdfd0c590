// The run journal: what a run has done, so an interrupted run resumes where it stopped and never repeats
// finished work. One journal per cluster + namespace + release, written atomically at every transition and
// locked against a second local run. It never holds secret material.
import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import type { ConfigMap, K8sObject } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import { DaprupError, ExitCode, refusal } from '../errors.js';
import { processAlive } from './process.js';

export const JOURNAL_SCHEMA = 1;

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepRecord {
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface RestartRecord {
  /** restarting: `rollout restart` was about to run; restarted: it ran; done: the rollout finished. */
  status: 'restarting' | 'restarted' | 'done';
  /** The pod template's restartedAt before our restart, to tell after a crash whether it happened. */
  before?: string;
}

/** A certificate rotation's progress beyond its steps: the mode, and when each phase's bundle went live. */
export interface RotationRecord {
  mode: 'renew-issuer' | 'replace-root';
  /** Phase step id → when its trust bundle was in the cluster (pods created before then still need a restart). */
  appliedAt: Record<string, string>;
}

/**
 * One hop of a run that crosses several minors (1.15 → 1.16 → 1.17): the upgrade runbook's steps and restarts of
 * that hop. The run's own `steps` stay empty; its `from` and `target` are the whole path's.
 */
export interface HopRecord {
  from: string;
  to: string;
  /** Whether this hop restarts the data plane (the path decides: when it would fall >1 minor behind, and last). */
  restartDataPlane: boolean;
  /** When the hop began and the Helm revision then: its restarts and its helm upgrade are judged from there. */
  startedAt?: string;
  startRevision?: number;
  steps: Record<string, StepRecord>;
  restarts: Record<string, RestartRecord>;
}

export interface JournalData {
  schemaVersion: number;
  /** What the run does: an upgrade (the default, also for journals written before rotations existed) or a rotation. */
  kind?: 'upgrade' | 'rollback' | 'rotate';
  runId: string;
  clusterId: string;
  namespace: string;
  release: string;
  from: string;
  target: string;
  planHash: string;
  /** The Helm revision when the run started: a later deployed revision at the target is this run's upgrade. */
  startRevision: number;
  /** The Dapr namespace's uid: a journal of an earlier installation (namespace deleted and recreated) is stale. */
  namespaceUid?: string;
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'done' | 'failed' | 'abandoned';
  /** The run's steps in order: the upgrade runbook's, or a rotation's phases. */
  steps: Record<string, StepRecord>;
  restarts: Record<string, RestartRecord>;
  trustBundleChecksums?: Record<string, string>;
  rotation?: RotationRecord;
  /** A rollback: the Helm revision whose chart and values it goes back to (a resumed rollback goes there too). */
  rollbackRevision?: number;
  /** A run of several hops: each hop's steps and restarts (the journal's own `steps` are then empty). */
  hops?: HopRecord[];
  /** VolumeSnapshots taken of the scheduler's claims before a step that loses their data (namespace/name). */
  schedulerSnapshots?: string[];
  runDir: string;
}

export interface NewJournal {
  runId: string;
  kind?: JournalData['kind'];
  from: string;
  target: string;
  planHash: string;
  startRevision: number;
  namespaceUid?: string;
  /** Step ids in order (default the upgrade's, as the store was given them). */
  steps?: readonly string[];
  rotation?: RotationRecord;
  rollbackRevision?: number;
  /** A run of several hops (two or more): each gets the upgrade's steps. */
  hops?: Pick<HopRecord, 'from' | 'to' | 'restartDataPlane'>[];
}

/** Read-only all the way down (JournalData holds plain JSON: records, strings, numbers). */
type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
/**
 * A journal's data to read; it changes only through Journal's methods, each of which writes it. (trustBundleChecksums
 * stays assignable until src/runbook/steps/trust-bundle.ts calls setTrustBundleChecksums instead.)
 */
export type JournalView = DeepReadonly<JournalData>;

/** Steps added to the upgrade since a journal was written have simply not run yet (appended, pending). */
function withAllSteps(data: JournalData, upgradeSteps: readonly string[]): JournalData {
  if (data.kind === 'rotate' || !data.steps) return data;
  if (data.hops) for (const hop of data.hops) for (const id of upgradeSteps) hop.steps[id] ??= { status: 'pending' };
  else for (const id of upgradeSteps) data.steps[id] ??= { status: 'pending' };
  return data;
}

const unfinished = (steps: JournalView['steps']) =>
  Object.entries(steps).find(([, r]) => r.status !== 'done' && r.status !== 'skipped')?.[0];

/** The step a run stopped at: the first not done or skipped, in the journal's own order (`1.17.13/helm-upgrade` in a hop). */
export function stoppedAt(data: Pick<JournalView, 'steps' | 'hops'>): string | undefined {
  if (!data.hops) return unfinished(data.steps);
  for (const hop of data.hops) {
    const step = unfinished(hop.steps);
    if (step) return `${hop.to}/${step}`;
  }
  return undefined;
}

/** The first hop of a run of several with a step left to do (undefined when all are done, or for a one-hop run). */
export const currentHop = (data: Pick<JournalView, 'hops'>): number | undefined => {
  const i = data.hops?.findIndex((h) => unfinished(h.steps) !== undefined);
  return i === undefined || i < 0 ? undefined : i;
};

export interface JournalKey {
  clusterId: string;
  namespace: string;
  release: string;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

export class JournalStore {
  /** `upgradeSteps`: the upgrade runbook's step ids in order, for new upgrade journals and to complete older ones. */
  constructor(
    readonly stateDir: string,
    private readonly upgradeSteps: readonly string[],
  ) {}

  dir(key: JournalKey): string {
    return join(this.stateDir, safe(key.clusterId), safe(key.namespace), safe(key.release));
  }

  file(key: JournalKey): string {
    return join(this.dir(key), 'journal.json');
  }

  async read(key: JournalKey): Promise<JournalData | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let data: JournalData;
    try {
      data = JSON.parse(text) as JournalData;
    } catch {
      throw refusal(
        `The run journal ${this.file(key)} is corrupted.`,
        'Move it aside and run again; check `daprup status` first to see what the cluster looks like.',
      );
    }
    if (data.schemaVersion !== JOURNAL_SCHEMA || !data.steps || !data.runId) {
      throw refusal(
        `The run journal ${this.file(key)} has an unknown format (schema ${String(data.schemaVersion)}).`,
        'It was written by another daprup version: finish the run with that version, or move the file aside.',
      );
    }
    if (data.clusterId !== key.clusterId) {
      throw refusal(
        `The run journal ${this.file(key)} belongs to another cluster (${data.clusterId}).`,
        'Check --kube-context; move the file aside if it was copied by mistake.',
      );
    }
    return withAllSteps(data, this.upgradeSteps);
  }

  /** The copy of `key`'s journal in the cluster, read with the same steps as the local one. */
  inCluster(kubectl: Kubectl, key: JournalKey): ClusterJournal {
    return new ClusterJournal(kubectl, key, this.upgradeSteps);
  }

  /** Takes the local lock for this release; a second daprup on this machine is refused. */
  async lock(key: JournalKey): Promise<() => Promise<void>> {
    const dir = this.dir(key);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
    } catch {
      throw new DaprupError(
        `The state directory ${this.stateDir} is not writable.`,
        'Pass a writable --state-dir (or set $DAPRUP_STATE_DIR).',
        ExitCode.usage,
      );
    }
    const lockPath = join(dir, 'run.lock');
    const ownerPath = join(dir, 'run.lock.owner');
    const take = async () => {
      const release = await lockfile.lock(dir, { lockfilePath: lockPath, stale: 30_000, update: 10_000, realpath: false });
      await writeFileAtomic(ownerPath, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      return release;
    };
    try {
      return await take();
    } catch {
      // A run killed on this machine leaves its lock behind; its process is gone, so the lock is free.
      const owner = await readFile(ownerPath, 'utf8')
        .then((t) => JSON.parse(t) as { pid: number; host: string; since: string })
        .catch(() => undefined);
      if (owner && owner.host === hostname() && !processAlive(owner.pid)) {
        await rm(lockPath, { recursive: true, force: true });
        try {
          return await take();
        } catch {
          /* someone else was faster: refuse below */
        }
      }
      const who = owner ? ` (pid ${owner.pid} on ${owner.host}, since ${owner.since})` : '';
      throw refusal(
        `Another daprup run holds the lock for release ${key.release} in ${key.namespace}${who}.`,
        'Wait for it to finish; a lock whose holder died goes stale after 30 seconds.',
      );
    }
  }

  newRunId(): string {
    return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  }

  runDir(key: JournalKey, runId: string): string {
    return join(this.dir(key), 'runs', runId);
  }

  /** A new run's journal, not yet written; `mirror`: its copy in the cluster, written with it. */
  create(key: JournalKey, o: NewJournal, mirror?: ClusterJournal): Journal {
    const now = new Date().toISOString();
    const pending = (ids: readonly string[]) =>
      Object.fromEntries(ids.map((id) => [id, { status: 'pending' }])) as Record<string, StepRecord>;
    const steps = o.hops ? {} : pending(o.steps ?? this.upgradeSteps);
    const { steps: _ids, hops, ...rest } = o;
    const data: JournalData = {
      schemaVersion: JOURNAL_SCHEMA,
      ...rest,
      kind: o.kind ?? 'upgrade',
      ...key,
      createdAt: now,
      updatedAt: now,
      status: 'running',
      steps,
      restarts: {},
      ...(hops ? { hops: hops.map((h) => ({ ...h, steps: pending(this.upgradeSteps), restarts: {} })) } : {}),
      runDir: this.runDir(key, o.runId),
    };
    return new Journal(this.file(key), data, mirror);
  }

  /** Opens a journal read here or from the cluster; its run directory is always a local one. */
  open(key: JournalKey, data: JournalData, mirror?: ClusterJournal): Journal {
    return new Journal(this.file(key), { ...data, runDir: this.runDir(key, data.runId) }, mirror);
  }
}

/** The journal's copy in the cluster: a ConfigMap beside the release, so a run resumes from any machine. */
export class ClusterJournal {
  readonly namespace: string;
  readonly release: string;

  /** Made by JournalStore.inCluster, which knows the upgrade's steps. */
  constructor(
    private readonly kubectl: Kubectl,
    where: Pick<JournalKey, 'namespace' | 'release'>,
    private readonly upgradeSteps: readonly string[],
  ) {
    this.namespace = where.namespace;
    this.release = where.release;
  }

  get name(): string {
    return `daprup-run-${this.release}`;
  }

  async read(): Promise<JournalData | undefined> {
    const cm = await this.kubectl.getOptional<ConfigMap>('configmap', this.name, this.namespace);
    const text = cm?.data?.['journal.json'];
    if (!text) return undefined;
    try {
      return withAllSteps(JSON.parse(text) as JournalData, this.upgradeSteps);
    } catch {
      throw refusal(
        `The run journal in ConfigMap ${this.name} (${this.namespace}) is corrupted.`,
        `Delete it (kubectl delete configmap ${this.name} -n ${this.namespace}) after checking \`daprup status\`.`,
      );
    }
  }

  async write(data: JournalView): Promise<void> {
    await this.kubectl.applyObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'daprup' },
        annotations: { 'daprup.io/schema-version': String(JOURNAL_SCHEMA), 'daprup.io/run-id': data.runId },
      },
      data: { 'journal.json': JSON.stringify(data, null, 2) },
    } as K8sObject);
  }
}

/** Cluster writes between step transitions are coalesced: at most one per this many ms. */
const MIRROR_EVERY_MS = 2_000;

export class Journal {
  private lastMirror = 0;
  private mirrorStale = false;

  /**
   * `mirror`: the journal's copy in the cluster, written with the local file (see save). `hopIndex`: this journal
   * is one hop's view of a run of several (made by `hop(i)`): the runbook's steps read and write that hop only.
   */
  constructor(
    readonly path: string,
    private readonly record: JournalData,
    private readonly mirror?: ClusterJournal,
    private readonly hopIndex?: number,
  ) {}

  /**
   * What the run has done; it changes only through the methods below, each of which writes it. In a hop's view:
   * the hop's steps and restarts, its versions, and its start (time and revision) as the run's.
   */
  get data(): JournalView {
    const hop = this.currentHopRecord();
    if (!hop) return this.record;
    return {
      ...this.record,
      from: hop.from,
      target: hop.to,
      createdAt: hop.startedAt ?? this.record.createdAt,
      startRevision: hop.startRevision ?? this.record.startRevision,
      steps: hop.steps,
      restarts: hop.restarts,
    };
  }

  private currentHopRecord(): HopRecord | undefined {
    if (this.hopIndex === undefined) return undefined;
    const hop = this.record.hops?.[this.hopIndex];
    if (!hop) throw new Error(`run ${this.record.runId} has no hop ${this.hopIndex}`);
    return hop;
  }

  /** Hop `i` of a run of several, begun (its start time and Helm revision written) if it had not begun yet. */
  async hop(i: number, revision: number): Promise<Journal> {
    const hop = this.record.hops?.[i];
    if (!hop) throw new Error(`run ${this.record.runId} has no hop ${i}`);
    if (!hop.startedAt) {
      hop.startedAt = new Date().toISOString();
      hop.startRevision = revision;
      await this.save();
    }
    return new Journal(this.path, this.record, this.mirror, i);
  }

  /** Writes the local file, and the cluster copy (always when `force`, else at most every 2 s). */
  async save(force = true): Promise<void> {
    this.record.updatedAt = new Date().toISOString();
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, `${JSON.stringify(this.record, null, 2)}\n`, { mode: 0o600 });
    if (!this.mirror) return;
    if (!force && !this.mirrorStale && Date.now() - this.lastMirror < MIRROR_EVERY_MS) {
      this.mirrorStale = true;
      return;
    }
    try {
      await this.mirror.write(this.record);
      this.lastMirror = Date.now();
      this.mirrorStale = false;
    } catch {
      // The local copy is exact; the cluster copy catches up at the next write.
      this.mirrorStale = true;
    }
  }

  /** Progress inside a step (restarts): local at once, cluster coalesced. */
  private async saveProgress(): Promise<void> {
    await this.save(false);
  }

  private stepRecord(id: string): StepRecord {
    const steps = (this.currentHopRecord() ?? this.record).steps;
    steps[id] ??= { status: 'pending' };
    return steps[id];
  }

  step(id: string): Readonly<StepRecord> {
    return this.stepRecord(id);
  }

  async setStep(id: string, status: StepStatus, error?: string): Promise<void> {
    const now = new Date().toISOString();
    const rec = this.stepRecord(id);
    rec.status = status;
    if (status === 'running') rec.startedAt = now;
    else rec.finishedAt = now;
    if (error) rec.error = error;
    else delete rec.error;
    await this.save();
  }

  /** The run goes on after an interruption or a failure: running again, written here and in the cluster. */
  async resume(): Promise<void> {
    this.record.status = 'running';
    await this.save();
  }

  /** Restart progress of workloads (by key), recorded together and written as progress. */
  async markRestarts(records: Readonly<Record<string, RestartRecord>>): Promise<void> {
    Object.assign((this.currentHopRecord() ?? this.record).restarts, records);
    await this.saveProgress();
  }

  /** When a rotation phase's trust bundle went live: pods created before then still need a restart. */
  async setPhaseApplied(phaseId: string, at: string): Promise<void> {
    if (!this.record.rotation) throw new Error(`run ${this.record.runId} is not a trust-bundle rotation`);
    this.record.rotation.appliedAt[phaseId] = at;
    await this.save();
  }

  /** The checksums of the exported trust bundle files, to notice a regenerated bundle later. */
  async setTrustBundleChecksums(checksums: Record<string, string>): Promise<void> {
    this.record.trustBundleChecksums = checksums;
    await this.save();
  }

  /** The VolumeSnapshots taken of the scheduler's claims (namespace/name), once each is ready to use. */
  async setSchedulerSnapshots(names: readonly string[]): Promise<void> {
    this.record.schedulerSnapshots = [...names];
    await this.save();
  }

  /** The run ends (done, failed, abandoned). A hop's view that is done only writes it: the run goes on to its next hop. */
  async finish(status: JournalData['status']): Promise<void> {
    if (this.hopIndex === undefined || status !== 'done') this.record.status = status;
    await this.save();
  }
}

/**
 * The one rule for "the unfinished run" of a release (upgrade, rotation and status agree on it): the newer of this
 * machine's journal and the cluster's copy that is still running or failed; none when the cluster's copy says a
 * later run finished.
 */
export function unfinishedRun(local: JournalData | undefined, remote: JournalData | undefined): JournalData | undefined {
  const open = [local, remote].filter((j): j is JournalData => !!j && (j.status === 'running' || j.status === 'failed'));
  if (
    remote &&
    local &&
    remote.runId !== local.runId &&
    (remote.status === 'done' || remote.status === 'abandoned') &&
    remote.updatedAt > local.updatedAt
  )
    return undefined;
  return open.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
}
