// restart-data-plane: every daprd the run can reach and that is not at the target is replaced (existing pods keep
// their old sidecar until recreated): rolling restarts, Argo Rollouts' restartAt, and with the user's flags pods
// deleted one at a time or bare Pods recreated. verify: control plane and every reachable sidecar at the target;
// what is out of reach is named, and fails the run only with --strict.
import { discoverDataPlane, judgeDataPlane, unreached, type ReachOptions, type WorkloadVerdict } from '../../dapr/data-plane.js';
import { dataPlaneReads, liveDataPlane } from '../../dapr/live-data-plane.js';
import { DaprupError, ExitCode } from '../../errors.js';
import { restartWorkloads } from '../restart.js';
import type { RunContext, Step } from '../types.js';
import { controlPlaneLagging } from './control-plane.js';

/** What this run may reach beyond rolling restarts (its flags) and which workloads Dapr Shared releases own. */
export const reachOf = (ctx: Pick<RunContext, 'options' | 'facts'>): ReachOptions => ({
  recreatePods: ctx.options.recreatePods,
  recreateBarePods: ctx.options.recreateBarePods,
  sharedReleases: new Set(ctx.facts.sharedReleases.map((r) => `${r.namespace}/${r.name}`)),
});

/**
 * In a run of several hops, a hop that leaves the data plane to a later one (it stays within one minor of the
 * control plane meanwhile): why, or undefined when this hop restarts it.
 */
export const dataPlaneHeldBack = (ctx: Pick<RunContext, 'hop'>): string | undefined =>
  ctx.hop && !ctx.hop.restartDataPlane
    ? `the data plane is restarted after the hop to ${ctx.hop.nextRestartAt ?? 'the target'}; until then it stays within one minor of the control plane`
    : undefined;

const listed = (ws: readonly WorkloadVerdict[], n = 5) =>
  `${ws
    .slice(0, n)
    .map((w) => `${w.key} (${w.note})`)
    .join('; ')}${ws.length > n ? ` and ${ws.length - n} more` : ''}`;

export const restartDataPlane: Step = {
  id: 'restart-data-plane',
  title: 'Restart Dapr-enabled workloads',
  async plan(ctx) {
    const held = dataPlaneHeldBack(ctx);
    if (held) return { summary: held, commands: [], destructive: false, skip: held };
    const verdicts = judgeDataPlane(discoverDataPlane(ctx.facts), ctx.options.target, reachOf(ctx));
    const restarts = verdicts.filter((w) => w.decision === 'restart');
    const kubectl = ctx.tools.kubectl;
    const skip = restarts.length ? undefined : 'every daprd daprup can reach already runs the target';
    const rolling = restarts.filter((w) => w.method === 'rollout-restart');
    const namespaces = [...new Set(rolling.map((w) => w.namespace))];
    const out = unreached(verdicts);
    return {
      summary:
        skip ??
        `${restarts.length} workloads in ${new Set(restarts.map((w) => w.namespace)).size} namespaces, ${ctx.options.concurrency} at a time`,
      commands: [
        ...dataPlaneReads(kubectl),
        ...namespaces.map((ns) =>
          kubectl.commandLine(
            ...kubectl.rolloutRestartArgs(
              ns,
              rolling.filter((w) => w.namespace === ns).map((w) => `${w.kind.toLowerCase()}/${w.name}`),
            ),
          ),
        ),
        ...restarts
          .filter((w) => w.method === 'argo-restart')
          .map((w) => kubectl.commandLine(...kubectl.restartRolloutArgs(w.namespace, [w.name], '<now>'))),
        ...restarts
          .filter((w) => w.method === 'delete-pods')
          .flatMap((w) =>
            w.podList
              .filter((p) => p.version !== ctx.options.target)
              .map((p) => kubectl.commandLine(...kubectl.deletePodArgs(w.namespace, p.name))),
          ),
        ...restarts.filter((w) => w.method === 'replace-pod').map((w) => kubectl.commandLine(...kubectl.replaceForceArgs(w.namespace))),
      ],
      destructive: !skip,
      skip,
      details: out.length ? [`out of reach (named by verify; --strict fails on them): ${listed(out, 20)}`] : undefined,
    };
  },
  async isDone(ctx) {
    const live = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target, reachOf(ctx));
    // Workloads this run restarted but whose rollout was not seen finishing still need their wait.
    const unfinished = Object.values(ctx.journal?.data.restarts ?? {}).some((r) => r.status !== 'done');
    return !unfinished && live.every((w) => w.decision !== 'restart');
  },
  async apply(ctx, report) {
    const live = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target, reachOf(ctx));
    // A pod template restarted after this run began was restarted by this run, even when the journal copy
    // read on resume lags behind (it is coalesced in the cluster): only wait for it.
    if (ctx.journal) {
      const recorded = ctx.journal.data.restarts;
      const runStart = Math.floor(Date.parse(ctx.journal.data.createdAt) / 1000) * 1000;
      const seen = live.filter((w) => w.restartedAt && Date.parse(w.restartedAt) >= runStart && recorded[w.key]?.status !== 'done');
      if (seen.length)
        await ctx.journal.markRestarts(
          Object.fromEntries(seen.map((w) => [w.key, { status: 'restarted' as const, before: recorded[w.key]?.before }])),
        );
    }
    // Restart what is behind, and finish what this run already started.
    const restarts = ctx.journal?.data.restarts ?? {};
    const todo = live.filter(
      (w) => w.decision === 'restart' || (restarts[w.key] && restarts[w.key]!.status !== 'done' && w.decision !== 'unreached'),
    );
    for (const w of live.filter((x) => ['no-sidecar', 'pinned', 'unreached'].includes(x.decision))) report(`${w.key}: ${w.note}`);
    const out = await restartWorkloads(ctx.tools.kubectl, todo, {
      concurrency: ctx.options.concurrency,
      timeout: ctx.options.timeout,
      target: ctx.options.target,
      journal: ctx.journal,
      report,
    });
    report(`${out.restarted.length} restarted, ${out.resumed.length} resumed, ${out.skipped.length} already done`);
  },
  async verify() {},
};

