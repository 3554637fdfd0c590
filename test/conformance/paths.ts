// The road between versions on the published charts, one scenario each over a whole path (by default the newest
// 1.15 → the newest 1.18 of the charts directory) rather than one hop:
//   multi-hop  `daprup plan --to` and `daprup upgrade --to --enable-ha` across several minors: every newest patch in
//              between visited in one run, then the end state of a hop scenario (scenarios.ts) plus one restart per hop.
//   rollback   the same road walked (HA turned on with the last hop), then `daprup rollback` to the revision before:
//              its version and values, the trust bundle and the newer CRDs kept, StatefulSets recreated exactly where
//              helm must; a rollback below Dapr's floor refused (exit 3) with nothing changed.
// Each starts from a fresh install as the hop scenarios do (certificates, USER_VALUE, sample apps).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import type { CliResult } from '../support/cli.js';
import { deploySampleApps, type SampleApps } from '../sandbox/sample-apps.js';
import {
  cli,
  controlPlaneFailures,
  conversionWebhookFailures,
  crdFailures,
  firstLine,
  get,
  helm,
  install,
  kubectl,
  kubectlJson,
  livePods,
  placementFailures,
  releaseHistory,
  restartFailures,
  revisionsPerWorkload,
  same,
  sidecarFailures,
  statefulSets,
  statefulSetsHelmMustReplace,
  trustBundleData,
  userValueFailures,
  watchConversionWebhook,
  type Installation,
  type Meta,
  type ScenarioResult,
  type World,
} from './scenarios.js';

export const PATH_SCENARIO_NAMES = ['multi-hop', 'rollback'] as const;
export type PathScenarioName = (typeof PATH_SCENARIO_NAMES)[number];

/** A road of several minors: `stops` are the newest patch of every minor in between, from the charts directory. */
export interface VersionPath {
  from: string;
  to: string;
  stops: string[];
}

export interface PathScenario {
  name: PathScenarioName;
  /** What it shows, for the report. */
  about: string;
  run: (w: World, path: VersionPath) => Promise<ScenarioResult>;
}

export const PATH_SCENARIOS: readonly PathScenario[] = [
  {
    name: 'multi-hop',
    about:
      'daprup plan/upgrade --to <newest> --enable-ha from three minors back: every newest patch in between visited, one restart per hop',
    run: multiHop,
  },
  {
    name: 'rollback',
    about:
      'after the same road (HA on with the last hop), plan --rollback and rollback to the revision before; --to-revision <install> refused below the floor',
    run: rollback,
  },
];

/**
 * Dapr's rollback floor (v1.18.0 release notes: Sentry writes Ed25519 keys into the trust bundle Secret, which Sentry
 * below 1.17.7 cannot read): from `from` or later, never below `below`. The harness's own copy of the fact, so
 * daprup's table is tested rather than reused.
 */
const ROLLBACK_FLOOR = { from: '1.18.0', below: '1.17.7' };

const RELEASE = { name: 'dapr', namespace: 'dapr-system' };
const INSTALL: Installation = { release: RELEASE.name, namespace: RELEASE.namespace, installHa: false, installSet: () => [] };

interface PathPlan {
  versionPolicy: { current: string; target: string; change: string };
  statefulSets: { name: string }[];
  steps: { id: string; skip?: string }[];
  rollbackRevision?: number;
  path?: { from: string; target: string; hops: { from: string; to: string; restartDataPlane: boolean; notes: { id: string }[] }[] };
  nextHops?: unknown[];
}

/** The daprup arguments every call of a scenario shares (its tools, cluster and state dir). */
const common = (w: World) => [
  '--helm',
  w.flavour.helm,
  '--kubectl',
  w.flavour.kubectl,
  '--kubeconfig',
  w.kubeconfig,
  '--state-dir',
  join(w.work, 'state'),
];

/** Runs daprup with the scenario's common arguments and keeps its output in <work>/daprup.log. */
async function daprup(w: World, args: string[]): Promise<CliResult & { seconds: number }> {
  const t0 = Date.now();
  const r = await cli([...args, ...common(w)], { env: w.env, timeoutMs: 20 * 60_000 });
  const log = [`$ daprup ${args.join(' ')} (exit ${r.code})`, r.stdout, r.stderr, ''].join('\n');
  await writeFile(join(w.work, 'daprup.log'), log, { flag: 'a' });
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}
const exited = (what: string, r: CliResult) => `${what} exited ${r.code}: ${firstLine(r.stderr) || firstLine(r.stdout)}`;

