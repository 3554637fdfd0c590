// upgrade-dapr-shared: after the data plane, every Dapr Shared release whose daprd is not at the target is upgraded
// with `helm upgrade --reuse-values --set shared.daprd.image.tag=<target>` (its chart version and other values kept),
// and waited for. Resumable like every step: what already runs the target is left alone.
import { sharedBehind, sharedDaprd, DEFAULT_SHARED_CHART, SHARED_TAG_VALUE, type SharedDaprd } from '../../dapr/dapr-shared.js';
import { discoverDataPlane } from '../../dapr/data-plane.js';
import { explain } from '../../dapr/error-hints.js';
import { dataPlaneHeldBack } from './data-plane.js';
import type { RunContext, Step } from '../types.js';
import { liveDataPlane } from '../../dapr/live-data-plane.js';

type Behind = SharedDaprd & { targetTag: string };

function upgradeArgs(ctx: RunContext, s: Behind): string[] {
  return ctx.tools.helm.upgradeArgs(
    s.name,
    ctx.options.sharedChart ?? DEFAULT_SHARED_CHART,
    s.namespace,
    s.chartVersion,
    ['--reuse-values', '--set', `${SHARED_TAG_VALUE}=${s.targetTag}`],
    ctx.options.timeout,
  );
}

async function liveBehind(ctx: RunContext): Promise<Behind[]> {
  if (!ctx.facts.sharedReleases.length) return [];
  return sharedBehind(
    sharedDaprd(ctx.facts.sharedReleases, await liveDataPlane(ctx.tools.kubectl, ctx.facts.release.namespace)),
    ctx.options.target,
  );
}

export const upgradeDaprShared: Step = {
  id: 'upgrade-dapr-shared',
  title: 'Upgrade Dapr Shared releases',
  async plan(ctx) {
    const held = dataPlaneHeldBack(ctx);
    if (held) return { summary: held, commands: [], destructive: false, skip: held };
    const behind = sharedBehind(sharedDaprd(ctx.facts.sharedReleases, discoverDataPlane(ctx.facts)), ctx.options.target);
    const skip = !ctx.facts.sharedReleases.length
      ? 'no Dapr Shared releases'
      : behind.length
        ? undefined
        : 'every Dapr Shared release already runs the target';
    return {
      summary:
        skip ??
        `${behind.length} releases: ${behind.map((s) => `${s.namespace}/${s.name} daprd ${s.tag ?? '?'} → ${s.targetTag}`).join(', ')}`,
      commands: behind.map((s) => ctx.tools.helm.commandLine(upgradeArgs(ctx, s))),
      destructive: !skip,
      skip,
    };
  },
  async isDone(ctx) {
    return !(await liveBehind(ctx)).length;
  },
  async apply(ctx, report) {
    for (const s of await liveBehind(ctx)) {
      try {
        await ctx.tools.helm.upgrade(upgradeArgs(ctx, s));
      } catch (e) {
        throw explain(e, `Upgrading the Dapr Shared release ${s.namespace}/${s.name}`);
      }
      report(`${s.namespace}/${s.name}: daprd ${s.tag ?? '?'} → ${s.targetTag}`);
    }
  },
  async verify(ctx) {
    const left = await liveBehind(ctx);
    if (left.length)
      throw explain(
        new Error(`${left.map((s) => `${s.namespace}/${s.name} runs daprd ${s.workload?.sidecarVersions.join(', ')}`).join('; ')}`),
        'Verifying Dapr Shared',
      );
  },
};
