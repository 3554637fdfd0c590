// Rolling restarts of Dapr-enabled workloads, shared by the restart-data-plane step and `daprup restart`.
// A sliding window of `concurrency` rollouts: as soon as one finishes (`rollout status`), the next workload is
// restarted, so one slow rollout never holds the others back (waves waited for their slowest member). Restarts
// are batched: one `kubectl rollout restart` per namespace for whatever is ready to start, and while one is
// running, the workloads whose turn comes wait to join the next. Progress goes to the run journal before and
// after each restart, so a resumed run never restarts a workload twice.
import type { Workload } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import { RESTARTED_AT, type DataPlaneWorkload } from '../dapr/data-plane.js';
import { explain } from '../dapr/discovery.js';
import type { Journal } from '../state/journal.js';

export interface RestartOptions {
  concurrency: number;
  timeout: string;
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

const ref = (w: DataPlaneWorkload) => `${w.kind.toLowerCase()}/${w.name}`;

function byNamespace(ws: readonly DataPlaneWorkload[]): Map<string, DataPlaneWorkload[]> {
  const m = new Map<string, DataPlaneWorkload[]>();
  for (const w of ws) m.set(w.namespace, [...(m.get(w.namespace) ?? []), w]);
  return m;
}

/** After a crash between "restarting" and "restarted": did the restart reach the API server? */
async function restartHappened(kubectl: Kubectl, w: DataPlaneWorkload, before: string | undefined): Promise<boolean> {
  const live = await kubectl.getOptional<Workload>(w.kind.toLowerCase(), w.name, w.namespace);
  return (live?.spec.template.metadata?.annotations?.[RESTARTED_AT] ?? undefined) !== before;
}

export async function restartWorkloads(kubectl: Kubectl, workloads: readonly DataPlaneWorkload[], o: RestartOptions): Promise<RestartOutcome> {
  const outcome: RestartOutcome = { restarted: [], resumed: [], skipped: [] };
  const journal = o.journal;
  const ordered = [...workloads].sort((a, b) => a.key.localeCompare(b.key));
  const queue: DataPlaneWorkload[] = [];
  for (const w of ordered) {
    const rec = journal?.data.restarts[w.key];
    if (rec?.status === 'done') outcome.skipped.push(w.key);
    else queue.push(w);
  }
  const total = queue.length;
  const concurrency = Math.max(1, o.concurrency);
  // Progress as often as waves reported it: every `concurrency` rollouts, and the last.
  const every = Math.min(concurrency, Math.max(1, total));
  let active = 0;
  let rolledOut = 0;
  let starting = false;
  let failure: unknown;
  const running = new Set<Promise<void>>();
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));

  const track = (p: Promise<void>) => {
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      if (!running.size && (failure !== undefined || (!queue.length && !active))) settle();
    });
  };

  /** The rollout of one restarted (or resumed) workload; frees its slot when done. */
  const waitFor = (w: DataPlaneWorkload) => track((async () => {
    try {
      await kubectl.rolloutStatus(w.namespace, ref(w), o.timeout).catch((e: unknown) => { throw explain(e, `Waiting for ${w.namespace}/${ref(w)}`); });
      if (journal) await journal.setRestart(w.key, { status: 'done', before: journal.data.restarts[w.key]?.before });
      rolledOut++;
      if (rolledOut % every === 0 || rolledOut === total) o.report(`${rolledOut}/${total} workloads rolled out`);
    } catch (e) {
      failure ??= e;
    } finally {
      active--;
      fill();
    }
  })());

  /** Takes every free slot's worth of queued workloads; their restarts go in one call per namespace. */
  const start = async (batch: DataPlaneWorkload[]) => {
    const toRestart: DataPlaneWorkload[] = [];
    for (const w of batch) {
      const rec = journal?.data.restarts[w.key];
      if (rec?.status === 'restarted' || (rec?.status === 'restarting' && (await restartHappened(kubectl, w, rec.before)))) {
        outcome.resumed.push(w.key);
        waitFor(w);
      } else {
        toRestart.push(w);
      }
    }
    if (!toRestart.length) return;
    if (journal) {
      for (const w of toRestart) journal.data.restarts[w.key] = { status: 'restarting', before: w.restartedAt };
      await journal.saveProgress();
    }
    await Promise.all([...byNamespace(toRestart)].map(async ([ns, ws]) => {
      try {
        await kubectl.rolloutRestart(ns, ws.map(ref));
      } catch (e) {
        // Not restarted: their slots are free again, and nothing waits for them.
        failure ??= explain(e, `Restarting workloads in ${ns}`);
        active -= ws.length;
        return;
      }
      if (journal) {
        for (const w of ws) journal.data.restarts[w.key] = { status: 'restarted', before: w.restartedAt };
        await journal.saveProgress();
      }
      o.report(`restarted ${ws.map(ref).join(', ')} in ${ns}`);
      outcome.restarted.push(...ws.map((w) => w.key));
      for (const w of ws) waitFor(w);
    }));
  };

  /**
   * Starts queued workloads into free slots; one restart call at a time, so slots freed meanwhile batch up.
   * Rollouts started together finish within moments of each other: a slot that frees while others still run
   * waits GATHER_MS for its neighbours, so they restart in one call instead of one call each.
   */
  function fill(gather = true): void {
    if (starting || failure !== undefined || !queue.length || active >= concurrency) return;
    starting = true;
    const go = () => {
      if (failure !== undefined) {
        starting = false;
        return;
      }
      const batch = queue.splice(0, concurrency - active);
      active += batch.length;
      track(start(batch).catch((e: unknown) => { failure ??= e; }).finally(() => {
        starting = false;
        fill();
      }));
    };
    if (gather && active > 0) track(new Promise<void>((r) => setTimeout(r, GATHER_MS)).then(go));
    else go();
  }

  if (!queue.length) return outcome;
  fill(false);
  await finished;
  // The first failure stops new restarts; rollouts already started were waited for (and journaled) first.
  if (failure !== undefined) throw failure;
  return outcome;
}