async function freshInstall(w: World, version: string): Promise<SampleApps> {
  w.log(`  install ${RELEASE.name} ${version} in ${RELEASE.namespace}`);
  await install(w, INSTALL, version);
  return deploySampleApps(w.flavour.kubectl, w.kubeconfig);
}

/** uid → resourceVersion of every listable object but those that change on their own (leases, events, nodes). */
async function clusterSnapshot(w: World): Promise<Map<string, string>> {
  const kinds = (await kubectl(w, ['api-resources', '--verbs=list', '-o', 'name']))
    .split('\n')
    .filter((k) => k && !/^(events|leases|nodes|componentstatuses)(\.|$)/.test(k));
  const { items } = await kubectlJson<{ items: { kind: string; metadata: Meta & { resourceVersion?: string } }[] }>(w, [
    'get',
    kinds.join(','),
    '--all-namespaces',
  ]);
  return new Map(
    items.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}/${o.metadata.uid}`, o.metadata.resourceVersion ?? '']),
  );
}

/** What differs between two snapshots, a few objects named. */
function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
  return keys.map((k) => (!after.has(k) ? `${k} deleted` : !before.has(k) ? `${k} created` : `${k} changed`));
}
const some = (xs: string[]) => xs.slice(0, 3).join(', ') + (xs.length > 3 ? `, … (${xs.length})` : '');

async function multiHop(w: World, path: VersionPath): Promise<ScenarioResult> {
  const failures: string[] = [];
  const notes: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  const { from, to } = path;
  const apps = await freshInstall(w, from);
  const bundle = await trustBundleData(w, RELEASE.namespace);
  const revisions = await revisionsPerWorkload(w);
  const revisionsBefore = (await releaseHistory(w, RELEASE.name, RELEASE.namespace)).length;
  const uidsBefore = new Map((await statefulSets(w, RELEASE.namespace)).map((x) => [x.metadata.name, x.metadata.uid]));

  // The plan: one hop per minor through the newest patch of each, each hop with the release notes that concern it.
  const wantHops = [from, ...path.stops, to].slice(1).map((v, i, all) => [i ? all[i - 1] : from, v].join(' → '));
  const before = await clusterSnapshot(w);
  const planned = await daprup(w, ['plan', '--to', to, '--enable-ha', '--json']);
  if (planned.code !== 0) return { failures: [exited('plan', planned)], recreated: [], notes };
  const plan = JSON.parse(planned.stdout) as PathPlan;
  const hops = plan.path?.hops ?? [];
  const gotHops = hops.map((h) => `${h.from} → ${h.to}`);
  check(same(gotHops, wantHops), `plan's path is [${gotHops.join(', ')}], want [${wantHops.join(', ')}]`);
  check(plan.nextHops?.length === hops.length - 1, `plan has ${plan.nextHops?.length ?? 0} later hops' plans, want ${hops.length - 1}`);
  for (const h of hops) check(h.notes.length > 0, `plan's hop ${h.from} → ${h.to} has no release notes`);
  // Minor by minor, the data plane would fall two minors behind at every next hop: restarted after each.
  const restarts = hops.filter((h) => h.restartDataPlane).length;
  check(restarts === hops.length, `plan restarts the data plane after ${restarts} of ${hops.length} hops, want every hop`);
  const planChanges = changed(before, await clusterSnapshot(w));
  check(planChanges.length === 0, `plan changed the cluster: ${some(planChanges)}`);

  w.log(`  daprup upgrade --to ${to} --enable-ha (${wantHops.length} hops)`);
  const watcher = watchConversionWebhook(w);
  const r = await daprup(w, ['upgrade', '--to', to, '--enable-ha', '--yes']);
  const conversionNamespaces = await watcher.stop();
  if (r.code !== 0) return { failures: [...failures, exited('upgrade', r)], upgradeSeconds: r.seconds, recreated: [], notes };

  // One helm revision per hop, each at its hop's chart, the last deployed.
  const history = await releaseHistory(w, RELEASE.name, RELEASE.namespace);
  const charts = history.slice(revisionsBefore).map((h) => h.chart);
  const wantCharts = [...path.stops, to].map((v) => `dapr-${v}`);
  check(same(charts, wantCharts), `helm revisions after the install are [${charts.join(', ')}], want [${wantCharts.join(', ')}]`);
  check(history.at(-1)?.status === 'deployed', `release's last revision is ${history.at(-1)?.status}`);

  const pods = await livePods(w);
  failures.push(...controlPlaneFailures(pods, RELEASE.namespace, to));
  const sts = await statefulSets(w, RELEASE.namespace);
  failures.push(...placementFailures(sts, true));
  const values = JSON.parse(await helm(w, ['get', 'values', RELEASE.name, '--namespace', RELEASE.namespace, '-o', 'json'])) as unknown;
  check(get(values, 'global.ha.enabled') === true, `global.ha.enabled is ${JSON.stringify(get(values, 'global.ha.enabled'))}`);
  failures.push(...userValueFailures(values));
  check((await trustBundleData(w, RELEASE.namespace)) === bundle, 'trust bundle Secret/ConfigMap data changed');
  failures.push(...(await crdFailures(w, to)));
  failures.push(...restartFailures(apps.workloads, revisions, await revisionsPerWorkload(w), restarts));
  failures.push(...sidecarFailures(pods, apps.workloads, to));
  failures.push(...(await conversionWebhookFailures(w, RELEASE.namespace, conversionNamespaces)));

  const recreated = sts
    .filter((x) => uidsBefore.has(x.metadata.name) && uidsBefore.get(x.metadata.name) !== x.metadata.uid)
    .map((x) => x.metadata.name);
  if (recreated.length) notes.push(`recreated ${recreated.sort().join(', ')}`);
  return { failures, upgradeSeconds: r.seconds, recreated, notes };
}

