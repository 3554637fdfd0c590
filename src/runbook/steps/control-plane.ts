// wait-control-plane: every control-plane workload rolled out, every control-plane pod at the target, and
// the trust bundle unchanged (a regenerated bundle would strand every sidecar on the old root).
import pLimit from 'p-limit';
import type { Pod, Workload } from '../../cluster/k8s-types.js';
import { isControlPlaneWorkload, PART_OF_SELECTOR } from '../../dapr/chart.js';
import { controlPlaneStatus } from '../../dapr/control-plane.js';
import { explain } from '../../dapr/error-hints.js';
import { bundleChecksums } from '../../dapr/trust-bundle.js';
import { DaprupError, ExitCode } from '../../errors.js';
import type { RunContext, Step } from '../types.js';
import { readLiveTrustBundle } from './trust-bundle.js';

const controlPlaneRefs = (ctx: RunContext) =>
  ctx.rendered.filter((w) => isControlPlaneWorkload(w)).map((w) => `${w.kind.toLowerCase()}/${w.metadata.name}`);

export async function liveControlPlane(ctx: RunContext) {
  const ns = ctx.facts.release.namespace;
  const [workloads, pods] = await Promise.all([
    ctx.tools.kubectl.list<Workload>('deployments,statefulsets', { namespace: ns }),
    ctx.tools.kubectl.list<Pod>('pods', { namespace: ns, selector: PART_OF_SELECTOR }),
  ]);
  return controlPlaneStatus(workloads, pods);
}

/** Components not fully at the target: template, running pods and readiness. */
export async function controlPlaneLagging(ctx: RunContext): Promise<string[]> {
  const expected = new Set(controlPlaneRefs(ctx).map((r) => r.split('/')[1]));
  return (await liveControlPlane(ctx))
    .filter((c) => expected.has(c.name))
    .filter(
      (c) => !c.present || c.version !== ctx.options.target || c.ready < c.desired || c.podVersions.some((v) => v !== ctx.options.target),
    )
    .map((c) => `${c.name} (${c.present ? `${c.ready}/${c.desired} ready, pods at ${c.podVersions.join(', ') || 'none'}` : 'missing'})`);
}

export const waitControlPlane: Step = {
  id: 'wait-control-plane',
  title: 'Wait for the control plane at the target version',
  async plan(ctx) {
    const ns = ctx.facts.release.namespace;
    return {
      summary: `rollout status of ${controlPlaneRefs(ctx).join(', ')}; every pod at ${ctx.options.target}; trust bundle unchanged`,
      commands: controlPlaneRefs(ctx).map((ref) =>
        ctx.tools.kubectl.commandLine(...ctx.tools.kubectl.rolloutStatusArgs(ns, ref, ctx.options.timeout)),
      ),
      destructive: false,
    };
  },
  async isDone() {
    return false; // a read-only wait: always re-checked
  },
  async apply(ctx, report) {
    const ns = ctx.facts.release.namespace;
    const limit = pLimit(ctx.options.concurrency);
    await Promise.all(
      controlPlaneRefs(ctx).map((ref) =>
        limit(async () => {
          try {
            await ctx.tools.kubectl.rolloutStatus(ns, ref, ctx.options.timeout);
            report(`${ref} rolled out`);
          } catch (e) {
            throw explain(e, `Waiting for ${ref}`);
          }
        }),
      ),
    );
  },
  async verify(ctx) {
    // Old pods of a finished rollout may still be terminating for a moment: look again briefly.
    let lagging = await controlPlaneLagging(ctx);
    for (let i = 0; lagging.length && i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      lagging = await controlPlaneLagging(ctx);
    }
    if (lagging.length)
      throw new DaprupError(
        `The control plane is not at ${ctx.options.target}: ${lagging.join(', ')}.`,
        `kubectl get pods -n ${ctx.facts.release.namespace} shows what is pending; rerun daprup to resume.`,
        ExitCode.stepFailed,
      );
    const recorded = ctx.journal?.data.trustBundleChecksums;
    if (recorded) {
      const live = await readLiveTrustBundle(ctx);
      if (!live || JSON.stringify(bundleChecksums(live)) !== JSON.stringify(recorded)) {
        throw new DaprupError(
          'The trust bundle changed during the upgrade: Sentry generated a new CA.',
          'Every sidecar must restart to trust it: run `daprup restart --all`. Check the Sentry log for "generating self signed CA".',
          ExitCode.stepFailed,
        );
      }
    }
  },
};
