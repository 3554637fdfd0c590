// Benchmarks 2 and 4, discovery at fleet scale and its scaling curve: `daprup status` and `daprup plan --to 1.17.2`
// (from 1.16.19) on a sandbox cluster with BENCH_WORKLOADS Dapr-enabled workloads of every kind (1 pod each; see
// fleetObject: Deployments, StatefulSets RollingUpdate and OnDelete, running Jobs, bare Pods and ReplicaSets, CronJobs) across
// BENCH_NAMESPACES namespaces, measured at each of BENCH_SCALES workloads as they are added. Reference: the naive
// runbook (bench/naive-runbook.sh), one kubectl call per namespace and per workload, measured up to
// BENCH_NAIVE_MAX workloads and extrapolated linearly beyond.
import { join } from 'node:path';
import {
  applyApps,
  appsIn,
  fleetKind,
  fleetObject,
  fleetSpelling,
  RESTARTED_KINDS,
  RUNNING_KINDS,
  startBenchCluster,
  TO_VERSION,
  waitPodsReady,
  type BenchCluster,
} from './lib/cluster.js';
import { check, countingShims, measure, measureDaprup, REPO, type Measured, type Shims } from './lib/exec.js';
import { envInt, envList, median, mib, ms, ratio, table, type Verdict } from './lib/stats.js';

const PLAN_LIMIT_MS = 5_000;
const PLAN_LIMIT_KIB = 200 * 1024;
const PROCESS_LIMIT = 15;

interface Point {
  workloads: number;
  status: Measured[];
  plan: Measured[];
  naive?: Measured;
}

const wall = (ms_: Measured[]) => median(ms_.map((m) => m.wallMs));
const rss = (ms_: Measured[]) => median(ms_.map((m) => m.nodeRssKiB ?? NaN));
const treeRss = (ms_: Measured[]) => median(ms_.map((m) => m.treeRssKiB ?? NaN));
const procs = (m: Measured) => m.helm + m.kubectl;

/** Least squares y = a + b·x. */
function fit(points: [number, number][]): (x: number) => number {
  if (points.length === 1) return (x) => (points[0]![1] / points[0]![0]) * x;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const b = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return (x) => my + b * (x - mx);
}