export const verify: Step = {
  id: 'verify',
  title: 'Verify control plane and sidecars',
  async plan(ctx) {
    const held = dataPlaneHeldBack(ctx);
    return {
      summary: held
        ? `every control-plane pod at ${ctx.options.target} (sidecars: ${held})`
        : `every control-plane pod and every daprd daprup reaches at ${ctx.options.target}; pinned images and daprd out of reach named${ctx.options.strict ? ' (--strict: out of reach fails)' : ''}`,
      commands: dataPlaneReads(ctx.tools.kubectl),
      destructive: false,
    };
  },
  async isDone() {
    return false;
  },
  async apply(ctx, report) {
    const lagging = await controlPlaneLagging(ctx);
    const held = dataPlaneHeldBack(ctx);
    if (held) {
      // A hop that leaves the sidecars to a later hop verifies its control plane only.
      if (lagging.length)
        throw new DaprupError(
          `Not everything runs ${ctx.options.target}: ${lagging.slice(0, 5).join('; ')}.`,
          'Rerun daprup to resume.',
          ExitCode.stepFailed,
        );
      report(`control plane at ${ctx.options.target}; ${held}`);
      return;
    }
    const verdicts = judgeDataPlane(await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace), ctx.options.target, reachOf(ctx));
    for (const w of verdicts.filter((x) => x.decision === 'pinned' || x.decision === 'no-sidecar')) report(`note: ${w.key} ${w.note}`);
    const stale = verdicts.filter((w) => w.decision === 'restart');
    const out = unreached(verdicts);
    for (const w of out) report(`not reached: ${w.key}: ${w.note}`);
    if (lagging.length || stale.length) {
      const what = [...lagging, ...stale.map((w) => `${w.key} runs daprd ${w.sidecarVersions.join(', ')}`)];
      throw new DaprupError(
        `Not everything runs ${ctx.options.target}: ${what.slice(0, 5).join('; ')}${what.length > 5 ? ` and ${what.length - 5} more` : ''}.`,
        'Rerun daprup to resume, or `daprup restart` for the workloads.',
        ExitCode.stepFailed,
      );
    }
    if (out.length && ctx.options.strict) {
      throw new DaprupError(
        `${out.length} daprd out of reach still run an older version: ${listed(out, 3)}.`,
        'Act on each as its note says and run daprup restart, or drop --strict to accept them.',
        ExitCode.stepFailed,
      );
    }
    const current = verdicts.filter((w) => w.decision === 'current').length;
    report(
      `control plane and ${current} workloads at ${ctx.options.target}${out.length ? `; ${out.length} out of reach: ${out.map((w) => w.key).join(', ')}` : ''}`,
    );
  },
  async verify() {},
};
