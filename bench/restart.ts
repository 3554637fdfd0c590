// Benchmark 3, restart throughput: BENCH_RESTART_WORKLOADS Dapr-enabled Deployments whose new pods take
// BENCH_RESTART_DELAY_MS to become ready (the sandbox's kwok pod-ready stage delay), restarted with
// `daprup restart --all --yes --concurrency C` for each C in BENCH_RESTART_CONCURRENCY, against the ideal
// ceil(N/C)·T and a serial `kubectl rollout restart` + `rollout status` loop. The serial loop, and C = 1, run on
// the BENCH_SERIAL_WORKLOADS of one namespace and are extrapolated linearly to N (at T = 3 s, C = 1 over 200
// workloads alone would take 10 minutes).
import { join } from 'node:path';
import { applyApps, appsIn, kubectl, startBenchCluster, waitAvailable, type App, type BenchCluster } from './lib/cluster.js';
import { check, countingShims, measure, measureDaprup, REPO, type Measured } from './lib/exec.js';
import { envInt, envList, ms, ratio, table, type Verdict } from './lib/stats.js';

const LIMIT = 1.25;
const TARGET_CONCURRENCY = 8;

interface Run {
  label: string;
  workloads: number;
  concurrency?: number;
  m: Measured;
  ideal?: number;
}

export async function restartBenchmark(log: (line: string) => void): Promise<{ text: string; verdicts: Verdict[] }> {
  const n = envInt('BENCH_RESTART_WORKLOADS', 200);
  const delay = envInt('BENCH_RESTART_DELAY_MS', 3000);
  const concurrencies = envList('BENCH_RESTART_CONCURRENCY', [1, 8, 32]);
  const serialN = Math.min(n, envInt('BENCH_SERIAL_WORKLOADS', 20));
  const namespaces = Math.max(1, Math.ceil(n / serialN)); // one namespace holds exactly the serial subset
  const apps = appsIn('restart', namespaces, n);
  const subset = apps.filter((a) => a.namespace === apps[0]!.namespace);
  const cluster = await startBenchCluster({ nodes: Math.ceil((n + Math.max(...concurrencies) + 100) / 100), podReadyDelayMs: delay, log });
  const shims = await countingShims({ helm: cluster.helm, kubectl: cluster.kubectl });
  const runs: Run[] = [];
  let single: Measured;
  try {
    await applyApps(cluster, apps, { 'daprup-bench': 'restart' });
    await waitAvailable(cluster, 'daprup-bench=restart', n, 10 * 60_000, log);
    log(`restart: ${n} workloads in ${namespaces} namespaces available`);

    // The pod-ready delay at work: one rollout takes at least T.
    single = check(
      await measure('bash', [join(REPO, 'bench', 'serial-restart.sh'), '--kubeconfig', cluster.sandbox.kubeconfig], {
        shims,
        env: { KUBECTL: shims.kubectl },
        input: `${subset[0]!.namespace} ${subset[0]!.name}\n`,
      }),
      'one rollout',
    );
    if (single.wallMs < delay)
      throw new Error(`one rollout took ${ms(single.wallMs)}, less than the pod-ready delay ${ms(delay)}: the delay is not in effect`);
    log(`restart: one rollout restart + status takes ${ms(single.wallMs)} (pod-ready delay ${ms(delay)})`);

    const serial = check(
      await measure('bash', [join(REPO, 'bench', 'serial-restart.sh'), '--kubeconfig', cluster.sandbox.kubeconfig], {
        shims,
        env: { KUBECTL: shims.kubectl },
        input: subset.map((a) => `${a.namespace} ${a.name}\n`).join(''),
      }),
      'serial restart loop',
    );
    runs.push({ label: 'serial kubectl loop', workloads: subset.length, m: serial, ideal: subset.length * delay });
    log(`restart: serial loop over ${subset.length}: ${ms(serial.wallMs)}`);

    for (const c of concurrencies) {
      const scope = c === 1 ? subset : apps;
      const before = await restartedAt(cluster, scope);
      const args = ['restart', '--all', '--yes', '--concurrency', String(c), ...(c === 1 ? ['--namespace', subset[0]!.namespace] : [])];
      const m = check(
        await measureDaprup(args, { shims, kubeconfig: cluster.sandbox.kubeconfig, stateDir: cluster.env.stateDir, env: cluster.env.env }),
        `daprup ${args.join(' ')}`,
      );
      const after = await restartedAt(cluster, scope);
      const restartedOnce = scope.filter((a) => after.get(key(a)) !== before.get(key(a))).length;
      if (restartedOnce !== scope.length)
        throw new Error(`daprup restart --concurrency ${c} restarted ${restartedOnce} of ${scope.length} workloads`);
      runs.push({
        label: `daprup restart --concurrency ${c}`,
        workloads: scope.length,
        concurrency: c,
        m,
        ideal: Math.ceil(scope.length / c) * delay,
      });
      log(`restart: --concurrency ${c} over ${scope.length}: ${ms(m.wallMs)} (ideal ${ms(Math.ceil(scope.length / c) * delay)})`);
    }
  } finally {
    await shims.remove();
    await cluster.stop();
  }
  return report(runs, single, { n, delay, namespaces });
}

