// The plan: everything the upgrade would do, computed by the same steps with the same probes, as plain data
// that the UI renders as tables or JSON. Secrets never reach it.
import { createHash } from 'node:crypto';
import { redactArgs } from '../cluster/redact.js';
import { CONTROL_PLANE } from '../dapr/chart.js';
import { dataPlaneOf } from '../dapr/discovery.js';
import { checkTrustBundle, type BundleReport } from '../dapr/trust-bundle.js';
import { chartDefaults, coalesce, diffValues, renderValueTemplates, withoutTlsValues, type ValueChange } from '../dapr/values.js';
import type { Values } from '../cluster/helm.js';
import type { PathSummary, PreparedPath } from './path.js';
import { pullInstalledChart } from './prepare.js';
import type { StepId } from './types.js';
import { RUNBOOK } from './runbook.js';
import { statefulSetsToRecreateNow } from './steps/statefulsets.js';
import { judgeDataPlane } from '../dapr/data-plane.js';
import { reachOf } from './steps/data-plane.js';
import { sharedDaprd, sharedTagFor } from '../dapr/dapr-shared.js';
import { skew } from '../dapr/skew.js';
import type { CrdChange, RunContext } from './types.js';
import type { StatefulSetRecreation } from '../dapr/statefulsets.js';
import { imageTag, runtimeVersionOfTag } from '../dapr/chart.js';
import { runChecks, type CheckResult } from '../dapr/checks/index.js';
import { fallbackSupportedMinors, supportedMinorsFrom } from '../dapr/checks/versions.js';

export interface PlannedStep {
  id: StepId;
  title: string;
  summary: string;
  destructive: boolean;
  skip?: string;
  commands: string[];
  details?: string[];
}

export interface UpgradePlan {
  release: { name: string; namespace: string; chartVersion: string; version: string; revision: number; status: string };
  cluster: { id: string; serverVersion: string; helm: string; kubectl: string };
  versionPolicy: { current: string; target: string; change: string; verdict: 'ok'; warnings: string[] };
  controlPlane: { component: string; kind: string; current?: string; target: string; ready: string; replicasAfter?: number }[];
  ha: { now: boolean; after: boolean };
  mtls: { enabled?: boolean; trustBundle: BundleReport };
  crds: CrdChange[];
  statefulSets: StatefulSetRecreation[];
  values: ValueChange[];
  /** Why the values diff is partial, when it is. */
  valuesNote?: string;
  /** Every daprd group in the cluster and what the run does about it (decision 'unreached': out of reach, named). */
  workloads: { kind: string; namespace: string; name: string; sidecar: string; decision: string; action: string }[];
  /** Dapr Shared releases: their daprd version and skew, and the tag the upgrade moves them to. */
  sharedReleases: {
    name: string;
    namespace: string;
    chartVersion: string;
    daprd: string;
    skew: string;
    after: string;
    sentryAddress?: string;
    mtls?: boolean;
  }[];
  /** Production checks of the cluster as it is now (`daprup check`): failures and warnings only. Advice, never a blocker. */
  checks: CheckResult[];
  steps: PlannedStep[];
  changesPending: boolean;
  planHash: string;
  /** A rollback's plan: the Helm revision it goes back to. */
  rollbackRevision?: number;
  /** The road to the target: its hops, the notes that concern each, and after which the data plane restarts. */
  path?: PathSummary;
  /** A run of several hops: the plans of the hops after the first (this plan is the first's). */
  nextHops?: UpgradePlan[];
}

/**
 * The plan of a whole path: the first hop's plan, with the path and the later hops' plans. A later hop is planned
 * against the cluster as it is now (its StatefulSet and CRD findings may change once the earlier hops ran).
 */
export async function buildPathPlan(prepared: PreparedPath): Promise<UpgradePlan> {
  const [first, ...rest] = await Promise.all(prepared.contexts.map((ctx) => buildPlan(ctx)));
  const plan = first!;
  if (!rest.length) return { ...plan, path: prepared.summary };
  const hashes = [plan, ...rest].map((h) => h.planHash).join(',');
  return {
    ...plan,
    changesPending: true,
    planHash: createHash('sha256').update(hashes).digest('hex').slice(0, 16),
    path: prepared.summary,
    nextHops: rest,
  };
}

/**
 * The values that change, both sides computed the same way from chart files: the installed chart's defaults
 * (subcharts included) under the release's user values, against the target chart's defaults under the values the
 * new revision will record (the server-side dry run's). `helm get values --all` cannot be one side: a 1.16+
 * release (subcharts as dependencies) records every subchart default, a 1.15 one almost only `global`.
 */
async function valueChanges(ctx: RunContext): Promise<{ changes: ValueChange[]; current: Values; note?: string }> {
  const f = ctx.facts;
  const installed = await pullInstalledChart(ctx);
  if (!installed) {
    return {
      changes: diffValues(withoutTlsValues(f.userValues), ctx.renderedConfig),
      current: await ctx.tools.helm.computedValues(f.release.name, f.release.namespace).catch(() => f.userValues),
      note: `Only your own values are compared: the installed chart ${ctx.options.chart} ${ctx.installedChartVersion} could not be pulled to compare its defaults.`,
    };
  }
  const current = coalesce(await chartDefaults(installed), f.userValues);
  const after = coalesce(await chartDefaults(ctx.chartDir), ctx.renderedConfig);
  // Templated values (global.k8sLabels) compared as helm renders them, so a label that renders the same is no change.
  const rendered = (v: Values) => renderValueTemplates(withoutTlsValues(v), f.release);
  return { changes: diffValues(rendered(current), rendered(after)), current };
}

