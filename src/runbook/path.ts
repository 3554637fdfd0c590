// The road from the running version to the target. An upgrade of one minor (or a patch, a downgrade the user
// allowed, nothing at all) is one hop, prepared as before. Further than one minor, the run walks the newest patch
// of every minor in between (1.15.12 → 1.16.19 → 1.17.13 → 1.18.3): each hop is prepared and planned like a
// one-hop upgrade of its own, carries the release notes that concern it, and says whether it restarts the data
// plane (whenever the sidecars would otherwise fall more than one minor behind, and after the last hop).
import { join } from 'node:path';
import semver from 'semver';
import type { Tools } from '../cluster/tools.js';
import { dataPlaneOf } from '../dapr/discovery.js';
import { notesFor, type HopNote } from '../dapr/release-notes.js';
import { dataPlaneRestarts, upgradePath, type Hop } from '../dapr/upgrade-path.js';
import { prepareRun, type PrepareOptions } from './prepare.js';
import { listChartVersions } from './steps/chart.js';
import type { RunContext, UpgradeOptions } from './types.js';

export interface PlannedHop extends Hop {
  restartDataPlane: boolean;
  notes: HopNote[];
}

/** The path as the plan shows it and the journal records it. */
export interface PathSummary {
  from: string;
  target: string;
  hops: PlannedHop[];
}

export interface PreparedPath {
  summary: PathSummary;
  /** One context per hop. Only the first reads the cluster as its hop will find it; later ones are re-prepared when their turn comes. */
  contexts: RunContext[];
}

/** Each hop's own directory under the run's: its pulled chart, exported bundle and backups. */
export const hopWorkDir = (workDir: string, index: number, to: string) => join(workDir, 'hops', `${index + 1}-${to}`);

/** More than one minor ahead, without --allow-skip-minor: the only targets that take several hops. */
function crossesMinors(current: string | undefined, o: UpgradeOptions): boolean {
  const from = current && semver.valid(current.replace(/^v/, ''));
  if (!from || o.overrides.allowSkipMinor || semver.prerelease(from)) return false;
  return semver.major(o.target) === semver.major(from) && semver.minor(o.target) > semver.minor(from) + 1;
}

/**
 * Prepares every hop from the running version to `options.target` (or from `p.from` on resume, or along the hops
 * a resumed run recorded). The version the path starts from is the release's APP VERSION.
 */
export async function preparePath(
  tools: Tools,
  options: UpgradeOptions,
  p: PrepareOptions & { current: string; recorded?: PlannedHop[] },
): Promise<PreparedPath> {
  const from = p.from ?? p.current;
  if (!p.recorded && !crossesMinors(from, options)) {
    const ctx = await prepareRun(tools, options, p);
    return {
      summary: { from: ctx.verdict.current, target: options.target, hops: [plannedHop(ctx, ctx.facts.haEnabled, true)] },
      contexts: [ctx],
    };
  }
  const hops: Hop[] =
    p.recorded ?? upgradePath(from, options.target, await listChartVersions(tools, options.chart), options.overrides).hops;
  const contexts: RunContext[] = [];
  for (const [i, hop] of hops.entries()) contexts.push(await prepareHop(tools, options, p, hops, i));
  // Pinned sidecar images (dapr.io/sidecar-image) are never restarted to the target: they do not count.
  const oldestDaprd = dataPlaneOf(contexts[0]!.facts)
    .filter((w) => !w.pinnedImage)
    .flatMap((w) => w.sidecarVersions)
    .filter((v) => semver.valid(v))
    .sort(semver.compare)[0];
  const restarts = p.recorded?.map((h) => h.restartDataPlane) ?? dataPlaneRestarts({ from, target: options.target, hops }, oldestDaprd);
  for (const [i, ctx] of contexts.entries()) ctx.hop = hopPosition(hops, restarts, i);
  return {
    summary: {
      from,
      target: options.target,
      hops: contexts.map((ctx, i) => plannedHop(ctx, i ? contexts[i - 1]!.haAfter : ctx.facts.haEnabled, restarts[i]!)),
    },
    contexts,
  };
}

/**
 * One hop's context: the options with the hop's version as the target, its own directory, and the version it
 * starts from (a later hop is planned before the earlier ones ran: it starts from the previous hop's version).
 */
export async function prepareHop(
  tools: Tools,
  options: UpgradeOptions,
  p: PrepareOptions,
  hops: readonly Hop[],
  i: number,
  restarts?: readonly boolean[],
): Promise<RunContext> {
  const hop = hops[i]!;
  const ctx = await prepareRun(
    tools,
    { ...options, target: hop.to, overrides: { ...options.overrides, allowSkipMinor: false } },
    { ...p, workDir: hopWorkDir(p.workDir, i, hop.to), from: i ? hop.from : (p.from ?? hop.from), installed: i ? hop.from : undefined },
  );
  if (restarts) ctx.hop = hopPosition(hops, restarts, i);
  return ctx;
}

function hopPosition(hops: readonly Hop[], restarts: readonly boolean[], i: number): RunContext['hop'] {
  const next = restarts.findIndex((r, j) => j >= i && r);
  return { index: i, count: hops.length, restartDataPlane: restarts[i]!, nextRestartAt: next > i ? hops[next]!.to : undefined };
}

function plannedHop(ctx: RunContext, haBefore: boolean, restartDataPlane: boolean): PlannedHop {
  const hop = { from: ctx.verdict.current, to: ctx.options.target };
  const schedulerDisabled = !ctx.facts.controlPlane.some((c) => c.name === 'dapr-scheduler-server' && c.present);
  return { ...hop, restartDataPlane, notes: notesFor({ ...hop, haBefore, haAfter: ctx.haAfter, schedulerDisabled }) };
}
