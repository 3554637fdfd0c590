// `daprup restart`: the data-plane step on its own, for workloads whose sidecar differs from the control plane.
import type { Tools } from '../cluster/tools.js';
import { findRelease, listReleases, sharedReleasesOf } from '../dapr/discovery.js';
import { DaprupError, ExitCode } from '../errors.js';
import { judgeDataPlane, unreached, type WorkloadVerdict } from '../dapr/data-plane.js';
import { liveDataPlane } from '../dapr/live-data-plane.js';
import { restartWorkloads, type RestartOutcome } from '../runbook/restart.js';
import type { Prompter } from '../runbook/execute.js';

export interface RestartSidecarsOptions {
  release?: string;
  daprNamespace?: string;
  namespace?: string;
  selector?: string;
  all: boolean;
  /** --recreate-pods and --recreate-bare-pods (see ReachOptions). */
  recreatePods: boolean;
  recreateBarePods: boolean;
  concurrency: number;
  timeout: string;
  prompter: Prompter;
  report: (line: string) => void;
}

export interface RestartReport {
  controlPlaneVersion: string;
  selected: WorkloadVerdict[];
  notes: WorkloadVerdict[];
  /** daprd left behind that daprup does not replace, each with what would. */
  unreached: WorkloadVerdict[];
  outcome?: RestartOutcome;
}

export async function restartSidecars(tools: Tools, o: RestartSidecarsOptions): Promise<RestartReport> {
  const releases = await listReleases(tools);
  const release = await findRelease(tools, { release: o.release, namespace: o.daprNamespace }, releases);
  const version = release.version;
  const reach = {
    recreatePods: o.recreatePods,
    recreateBarePods: o.recreateBarePods,
    sharedReleases: new Set(sharedReleasesOf(releases).map((r) => `${r.namespace}/${r.name}`)),
  };
  const live = judgeDataPlane(
    await liveDataPlane(tools.kubectl, release.namespace, { namespace: o.namespace, selector: o.selector }),
    version,
    reach,
  );
  // --all restarts what rolls by itself; pods replaced one by one are replaced only when behind.
  const selected = live.filter(
    (w) =>
      w.decision === 'restart' ||
      (o.all &&
        w.pods > 0 &&
        w.podsWithSidecar > 0 &&
        ['current', 'pinned'].includes(w.decision) &&
        (w.method === 'rollout-restart' || w.method === 'argo-restart')),
  );
  const notes = live.filter((w) => w.decision === 'pinned' || w.decision === 'no-sidecar' || w.decision === 'shared');
  const out = unreached(live);
  if (!selected.length) return { controlPlaneVersion: version, selected, notes, unreached: out };
  if (
    !(await o.prompter.confirm(
      `Restart ${selected.length} Dapr-enabled workloads (${selected
        .slice(0, 3)
        .map((w) => w.key)
        .join(', ')}${selected.length > 3 ? ', …' : ''})?`,
    ))
  ) {
    throw new DaprupError(
      'Restart not confirmed; nothing was changed.',
      'Run again and confirm, or pass --yes.',
      ExitCode.confirmationNeeded,
    );
  }
  const outcome = await restartWorkloads(tools.kubectl, selected, {
    concurrency: o.concurrency,
    timeout: o.timeout,
    target: version,
    report: o.report,
  });
  return { controlPlaneVersion: version, selected, notes, unreached: out, outcome };
}