async function rollback(w: World, path: VersionPath): Promise<ScenarioResult> {
  const failures: string[] = [];
  const notes: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  const { from, to } = path;
  // The revision to go back to: the newest patch of the minor before the target, without HA; the last hop turns HA on.
  const back = path.stops.at(-1) ?? from;
  const apps = await freshInstall(w, from);
  const bundle = await trustBundleData(w, RELEASE.namespace);
  w.log(`  setup: daprup upgrade --to ${back}, then --to ${to} --enable-ha`);
  if (back !== from) {
    const up = await daprup(w, ['upgrade', '--to', back, '--yes']);
    if (up.code !== 0) return { failures: [`setup: ${exited('upgrade', up)}`], recreated: [], notes };
  }
  const up = await daprup(w, ['upgrade', '--to', to, '--enable-ha', '--yes']);
  if (up.code !== 0) return { failures: [`setup: ${exited('upgrade', up)}`], recreated: [], notes };

  const history = await releaseHistory(w, RELEASE.name, RELEASE.namespace);
  const [installed, previous] = [history[0], history.at(-2)];
  if (!installed || previous?.chart !== `dapr-${back}`)
    return { failures: [`setup: revision before the last is ${previous?.chart}, want dapr-${back}`], recreated: [], notes };

  // The preview: back to that revision's version, a downgrade, the newer CRDs kept; nothing changes.
  let before = await clusterSnapshot(w);
  const planned = await daprup(w, ['plan', '--rollback', '--json']);
  if (planned.code !== 0) return { failures: [exited('plan --rollback', planned)], recreated: [], notes };
  const plan = JSON.parse(planned.stdout) as PathPlan;
  check(
    plan.versionPolicy.target === back && plan.versionPolicy.change === 'downgrade' && plan.rollbackRevision === previous.revision,
    `plan --rollback goes to ${plan.versionPolicy.target} (${plan.versionPolicy.change}) at revision ${plan.rollbackRevision}, want ${back} (downgrade) at ${previous.revision}`,
  );
  const applyCrds = plan.steps.find((s) => s.id === 'apply-crds');
  check(applyCrds?.skip !== undefined, `plan --rollback applies CRDs (step apply-crds ${applyCrds ? 'not skipped' : 'missing'})`);
  let changes = changed(before, await clusterSnapshot(w));
  check(changes.length === 0, `plan --rollback changed the cluster: ${some(changes)}`);

  // Below Dapr's floor: refused with exit 3, nothing changed.
  if (semver.gte(to, ROLLBACK_FLOOR.from) && semver.lt(from, ROLLBACK_FLOOR.below)) {
    before = await clusterSnapshot(w);
    const refused = await daprup(w, ['rollback', '--to-revision', String(installed.revision), '--yes']);
    check(
      refused.code === 3 && /cannot be rolled back/.test(refused.stderr),
      `rollback --to-revision ${installed.revision} (${installed.chart}) exited ${refused.code}, want 3 (refused): ${firstLine(refused.stderr)}`,
    );
    changes = changed(before, await clusterSnapshot(w));
    check(changes.length === 0, `the refused rollback changed the cluster: ${some(changes)}`);
  } else notes.push(`no floor between ${from} and ${to}: refusal not tried`);

  // The rollback itself, against what helm must replace to render that revision's chart with its values.
  const revisionValues = join(w.work, 'revision-values.yaml');
  await writeFile(
    revisionValues,
    await helm(w, ['get', 'values', RELEASE.name, '--namespace', RELEASE.namespace, '--revision', String(previous.revision), '-o', 'yaml']),
  );
  const mustReplace = await statefulSetsHelmMustReplace(w, RELEASE, back, ['--reset-values', '-f', revisionValues]);
  const revisions = await revisionsPerWorkload(w);
  const uidsBefore = new Map((await statefulSets(w, RELEASE.namespace)).map((x) => [x.metadata.name, x.metadata.uid]));
  w.log(`  daprup rollback --yes (to revision ${previous.revision}, ${back})`);
  const watcher = watchConversionWebhook(w);
  const r = await daprup(w, ['rollback', '--yes']);
  const conversionNamespaces = await watcher.stop();
  if (r.code !== 0) return { failures: [...failures, exited('rollback', r)], upgradeSeconds: r.seconds, recreated: [], notes };

  const last = (await releaseHistory(w, RELEASE.name, RELEASE.namespace)).at(-1);
  check(
    last?.status === 'deployed' && last.chart === `dapr-${back}`,
    `release is ${last?.chart} ${last?.status}, want dapr-${back} deployed`,
  );
  const pods = await livePods(w);
  failures.push(...controlPlaneFailures(pods, RELEASE.namespace, back));
  const sts = await statefulSets(w, RELEASE.namespace);
  failures.push(...placementFailures(sts, false));
  const values = JSON.parse(await helm(w, ['get', 'values', RELEASE.name, '--namespace', RELEASE.namespace, '-o', 'json'])) as unknown;
  check(get(values, 'global.ha.enabled') !== true, 'global.ha.enabled is still true after going back to a revision without HA');
  failures.push(...userValueFailures(values));
  check((await trustBundleData(w, RELEASE.namespace)) === bundle, 'trust bundle Secret/ConfigMap data changed');
  // CRDs are never downgraded: the target's stay as they are.
  failures.push(...(await crdFailures(w, to)));
  failures.push(...restartFailures(apps.workloads, revisions, await revisionsPerWorkload(w), 1));
  failures.push(...sidecarFailures(pods, apps.workloads, back));
  failures.push(...(await conversionWebhookFailures(w, RELEASE.namespace, conversionNamespaces)));

  const recreated = sts
    .filter((x) => uidsBefore.has(x.metadata.name) && uidsBefore.get(x.metadata.name) !== x.metadata.uid)
    .map((x) => x.metadata.name)
    .sort();
  const plannedSts = plan.statefulSets.map((x) => x.name).sort();
  check(same(recreated, plannedSts), `StatefulSets recreated [${recreated}] but the plan said [${plannedSts}]`);
  check(same(recreated, mustReplace), `StatefulSets recreated [${recreated}], helm cannot update in place [${mustReplace}]`);
  if (recreated.length) notes.push(`recreated ${recreated.join(', ')}`);
  return { failures, upgradeSeconds: r.seconds, recreated, notes };
}