const key = (a: App) => `${a.namespace}/${a.name}`;

/** kubectl.kubernetes.io/restartedAt of each workload's pod template: it changes once per rollout restart. */
async function restartedAt(c: BenchCluster, apps: readonly App[]): Promise<Map<string, string>> {
  const out = await kubectl(c, [
    'get',
    'deployments',
    '--all-namespaces',
    '--selector',
    'daprup-bench=restart',
    '-o',
    'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}{"\\n"}{end}',
  ]);
  const wanted = new Set(apps.map(key));
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string])
      .filter(([k]) => wanted.has(k))
      .map(([k, v]) => [k, v ?? '']),
  );
}

/** Processes by subcommand, e.g. "kubectl rollout restart 10, kubectl rollout status 200, helm list 1". */
function breakdown(m: Measured): string {
  const counts = new Map<string, number>();
  for (const line of m.calls) {
    const words = line
      .split(' ')
      .slice(1)
      .filter((w, i, all) => !w.startsWith('-') && !(i > 0 && all[i - 1] === '--kubeconfig'));
    const sub = `${line.split(' ')[0]} ${words[0] === 'rollout' ? `rollout ${words[1]}` : words[0]}`;
    counts.set(sub, (counts.get(sub) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
}

function report(runs: Run[], single: Measured, o: { n: number; delay: number; namespaces: number }): { text: string; verdicts: Verdict[] } {
  const rows = runs.map((r) => {
    const perWorkload = r.m.wallMs / r.workloads;
    const atN = r.workloads === o.n ? r.m.wallMs : perWorkload * o.n;
    const idealAtN = r.concurrency ? Math.ceil(o.n / r.concurrency) * o.delay : o.n * o.delay;
    return [
      r.label,
      r.workloads,
      ms(r.m.wallMs),
      ms(r.ideal!),
      ratio(r.m.wallMs / r.ideal!),
      `${ms(atN)}${r.workloads === o.n ? '' : ' (extrapolated)'}`,
      ms(idealAtN),
      r.m.helm + r.m.kubectl,
      breakdown(r.m),
    ];
  });
  const t = table(
    ['restart', 'workloads', 'wall', 'ideal ⌈N/C⌉·T', 'vs ideal', `at N = ${o.n}`, 'ideal at N', 'processes', 'kubectl calls'],
    rows,
  );
  const serial = runs.find((r) => !r.concurrency)!;
  const verdicts: Verdict[] = [];
  const target = runs.find((r) => r.concurrency === TARGET_CONCURRENCY && r.workloads === o.n);
  if (target) {
    const x = target.m.wallMs / target.ideal!;
    const serialAtN = (serial.m.wallMs / serial.workloads) * o.n;
    verdicts.push({
      benchmark: `restart: ${o.n} workloads, --concurrency ${TARGET_CONCURRENCY}, T = ${ms(o.delay)}`,
      target: `≤ ${LIMIT}× ideal ⌈N/C⌉·T`,
      measured: `${ratio(x)} (${ms(target.m.wallMs)} vs ${ms(target.ideal!)}; serial loop ${ms(serialAtN)} extrapolated, ${ratio(serialAtN / target.m.wallMs)} slower)`,
      met: x <= LIMIT,
      margin: x <= LIMIT ? `${(LIMIT - x).toFixed(2)}× under the limit` : `${(x - LIMIT).toFixed(2)}× over the limit`,
    });
    const statuses = target.m.calls.filter((c) => / rollout status /.test(c)).length;
    const restarts = target.m.calls.filter((c) => / rollout restart /.test(c)).length;
    const others = target.m.helm + target.m.kubectl - statuses - restarts;
    verdicts.push({
      benchmark: `restart: processes at --concurrency ${TARGET_CONCURRENCY}`,
      target: `one rollout status per workload, at most one rollout restart per workload (one per namespace for those starting together), discovery constant`,
      measured: `${target.m.helm + target.m.kubectl}: ${statuses} rollout status, ${restarts} rollout restart for ${o.n} workloads in ${o.namespaces} namespaces, ${others} discovery`,
      met: statuses === o.n && restarts <= o.n && others <= 10,
      margin: `${o.n - restarts} restart processes saved by batching (${restarts} for ${o.n} workloads)`,
    });
  }
  const text = [
    `Restart throughput (T = ${ms(o.delay)} pod-ready delay; one rollout restart + status of one workload: ${ms(single.wallMs)})`,
    '',
    t,
  ].join('\n');
  return { text, verdicts };
}
