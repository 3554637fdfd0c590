// Restarts of Dapr-enabled workloads, shared by the restart-data-plane step and `daprup restart`: rolling restarts
// (`kubectl rollout restart`, an Argo Rollout's spec.restartAt) and, where the user allowed it, pods replaced one at
// a time (OnDelete StatefulSets and DaemonSets, bare ReplicaSets, bare Pods from their last-applied manifest).
// A sliding window of `concurrency` rollouts: as soon as one finishes (`rollout status`), the next workload is
// restarted, so one slow rollout never holds the others back (waves waited for their slowest member). Restarts
// are batched: one `kubectl rollout restart` per namespace for whatever is ready to start, and while one is
// running, the workloads whose turn comes wait to join the next. Progress goes to the run journal before and
// after each restart, so a resumed run never restarts a workload twice.
import { podReady, type Pod, type Workload } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import { podsBehind, RESTARTED_AT, type DataPlaneWorkload } from '../dapr/data-plane.js';
import { explain } from '../dapr/error-hints.js';
import type { Journal, RestartRecord } from '../state/journal.js';

export interface RestartOptions {
  concurrency: number;
  timeout: string;
  /** The daprd version pods must run; pods already at it are not replaced. */
  target: string;
  journal?: Journal;
  report: (message: string) => void;
}

export interface RestartOutcome {
  restarted: string[];
  resumed: string[];
  skipped: string[];
}

/** How long a freed slot waits for others to free up before its restart goes out (see fill). */
const GATHER_MS = 150;

/** How kubectl names the workload's resource type. */
const resourceOf = (w: DataPlaneWorkload) => (w.kind === 'Rollout' ? 'rollouts.argoproj.io' : w.kind.toLowerCase());
const ref = (w: DataPlaneWorkload) => `${resourceOf(w)}/${w.name}`;
const byPods = (w: DataPlaneWorkload) => w.method === 'delete-pods' || w.method === 'replace-pod';
/** Argo's restartAt, to the second as `kubectl argo rollouts restart` writes it. */
const nowRfc3339 = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** A helm/kubectl duration (`10m`, `1h30m`, `90s`) in milliseconds. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const [, n, u] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * unit[u!]!;
  return ms;
}

function byNamespace(ws: readonly DataPlaneWorkload[]): Map<string, DataPlaneWorkload[]> {
  const m = new Map<string, DataPlaneWorkload[]>();
  for (const w of ws) m.set(w.namespace, [...(m.get(w.namespace) ?? []), w]);
  return m;
}

/** After a crash between "restarting" and "restarted": did the restart reach the API server? */
async function restartHappened(kubectl: Kubectl, w: DataPlaneWorkload, before: string | undefined): Promise<boolean> {
  const live = await kubectl.getOptional<Workload>(resourceOf(w), w.name, w.namespace);
  const now = w.kind === 'Rollout' ? live?.spec.restartAt : live?.spec.template.metadata?.annotations?.[RESTARTED_AT];
  return (now ?? undefined) !== before;
}

/**
 * The Argo Rollouts controller evicts the pods created before spec.restartAt, then records it as
 * status.restartedAt (rollout/restart.go), while the last replacements may still be starting; it is done when that
 * matches and the phase is Healthy again (what `kubectl argo rollouts status` waits for).
 */
async function waitRolloutRestarted(kubectl: Kubectl, w: DataPlaneWorkload, timeout: string): Promise<void> {
  const live = await kubectl.getOptional<Workload>(resourceOf(w), w.name, w.namespace);
  const at = live?.spec.restartAt;
  if (at) await kubectl.waitJsonPath(w.namespace, ref(w), '.status.restartedAt', at, timeout);
  await kubectl.waitJsonPath(w.namespace, ref(w), '.status.phase', 'Healthy', timeout);
}

/** The pods a workload rolled by deleting pods owns now (by its selector, or by owner for a bare ReplicaSet). */
async function podsOf(kubectl: Kubectl, w: DataPlaneWorkload): Promise<Pod[]> {
  const pods = await kubectl.listRaw<Pod>('pods', { namespace: w.namespace, selector: w.selector });
  return pods.filter(
    (p) => !p.metadata.deletionTimestamp && (w.selector || p.metadata.ownerReferences?.some((o) => o.kind === w.kind && o.name === w.name)),
  );
}