export async function discoveryBenchmark(log: (line: string) => void): Promise<{ text: string; verdicts: Verdict[] }> {
  const total = envInt('BENCH_WORKLOADS', 2000);
  const namespaces = Math.min(total, envInt('BENCH_NAMESPACES', 100));
  const scales = [...new Set([...envList('BENCH_SCALES', [100, 500, 1000, 2000]).filter((s) => s < total), total])].sort((a, b) => a - b);
  const repeats = Math.max(1, envInt('BENCH_REPEATS', 3));
  const naiveMax = envInt('BENCH_NAIVE_MAX', 500);
  // kwok nodes take 110 pods each; room for the control plane and rollouts.
  const cluster = await startBenchCluster({ nodes: Math.ceil((total + 200) / 100), log });
  const shims = await countingShims({ helm: cluster.helm, kubectl: cluster.kubectl });
  const points: Point[] = [];
  try {
    let deployed = 0;
    for (const scale of scales) {
      const t0 = Date.now();
      const index = new Map(appsIn('fleet', namespaces, scale).map((a, i) => [a.name, i]));
      await applyApps(cluster, appsIn('fleet', namespaces, scale, deployed), { 'daprup-bench': 'fleet' }, 250, 4, (a, labels) =>
        fleetObject(a, index.get(a.name)!, labels),
      );
      await waitPodsReady(cluster, 'daprup-bench=fleet', countKinds(scale, RUNNING_KINDS), 20 * 60_000, log);
      deployed = scale;
      log(`discovery: ${scale} workloads in ${namespaces} namespaces available (+${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      await validate(cluster, shims, scale);
      const point: Point = { workloads: scale, status: [], plan: [] };
      for (let r = 0; r < repeats; r++) {
        point.status.push(check(await daprup(cluster, shims, ['status']), 'daprup status'));
        point.plan.push(check(await daprup(cluster, shims, ['plan', '--to', TO_VERSION]), 'daprup plan'));
      }
      if (scale <= naiveMax) point.naive = await naiveRunbook(cluster, shims, scale);
      points.push(point);
      log(
        `discovery at ${scale}: status ${ms(wall(point.status))}, plan ${ms(wall(point.plan))}${point.naive ? `, naive runbook ${ms(point.naive.wallMs)}` : ''}`,
      );
    }
  } finally {
    await shims.remove();
    await cluster.stop();
  }
  return report(points, { total, namespaces, repeats, naiveMax });
}

function daprup(c: BenchCluster, shims: Shims, args: string[]): Promise<Measured> {
  return measureDaprup(args, { shims, kubeconfig: c.sandbox.kubeconfig, stateDir: c.env.stateDir, env: c.env.env });
}

const countKinds = (n: number, kinds: ReadonlySet<string>) =>
  Array.from({ length: n }, (_, i) => fleetKind(i)).filter((k) => kinds.has(k)).length;

/** Not timed: what daprup reads must be the whole fleet, or the figures mean nothing. */
async function validate(c: BenchCluster, shims: Shims, workloads: number): Promise<void> {
  const status = JSON.parse(check(await daprup(c, shims, ['status', '--json']), 'daprup status --json').stdout) as {
    dataPlane: { namespace: string; sidecarVersions: string[] }[];
  };
  const fleet = status.dataPlane.filter((w) => w.namespace.startsWith('fleet-'));
  const withSidecar = fleet.filter((w) => w.sidecarVersions.length > 0).length;
  const running = countKinds(workloads, RUNNING_KINDS);
  if (fleet.length !== workloads || withSidecar !== running)
    throw new Error(
      `daprup status saw ${fleet.length} fleet workloads (${withSidecar} with a sidecar), expected ${workloads} (${running})`,
    );
  const plan = JSON.parse(check(await daprup(c, shims, ['plan', '--to', TO_VERSION, '--json']), 'daprup plan --json').stdout) as {
    workloads: { namespace: string; decision: string }[];
  };
  const fleetPlan = plan.workloads.filter((w) => w.namespace.startsWith('fleet-'));
  const restarts = fleetPlan.filter((w) => w.decision === 'restart').length;
  const named = fleetPlan.filter((w) => w.decision === 'unreached').length;
  const expected = countKinds(workloads, RESTARTED_KINDS);
  if (restarts !== expected || named !== running - expected)
    throw new Error(
      `daprup plan would restart ${restarts} fleet workloads and name ${named}, expected ${expected} and ${running - expected}`,
    );
}

async function naiveRunbook(c: BenchCluster, shims: Shims, workloads: number): Promise<Measured> {
  const m = check(
    await measure('bash', [join(REPO, 'bench', 'naive-runbook.sh'), '--kubeconfig', c.sandbox.kubeconfig], {
      shims,
      env: { KUBECTL: shims.kubectl },
    }),
    'naive-runbook.sh',
  );
  const found = m.stdout.split('\n').filter((l) => l.startsWith('fleet-') && l.includes('daprd:')).length;
  // It looks at Deployments annotated exactly "true": the other spellings and kinds are invisible to it.
  const visible = Array.from({ length: workloads }, (_, i) => i).filter(
    (i) => fleetKind(i) === 'Deployment' && fleetSpelling(i) === 'true',
  ).length;
  if (found !== visible) throw new Error(`the naive runbook found ${found} fleet sidecars, expected ${visible} (of ${workloads})`);
  return m;
}

function report(
  points: Point[],
  o: { total: number; namespaces: number; repeats: number; naiveMax: number },
): { text: string; verdicts: Verdict[] } {
  const last = points.at(-1)!;
  const measuredNaive = points.filter((p) => p.naive);
  const naiveWall = fit(measuredNaive.map((p) => [p.workloads, p.naive!.wallMs]));
  const naiveProcs = fit(measuredNaive.map((p) => [p.workloads, procs(p.naive!)]));
  const naiveNote = (p: Point) => (p.naive ? '' : measuredNaive.length ? ' (extrapolated)' : '');
  const naiveAt = (p: Point) => (p.naive ? p.naive.wallMs : measuredNaive.length ? naiveWall(p.workloads) : NaN);
  const naiveProcsAt = (p: Point) => (p.naive ? procs(p.naive) : measuredNaive.length ? Math.round(naiveProcs(p.workloads)) : NaN);

  const at = table(
    ['command', 'wall (median)', 'peak RSS daprup', 'peak RSS any process', 'helm + kubectl processes', 'vs naive runbook'],
    [
      ...(['status', 'plan'] as const).map((k) => {
        const ms_ = last[k];
        return [
          `daprup ${k === 'plan' ? `plan --to ${TO_VERSION}` : 'status'}`,
          ms(wall(ms_)),
          mib(rss(ms_)),
          mib(treeRss(ms_)),
          `${ms_[0]!.helm} + ${ms_[0]!.kubectl}`,
          ratio(wall(ms_) / naiveAt(last)),
        ];
      }),
      [
        `naive runbook${naiveNote(last)}`,
        ms(naiveAt(last)),
        '-',
        last.naive ? mib(last.naive.treeRssKiB) : '-',
        last.naive ? `0 + ${last.naive.kubectl}` : `0 + ~${naiveProcsAt(last)}`,
        '1.00×',
      ],
    ],
  );
  const curve = table(
    [
      'workloads',
      'status wall',
      'status RSS',
      'plan wall',
      'plan RSS',
      'processes (status / plan)',
      'naive runbook wall',
      'naive processes',
    ],
    points.map((p) => [
      p.workloads,
      ms(wall(p.status)),
      mib(rss(p.status)),
      ms(wall(p.plan)),
      mib(rss(p.plan)),
      `${procs(p.status[0]!)} / ${procs(p.plan[0]!)}`,
      `${ms(naiveAt(p))}${naiveNote(p)}`,
      `${naiveProcsAt(p)}${naiveNote(p)}`,
    ]),
  );
  const first = points[0]!;
  const growth =
    points.length > 1
      ? (['status', 'plan'] as const)
          .map((k) => {
            const dw = (last.workloads - first.workloads) / 1000;
            const dt = (wall(last[k]) - wall(first[k])) / dw;
            const dm = (rss(last[k]) - rss(first[k])) / dw;
            return `${k} ${dt < 0 ? '-' : '+'}${ms(Math.abs(dt))} and ${dm < 0 ? '-' : '+'}${mib(Math.abs(dm))} per 1,000 workloads`;
          })
          .join('; ')
      : '';

  const planWall = wall(last.plan);
  const planRss = rss(last.plan);
  const allProcs = points.flatMap((p) => [...p.status, ...p.plan].map(procs));
  const maxProcs = Math.max(...allProcs);
  const constant = points.every((p) => procs(p.status[0]!) === procs(first.status[0]!) && procs(p.plan[0]!) === procs(first.plan[0]!));
  const verdicts: Verdict[] = [
    {
      benchmark: `discovery: processes, ${points.map((p) => p.workloads).join('/')} workloads`,
      target: `constant, ≤ ${PROCESS_LIMIT}`,
      measured: `${constant ? 'constant' : 'GROWS'}: status ${procs(last.status[0]!)}, plan ${procs(last.plan[0]!)} (naive runbook: ${naiveProcsAt(last)}${naiveNote(last)})`,
      met: constant && maxProcs <= PROCESS_LIMIT,
      margin: !constant
        ? 'grows with workloads'
        : maxProcs <= PROCESS_LIMIT
          ? `${PROCESS_LIMIT - maxProcs} under`
          : `${maxProcs - PROCESS_LIMIT} over (plan)`,
    },
    {
      benchmark: `discovery: plan wall time at ${last.workloads}`,
      target: `< ${ms(PLAN_LIMIT_MS)}`,
      measured: `${ms(planWall)} (status ${ms(wall(last.status))}; naive runbook ${ms(naiveAt(last))}${naiveNote(last)})`,
      met: planWall < PLAN_LIMIT_MS,
      margin: planWall < PLAN_LIMIT_MS ? `${ms(PLAN_LIMIT_MS - planWall)} under` : `${ms(planWall - PLAN_LIMIT_MS)} over`,
    },
    {
      benchmark: `discovery: plan peak memory at ${last.workloads}`,
      target: `< ${mib(PLAN_LIMIT_KIB)} (daprup's own process)`,
      measured: `${mib(planRss)} (status ${mib(rss(last.status))}; largest kubectl/helm ${mib(Math.max(treeRss(last.plan), treeRss(last.status)))})`,
      met: planRss < PLAN_LIMIT_KIB,
      margin: planRss < PLAN_LIMIT_KIB ? `${mib(PLAN_LIMIT_KIB - planRss)} under` : `${mib(planRss - PLAN_LIMIT_KIB)} over`,
    },
  ];
  const text = [
    `Discovery at ${last.workloads} Dapr-enabled workloads of every kind (fleetObject) in ${o.namespaces} namespaces (median of ${o.repeats}; naive runbook measured up to ${o.naiveMax} workloads${measuredNaive.length < points.length ? ', extrapolated linearly beyond' : ''})`,
    '',
    at,
    '',
    `Scaling curve (daprup's own peak RSS; processes = helm + kubectl started)`,
    '',
    curve,
    ...(growth ? ['', `Growth from ${first.workloads} to ${last.workloads} workloads: ${growth}.`] : []),
  ].join('\n');
  return { text, verdicts };
}
