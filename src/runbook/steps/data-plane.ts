// restart-data-plane: every Dapr-enabled workload whose sidecar is not at the target is restarted (existing
// pods keep their old sidecar until recreated). verify: control plane and every sidecar at the target.
import type { Kubectl } from '../../cluster/kubectl.js';
import type { Pod, Workload } from '../../cluster/k8s-types.js';
import { DECISION_NOTES, discoverDataPlane, restartDecision, type DataPlaneWorkload, type RestartDecision } from '../../dapr/data-plane.js';
import { readWorkloads, type ClusterFacts } from '../../dapr/discovery.js';
import { CONTROL_PLANE } from '../../dapr/chart.js';
import { DaprupError, ExitCode } from '../../errors.js';
import { restartWorkloads } from '../restart.js';
import type { RunContext, Step } from '../types.js';
import { controlPlaneLagging } from './control-plane.js';

export interface WorkloadVerdict extends DataPlaneWorkload {
  decision: RestartDecision;
  note: string;
}

export function judgeDataPlane(workloads: readonly DataPlaneWorkload[], version: string): WorkloadVerdict[] {
  return workloads.map((w) => {
    const decision = restartDecision(w, version);
    return { ...w, decision, note: DECISION_NOTES[decision] };
  });
}

export const workloadsToRestart = (facts: Pick<ClusterFacts, 'workloads' | 'pods'>, version: string) =>
  judgeDataPlane(discoverDataPlane(facts.workloads, facts.pods), version).filter((w) => w.decision === 'restart');

/** Three calls for every workload and every pod, however many there are (see readWorkloads, Kubectl.listRaw). */
export async function liveDataPlane(kubectl: Kubectl, controlPlaneNamespace: string, namespace?: string, selector?: string): Promise<DataPlaneWorkload[]> {
  const [workloads, pods] = await Promise.all([
    readWorkloads(kubectl, { namespace, selector }),
    kubectl.listRaw<Pod>('pods', namespace ? { namespace } : {}),
  ]);
  const dataPlane = workloads.filter((w) => !(w.metadata.namespace === controlPlaneNamespace && CONTROL_PLANE.some((c) => c.name === w.metadata.name)));
  return discoverDataPlane(dataPlane, pods);
}

export const restartDataPlane: Step = {
  id: 'restart-data-plane',
  title: 'Restart Dapr-enabled workloads',
  async plan(ctx) {
    const restarts = workloadsToRestart(ctx.facts, ctx.options.target);
    const kubectl = ctx.tools.kubectl;
    const skip = restarts.length ? undefined : 'every Dapr-enabled workload already runs the target sidecar';
    const namespaces = [...new Set(restarts.map((w) => w.namespace))];
    return {
      summary: skip ?? `${restarts.length} workloads in ${namespaces.length} namespaces, ${ctx.options.concurrency} at a time`,
      commands: [
        kubectl.commandLine(...kubectl.rawListArgs('deployments')),
        kubectl.getArgv('statefulsets,daemonsets', { allNamespaces: true }),
        kubectl.commandLine(...kubectl.rawListArgs('pods')),
        ...namespaces.map((ns) => kubectl.commandLine(...kubectl.rolloutRestartArgs(ns, restarts.filter((w) => w.namespace === ns).map((w) => `${w.kind.toLowerCase()}/${w.name}`)))),
      ],
      destructive: !skip,
      skip,
    };
  },
  async isDone(ctx) {
    const live = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target);
    // Workloads this run restarted but whose rollout was not seen finishing still need their wait.
    const unfinished = Object.values(ctx.journal?.data.restarts ?? {}).some((r) => r.status !== 'done');
    return !unfinished && live.every((w) => w.decision !== 'restart');
  },
  async apply(ctx, report) {
    const live = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target);
    const journal = ctx.journal?.data.restarts ?? {};
    // A pod template restarted after this run began was restarted by this run, even when the journal copy
    // read on resume lags behind (it is coalesced in the cluster): only wait for it.
    if (ctx.journal) {
      const runStart = Math.floor(Date.parse(ctx.journal.data.createdAt) / 1000) * 1000;
      for (const w of live) {
        if (w.restartedAt && Date.parse(w.restartedAt) >= runStart && journal[w.key]?.status !== 'done') journal[w.key] = { status: 'restarted', before: journal[w.key]?.before };
      }
    }
    // Restart what is behind, and finish what this run already started.
    const todo = live.filter((w) => w.decision === 'restart' || (journal[w.key] && journal[w.key]!.status !== 'done'));
    for (const w of live.filter((x) => x.decision === 'no-sidecar' || x.decision === 'pinned')) report(`${w.key}: ${w.note}`);
    const out = await restartWorkloads(ctx.tools.kubectl, todo, { concurrency: ctx.options.concurrency, timeout: ctx.options.timeout, journal: ctx.journal, report });
    report(`${out.restarted.length} restarted, ${out.resumed.length} resumed, ${out.skipped.length} already done`);
  },
  async verify() {},
};

export const verify: Step = {
  id: 'verify',
  title: 'Verify control plane and sidecars',
  async plan(ctx) {
    return {
      summary: `every control-plane pod and every Dapr sidecar at ${ctx.options.target} (pinned images reported)`,
      commands: [ctx.tools.kubectl.commandLine(...ctx.tools.kubectl.rawListArgs('pods'))],
      destructive: false,
    };
  },
  async isDone() {
    return false;
  },
  async apply(ctx, report) {
    const lagging = await controlPlaneLagging(ctx);
    const behind = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target);
    for (const w of behind.filter((x) => x.decision === 'pinned' || x.decision === 'no-sidecar')) report(`note: ${w.key} ${w.note}`);
    const stale = behind.filter((w) => w.decision === 'restart');
    if (lagging.length || stale.length) {
      const what = [...lagging, ...stale.map((w) => `${w.key} runs daprd ${w.sidecarVersions.join(', ')}`)];
      throw new DaprupError(`Not everything runs ${ctx.options.target}: ${what.slice(0, 5).join('; ')}${what.length > 5 ? ` and ${what.length - 5} more` : ''}.`, 'Rerun daprup to resume, or `daprup restart` for the workloads.', ExitCode.stepFailed);
    }
    report(`control plane and ${behind.filter((w) => w.decision === 'current').length} workloads at ${ctx.options.target}`);
  },
  async verify() {},
};
