// Rolling restarts of Dapr-enabled workloads, shared by the restart-data-plane step and `daprup restart`.
// Work goes in waves of `concurrency` workloads: one `kubectl rollout restart` per namespace in the wave,
// then `rollout status` for each. Progress goes to the run journal before and after each restart, so a
// resumed run never restarts a workload twice.
import pLimit from 'p-limit';
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
  const todo: DataPlaneWorkload[] = [];
  for (const w of ordered) {
    const rec = journal?.data.restarts[w.key];
    if (rec?.status === 'done') outcome.skipped.push(w.key);
    else todo.push(w);
  }
  const concurrency = Math.max(1, o.concurrency);
  for (let i = 0; i < todo.length; i += concurrency) {
    const wave = todo.slice(i, i + concurrency);
    const toRestart: DataPlaneWorkload[] = [];
    for (const w of wave) {
      const rec = journal?.data.restarts[w.key];
      if (rec?.status === 'restarted' || (rec?.status === 'restarting' && (await restartHappened(kubectl, w, rec.before)))) outcome.resumed.push(w.key);
      else toRestart.push(w);
    }
    if (journal && toRestart.length) {
      for (const w of toRestart) journal.data.restarts[w.key] = { status: 'restarting', before: w.restartedAt };
      await journal.saveProgress();
    }
    for (const [ns, ws] of byNamespace(toRestart)) {
      try {
        await kubectl.rolloutRestart(ns, ws.map(ref));
      } catch (e) {
        throw explain(e, `Restarting workloads in ${ns}`);
      }
      if (journal) {
        for (const w of ws) journal.data.restarts[w.key] = { status: 'restarted', before: w.restartedAt };
        await journal.saveProgress();
      }
      o.report(`restarted ${ws.map(ref).join(', ')} in ${ns}`);
      outcome.restarted.push(...ws.map((w) => w.key));
    }
    const limit = pLimit(concurrency);
    await Promise.all(wave.map((w) => limit(async () => {
      try {
        await kubectl.rolloutStatus(w.namespace, ref(w), o.timeout);
      } catch (e) {
        throw explain(e, `Waiting for ${w.namespace}/${ref(w)}`);
      }
      if (journal) await journal.setRestart(w.key, { status: 'done', before: journal.data.restarts[w.key]?.before });
    })));
    o.report(`${Math.min(i + concurrency, todo.length)}/${todo.length} workloads rolled out`);
  }
  return outcome;
}