/**
 * Replaces the pods of `w` whose daprd is behind, one at a time: delete one (its controller creates it again, and
 * the injector gives the new pod the new sidecar) and wait until the controller has as many Ready pods as before,
 * the deleted one gone; or, for a bare Pod, delete it and create it again from its last-applied manifest.
 */
async function replacePods(kubectl: Kubectl, w: DataPlaneWorkload, o: RestartOptions): Promise<void> {
  const deadline = durationMs(o.timeout);
  for (const p of podsBehind(w, o.target)) {
    if (w.method === 'replace-pod') {
      await kubectl.replaceForce(w.namespace, p.manifest!);
      await kubectl.waitPodReady(w.namespace, p.name, o.timeout);
      continue;
    }
    await kubectl.deletePod(w.namespace, p.name);
    const until = Date.now() + deadline;
    for (;;) {
      const now = await podsOf(kubectl, w);
      if (now.length >= w.pods && now.every(podReady) && !now.some((x) => x.metadata.uid === p.uid)) break;
      if (Date.now() > until) throw new Error(`the replacement of pod ${p.name} was not Ready within ${o.timeout}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    o.report(`replaced pod ${p.name} of ${ref(w)} in ${w.namespace}`);
  }
}

/** The journal records of workloads about to be (or just) restarted, with their template's restartedAt before it. */
const restartRecords = (ws: readonly DataPlaneWorkload[], status: RestartRecord['status']): Record<string, RestartRecord> =>
  Object.fromEntries(ws.map((w) => [w.key, { status, before: w.restartedAt }]));

/**
 * One restartWorkloads call: a window of `concurrency` slots over a queue of workloads. A slot is held from the
 * moment a workload is taken for a restart until its rollout is seen finishing; the first failure closes the window
 * (nothing new starts) and the window ends when nothing it started is still running.
 */
class RestartWindow {
  private readonly outcome: RestartOutcome = { restarted: [], resumed: [], skipped: [] };
  private readonly journal?: Journal;
  /** What still waits for a slot, in key order. */
  private readonly queue: DataPlaneWorkload[] = [];
  private readonly total: number;
  private readonly concurrency: number;
  /** Progress is reported as often as waves reported it: every `concurrency` rollouts, and the last. */
  private readonly reportEvery: number;
  /** Slots taken: workloads being restarted or waited for. */
  private active = 0;
  private rolledOut = 0;
  /** A restart call is being made: slots freed meanwhile wait to join the next one. */
  private starting = false;
  /** The first failure; undefined while all goes well. */
  private failure: unknown;
  /** Restart calls, rollout waits and gathering pauses in flight: the window ends when none is left. */
  private readonly running = new Set<Promise<void>>();
  private settle!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(
    private readonly kubectl: Kubectl,
    workloads: readonly DataPlaneWorkload[],
    private readonly o: RestartOptions,
  ) {
    this.journal = o.journal;
    for (const w of [...workloads].sort((a, b) => a.key.localeCompare(b.key))) {
      if (this.journal?.data.restarts[w.key]?.status === 'done') this.outcome.skipped.push(w.key);
      else this.queue.push(w);
    }
    this.total = this.queue.length;
    this.concurrency = Math.max(1, o.concurrency);
    this.reportEvery = Math.min(this.concurrency, Math.max(1, this.total));
  }

  async run(): Promise<RestartOutcome> {
    if (!this.queue.length) return this.outcome;
    this.fill(false);
    await this.finished;
    // The first failure stops new restarts; rollouts already started were waited for (and journaled) first.
    if (this.failed) throw this.failure;
    return this.outcome;
  }

  private get failed(): boolean {
    return this.failure !== undefined;
  }

  private fail(e: unknown): void {
    this.failure ??= e;
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => {
      this.running.delete(p);
      if (!this.running.size && (this.failed || (!this.queue.length && !this.active))) this.settle();
    });
  }

  /**
   * Starts queued workloads into free slots; one restart call at a time, so slots freed meanwhile batch up.
   * Rollouts started together finish within moments of each other: a slot that frees while others still run
   * waits GATHER_MS for its neighbours, so they restart in one call instead of one call each.
   */
  private fill(gather = true): void {
    if (this.starting || this.failed || !this.queue.length || this.active >= this.concurrency) return;
    this.starting = true;
    const go = () => {
      if (this.failed) {
        this.starting = false;
        return;
      }
      const batch = this.queue.splice(0, this.concurrency - this.active);
      this.active += batch.length;
      this.track(
        this.start(batch)
          .catch((e: unknown) => this.fail(e))
          .finally(() => {
            this.starting = false;
            this.fill();
          }),
      );
    };
    if (gather && this.active > 0) this.track(new Promise<void>((r) => setTimeout(r, GATHER_MS)).then(go));
    else go();
  }

  /** Takes every free slot's worth of queued workloads; their restarts go in one call per namespace. */
  private async start(batch: readonly DataPlaneWorkload[]): Promise<void> {
    const journal = this.journal;
    const toRestart: DataPlaneWorkload[] = [];
    for (const w of batch) {
      const rec = journal?.data.restarts[w.key];
      if (byPods(w)) {
        // Replaced pod by pod in its wait: what is already at the target is not touched again on resume.
        if (journal) await journal.markRestarts({ [w.key]: { status: 'restarted' } });
        (rec ? this.outcome.resumed : this.outcome.restarted).push(w.key);
        this.waitFor(w);
      } else if (rec?.status === 'restarted' || (rec?.status === 'restarting' && (await restartHappened(this.kubectl, w, rec.before)))) {
        this.outcome.resumed.push(w.key);
        this.waitFor(w);
      } else {
        toRestart.push(w);
      }
    }
    if (!toRestart.length) return;
    if (journal) await journal.markRestarts(restartRecords(toRestart, 'restarting'));
    await Promise.all(
      [...byNamespace(toRestart)].flatMap(([ns, all]) =>
        [all.filter((w) => w.kind !== 'Rollout'), all.filter((w) => w.kind === 'Rollout')]
          .filter((ws) => ws.length)
          .map((ws) => this.restart(ns, ws)),
      ),
    );
  }

  /** One restart call for workloads of one namespace and kind; each is waited for once it went through. */
  private async restart(ns: string, ws: readonly DataPlaneWorkload[]): Promise<void> {
    try {
      if (ws[0]!.kind === 'Rollout')
        await this.kubectl.restartRollout(
          ns,
          ws.map((w) => w.name),
          nowRfc3339(),
        );
      else await this.kubectl.rolloutRestart(ns, ws.map(ref));
    } catch (e) {
      // Not restarted: their slots are free again, and nothing waits for them.
      this.fail(explain(e, `Restarting workloads in ${ns}`));
      this.active -= ws.length;
      return;
    }
    if (this.journal) await this.journal.markRestarts(restartRecords(ws, 'restarted'));
    this.o.report(`restarted ${ws.map(ref).join(', ')} in ${ns}`);
    this.outcome.restarted.push(...ws.map((w) => w.key));
    for (const w of ws) this.waitFor(w);
  }

  /** The rollout of one restarted (or resumed) workload; frees its slot when done. */
  private waitFor(w: DataPlaneWorkload): void {
    this.track(
      (async () => {
        try {
          const wait = byPods(w)
            ? replacePods(this.kubectl, w, this.o)
            : w.kind === 'Rollout'
              ? waitRolloutRestarted(this.kubectl, w, this.o.timeout)
              : this.kubectl.rolloutStatus(w.namespace, ref(w), this.o.timeout);
          await wait.catch((e: unknown) => {
            throw explain(e, `Waiting for ${w.namespace}/${ref(w)}`);
          });
          if (this.journal)
            await this.journal.markRestarts({ [w.key]: { status: 'done', before: this.journal.data.restarts[w.key]?.before } });
          this.rolledOut++;
          if (this.rolledOut % this.reportEvery === 0 || this.rolledOut === this.total)
            this.o.report(`${this.rolledOut}/${this.total} workloads rolled out`);
        } catch (e) {
          this.fail(e);
        } finally {
          this.active--;
          this.fill();
        }
      })(),
    );
  }
}

/** Restarts `workloads`, `o.concurrency` at a time; the first failure is thrown once what started has finished. */
export async function restartWorkloads(
  kubectl: Kubectl,
  workloads: readonly DataPlaneWorkload[],
  o: RestartOptions,
): Promise<RestartOutcome> {
  return new RestartWindow(kubectl, workloads, o).run();
}
