// preflight: tools, cluster, the Dapr release, the version policy and permissions. The probes already ran
// in prepareRun (a failure there stops everything before any change); this step checks permissions for the
// work the plan holds, so a missing right is found now and not halfway.
import { refusal } from '../../errors.js';
import type { RunContext, Step } from '../types.js';
import { statefulSetsToRecreateNow } from './statefulsets.js';
import { hopPrerequisites, refuseUnprotectedSchedulerLoss } from './scheduler-data.js';
import { workloadsToRestart } from '../../dapr/data-plane.js';
import { reachOf } from './data-plane.js';

interface Permission {
  verb: string;
  resource: string;
  namespace?: string;
  why: string;
}

async function neededPermissions(ctx: RunContext): Promise<Permission[]> {
  const ns = ctx.facts.release.namespace;
  const needed: Permission[] = [{ verb: 'patch', resource: 'deployments.apps', namespace: ns, why: 'upgrade the control plane' }];
  if (ctx.crds.some((c) => c.action !== 'unchanged') && ctx.verdict.change !== 'downgrade')
    needed.push({ verb: 'patch', resource: 'customresourcedefinitions.apiextensions.k8s.io', why: 'apply the CRDs' });
  if ((await statefulSetsToRecreateNow(ctx)).length)
    needed.push({
      verb: 'delete',
      resource: 'statefulsets.apps',
      namespace: ns,
      why: 'recreate StatefulSets whose immutable fields change',
    });
  const restarts = workloadsToRestart(ctx.facts, ctx.options.target, reachOf(ctx));
  const resources = new Set(
    restarts.map((w) =>
      w.method === 'argo-restart'
        ? 'patch rollouts.argoproj.io'
        : w.method === 'delete-pods'
          ? 'delete pods'
          : w.method === 'replace-pod'
            ? 'create pods'
            : `patch ${w.kind.toLowerCase()}s.apps`,
    ),
  );
  if (resources.has('create pods')) resources.add('delete pods');
  for (const r of resources) {
    const [verb, resource] = r.split(' ') as [string, string];
    needed.push({ verb, resource, why: 'restart Dapr-enabled workloads' });
  }
  return needed;
}

export const preflight: Step = {
  id: 'preflight',
  title: 'Preflight: tools, cluster, release, version policy, permissions',
  async plan(ctx) {
    const f = ctx.facts;
    const { helm, kubectl } = ctx.tools;
    const perms = await neededPermissions(ctx);
    const prerequisites = await hopPrerequisites(ctx);
    return {
      summary: `helm ${f.helmVersion.raw}, kubectl ${f.kubectlVersion}, cluster ${f.serverVersion}; release ${f.release.name} (${f.release.namespace}) ${ctx.verdict.current} → ${ctx.verdict.target} (${ctx.verdict.change})`,
      commands: [
        // Discovery's release listing (prepareRun), then the permission checks apply runs.
        helm.commandLine(helm.listArgs()),
        ...perms.map((p) => kubectl.commandLine(...kubectl.canIArgs(p.verb, p.resource, p.namespace))),
        ...prerequisites.commands,
      ],
      destructive: false,
      details: [
        ...ctx.verdict.warnings,
        ...prerequisites.findings.map((f) => (f.severity === 'refuse' ? `Refused: ${f.message} ${f.hint ?? ''}`.trim() : f.message)),
      ],
    };
  },
  async isDone() {
    return false; // cheap, and always worth re-checking on resume
  },
  async apply(ctx, report) {
    for (const p of await neededPermissions(ctx)) {
      report(`can-i ${p.verb} ${p.resource}`);
      if (!(await ctx.tools.kubectl.canI(p.verb, p.resource, p.namespace))) {
        throw refusal(
          `Your Kubernetes user may not ${p.verb} ${p.resource}${p.namespace ? ` in ${p.namespace}` : ' in every namespace'}, which daprup needs to ${p.why}.`,
          'Run daprup as a user with those rights (kubectl auth can-i shows what you may do).',
        );
      }
    }
    // Storage for new scheduler claims, nodes for anti-affinity: refused here, before anything changes.
    const { findings } = await hopPrerequisites(ctx);
    for (const f of findings) if (f.severity === 'warn') report(f.message);
    const refused = findings.find((f) => f.severity === 'refuse');
    if (refused) throw refusal(refused.message, refused.hint ?? '');
    // Scheduler data this hop loses with no VolumeSnapshotClass to keep it, unless the loss was accepted.
    await refuseUnprotectedSchedulerLoss(ctx);
  },
  async verify() {},
};
