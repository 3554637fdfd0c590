// recreate-statefulsets: a StatefulSet whose immutable fields the target chart changes is deleted with the
// default background cascade (never orphan: orphaned pods wedge the new StatefulSet, dapr/dapr#10468) and
// gone before `helm upgrade` recreates it. Enabling HA (placement's raft-log claim) is the common case.
import semver from 'semver';
import type { Workload } from '../../cluster/k8s-types.js';
import { imageTag, runtimeVersionOfTag } from '../../dapr/chart.js';
import { redactArgs } from '../../cluster/redact.js';
import { explain } from '../../dapr/error-hints.js';
import { statefulSetsToRecreate, type StatefulSetRecreation } from '../../dapr/statefulsets.js';
import type { RunContext, Step } from '../types.js';
import { helmUpgradeArgs } from './helm-upgrade.js';

/** The control plane's StatefulSets, as apply re-reads them. */
const liveStatefulSets = (ctx: RunContext) => ['statefulsets', { namespace: ctx.facts.release.namespace }] as const;

/** The pods a deleted StatefulSet leaves, which must be gone before helm recreates it. */
const podsOf = (s: StatefulSetRecreation) => `app=${s.name}`;

/** Compared against the live StatefulSets (fresh=true re-reads them; the plan uses what discovery read). */
export async function statefulSetsToRecreateNow(ctx: RunContext, fresh = false): Promise<StatefulSetRecreation[]> {
  const live = fresh ? await ctx.tools.kubectl.list<Workload>(...liveStatefulSets(ctx)) : ctx.facts.controlPlaneWorkloads;
  const list = statefulSetsToRecreate(live, ctx.rendered, ctx.facts.release.namespace, {
    claims: ctx.checkObjects?.claims,
    classes: ctx.checkObjects?.storageClasses,
  });
  const scheduler = schedulerBelow115(ctx, live);
  return scheduler && !list.some((s) => s.name === SCHEDULER) ? [...list, scheduler] : list;
}

const SCHEDULER = 'dapr-scheduler-server';

/**
 * Going below 1.15, Dapr's downgrade note asks for the 1.15+ scheduler pods to be deleted (a 1.14 scheduler cannot
 * join them): the StatefulSet is recreated, so no pod of the newer generation survives the helm upgrade.
 */
function schedulerBelow115(ctx: RunContext, live: readonly Workload[]): StatefulSetRecreation | undefined {
  if (ctx.verdict.change !== 'downgrade' || !semver.lt(ctx.options.target, '1.15.0')) return undefined;
  const sts = live.find((w) => w.kind === 'StatefulSet' && w.metadata.name === SCHEDULER);
  const version = runtimeVersionOfTag(imageTag(sts?.spec.template.spec.containers[0]?.image));
  if (!sts || !version || !semver.valid(version) || semver.lt(version, '1.15.0')) return undefined;
  return {
    name: SCHEDULER,
    namespace: ctx.facts.release.namespace,
    changes: [`going below 1.15 from ${version}: the scheduler pods of 1.15+ are deleted (Dapr's downgrade note)`],
  };
}

export const recreateStatefulSets: Step = {
  id: 'recreate-statefulsets',
  title: 'Recreate StatefulSets whose immutable fields change',
  async plan(ctx) {
    const list = await statefulSetsToRecreateNow(ctx);
    const { kubectl } = ctx.tools;
    const timeout = ctx.options.timeout;
    const skip = list.length ? undefined : 'no StatefulSet changes an immutable field';
    return {
      summary: skip ?? list.map((s) => `${s.name}: ${s.changes.join('; ')}`).join(' | '),
      commands: skip
        ? []
        : [
            kubectl.getArgv(...liveStatefulSets(ctx)),
            ...list.flatMap((s) => [
              kubectl.commandLine(...kubectl.deleteStatefulSetArgs(s.name, s.namespace, timeout)),
              kubectl.commandLine(...kubectl.waitPodsGoneArgs(s.namespace, podsOf(s), timeout)),
            ]),
          ],
      destructive: list.length > 0,
      skip,
      details: [
        `What the upgrade changes is rendered by: ${redactArgs(ctx.tools.helm.commandLine(helmUpgradeArgs(ctx, { dryRun: true }))).join(' ')}`,
        ...list.flatMap((s) => s.claimNotes ?? []),
      ],
    };
  },
  async isDone(ctx) {
    return (await statefulSetsToRecreateNow(ctx, true)).length === 0;
  },
  async apply(ctx, report) {
    for (const s of await statefulSetsToRecreateNow(ctx, true)) {
      report(`deleting StatefulSet ${s.name} (${s.changes.join('; ')})`);
      try {
        await ctx.tools.kubectl.deleteStatefulSet(s.name, s.namespace, ctx.options.timeout);
        await ctx.tools.kubectl.waitPodsGone(s.namespace, podsOf(s), ctx.options.timeout);
      } catch (e) {
        throw explain(e, `Deleting StatefulSet ${s.name}`);
      }
    }
  },
  async verify(ctx) {
    const left = await statefulSetsToRecreateNow(ctx, true);
    if (left.length) throw new Error(`StatefulSet ${left[0]!.name} still has its old immutable fields`);
  },
};