export async function buildPlan(ctx: RunContext): Promise<UpgradePlan> {
  const f = ctx.facts;
  const steps: PlannedStep[] = [];
  for (const step of RUNBOOK) {
    const p = await step.plan(ctx);
    steps.push({
      id: step.id,
      title: step.title,
      summary: p.summary,
      destructive: p.destructive,
      skip: p.skip,
      commands: p.commands.map((c) => redactArgs(c).join(' ')),
      details: p.details,
    });
  }
  const dataPlane = dataPlaneOf(f);
  const workloads = judgeDataPlane(dataPlane, ctx.options.target, reachOf(ctx))
    .filter((w) => w.decision !== 'shared')
    .map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      sidecar: w.sidecarVersions.join(', ') || '-',
      decision: w.decision,
      action: w.note,
    }));
  const sharedReleases = sharedDaprd(f.sharedReleases, dataPlane).map((s) => ({
    name: s.name,
    namespace: s.namespace,
    chartVersion: s.chartVersion,
    daprd: s.tag ?? '-',
    skew: skew(s.version, f.release.version),
    after: s.workload ? sharedTagFor(s.tag, ctx.options.target) : '-',
    sentryAddress: s.sentryAddress,
    mtls: s.mtls,
  }));
  const renderedByName = new Map(ctx.rendered.map((w) => [`${w.kind}/${w.metadata.name}`, w]));
  const controlPlane = CONTROL_PLANE.map((c) => {
    const live = f.controlPlane.find((x) => x.name === c.name)!;
    const target = renderedByName.get(`${c.kind}/${c.name}`);
    return {
      component: c.name,
      kind: c.kind,
      current: live.present ? live.version : undefined,
      target: target
        ? (runtimeVersionOfTag(imageTag(target.spec.template.spec.containers[0]?.image)) ?? ctx.options.target)
        : '(not in chart)',
      ready: live.present ? `${live.ready}/${live.desired}` : '-',
      replicasAfter: target?.spec.replicas,
    };
  });
  // User values are kept; what changes is the chart's defaults, HA, the image tag and the user's own -f/--set.
  const { changes: values, current, note: valuesNote } = await valueChanges(ctx);
  const changesPending = steps.some(
    (s) => !s.skip && ['apply-crds', 'recreate-statefulsets', 'helm-upgrade', 'restart-data-plane', 'upgrade-dapr-shared'].includes(s.id),
  );
  const hashInput = JSON.stringify({
    target: ctx.options.target,
    from: ctx.verdict.current,
    ha: ctx.haAfter,
    chart: ctx.options.chart,
    set: ctx.options.set,
    files: ctx.options.valuesFiles,
    recreatePods: ctx.options.recreatePods,
    recreateBarePods: ctx.options.recreateBarePods,
  });
  return {
    release: { ...f.release },
    cluster: { id: f.clusterId, serverVersion: f.serverVersion, helm: f.helmVersion.raw, kubectl: f.kubectlVersion },
    versionPolicy: {
      current: ctx.verdict.current,
      target: ctx.verdict.target,
      change: ctx.verdict.change,
      verdict: 'ok',
      warnings: ctx.verdict.warnings,
    },
    controlPlane,
    ha: { now: f.haEnabled, after: ctx.haAfter },
    mtls: { enabled: f.mtlsEnabled, trustBundle: checkTrustBundle(f.trustBundle!, { warnDays: ctx.options.certWarnDays }) },
    crds: ctx.crds,
    statefulSets: await statefulSetsToRecreateNow(ctx),
    values,
    valuesNote,
    workloads,
    sharedReleases,
    checks: productionChecks(ctx, current),
    steps,
    changesPending,
    ...(ctx.options.rollback ? { rollbackRevision: ctx.options.rollback.revision } : {}),
    planHash: createHash('sha256').update(hashInput).digest('hex').slice(0, 16),
  };
}

/** The trust bundle has its own section in the plan (and a failing bundle already refused the upgrade). */
const SHOWN_ELSEWHERE = /^trust-bundle/;

/**
 * `daprup check` on the current cluster, from what prepare already read (one extra kubectl call there, none
 * here). Fix commands name the target version; HA advice points at --enable-ha, or notes this upgrade turns it on.
 */
export function productionChecks(ctx: RunContext, values: Record<string, unknown>): CheckResult[] {
  if (!ctx.checkObjects) return [];
  try {
    const supported =
      (ctx.chartVersions && supportedMinorsFrom(ctx.chartVersions, `chart repository index of ${ctx.options.chart}`)) ||
      fallbackSupportedMinors();
    const results = runChecks({
      ...ctx.facts,
      ...ctx.checkObjects,
      values,
      supported,
      certWarnDays: ctx.options.certWarnDays,
      upgradeTo: ctx.options.target,
    });
    return results
      .filter((r) => (r.severity === 'failure' || r.severity === 'warning') && !SHOWN_ELSEWHERE.test(r.id))
      .sort((a, b) => Number(b.severity === 'failure') - Number(a.severity === 'failure'))
      .map((r) => {
        if (r.id !== 'control-plane-ha' && r.id !== 'control-plane-pdbs') return r;
        return ctx.haAfter
          ? { ...r, finding: `${r.finding} This upgrade turns HA on.` }
          : {
              ...r,
              fix: `Add --enable-ha to this upgrade: daprup upgrade --to ${ctx.options.target} --enable-ha (recreates the placement StatefulSet).`,
            };
      });
  } catch {
    return []; // advice only: a check that cannot run must not stop a plan
  }
}
