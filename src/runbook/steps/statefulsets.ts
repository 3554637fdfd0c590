// recreate-statefulsets: a StatefulSet whose immutable fields the target chart changes is deleted with the
// default background cascade (never orphan: orphaned pods wedge the new StatefulSet, dapr/dapr#10468) and
// gone before `helm upgrade` recreates it. Enabling HA (placement's raft-log claim) is the common case.
import type { Workload } from '../../cluster/k8s-types.js';
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
  return statefulSetsToRecreate(live, ctx.rendered, ctx.facts.release.namespace, {
    claims: ctx.checkObjects?.claims,
    classes: ctx.checkObjects?.storageClasses,
  });
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
