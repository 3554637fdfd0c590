// `npm run conformance`: daprup against the REAL published Dapr charts, on one sandbox control plane, for every
// supported hop from 1.14 to the newest 1.18 patch, with helm 3 and helm 4. Prints a matrix (hop × helm major →
// result, time), writes it as Markdown, exits 1 when any scenario fails; the last line is `N passed, N failed`
// (scenarios).
//
// Environment:
//   DAPRUP_CHARTS_DIR        directory of dapr-<version>.tgz (e.g. from github dapr/helm-charts). Without it the
//                            charts are pulled from https://dapr.github.io/helm-charts/ (needs the network).
//   CONFORMANCE_HOPS         comma list of FROM>TO; each side a version (1.16.15) or a minor (1.16 = its newest patch).
//                            Default: newest 1.14 > newest 1.15 > … > newest 1.18, plus the newest minor's previous
//                            patch > its newest.
//   CONFORMANCE_HELM         3,4 (default both)
//   CONFORMANCE_SCENARIOS    comma list (default all): upgrade, enable-ha, disable-ha, failed-release, custom-release,
//                            values-file, variant-tag. A patch hop runs only upgrade and failed-release.
//   CONFORMANCE_RESUME=1     keep the passed scenarios of the last run (same charts) from DAPRUP_CONFORMANCE_OUT.json
//   CONFORMANCE_KUBECONFIG   use a sandbox that is already running (`npm run sandbox`) instead of starting one
//   DAPRUP_CONFORMANCE_OUT   Markdown report (default test/conformance/last-run.md, not committed); results in <out>.json
//   DAPRUP_TEST_REPORT       also write vitest-style counts there (for .ci/run's summary)
//   DAPRUP_CONFORMANCE_CLI   another daprup build's bin/run.js to test instead of this checkout's (e.g. a release)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import semver from 'semver';
import { servePackages, type ChartRepo } from '../support/chart-repo.js';
import { makeTrustBundle } from '../support/certs.js';
import { HELM_FLAVOURS, helmHomeEnv, REPO_ROOT, runTool, type HelmFlavour } from '../support/tools.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { cleanCluster, runScenario, SCENARIO_NAMES, SCENARIOS, type Scenario, type ScenarioName, type World } from './scenarios.js';

const UPSTREAM = 'https://dapr.github.io/helm-charts/';
const FIRST_MINOR = '1.14';
const OUT = resolve(process.env.DAPRUP_CONFORMANCE_OUT ?? join(REPO_ROOT, 'test/conformance/last-run.md'));
const RESULTS = `${OUT}.json`;

interface Hop {
  from: string;
  to: string;
}
interface Result {
  from: string;
  to: string;
  helm: 3 | 4;
  scenario: ScenarioName;
  passed: boolean;
  seconds: number;
  upgradeSeconds?: number;
  failures: string[];
  notes: string[];
  kept?: boolean;
}

const log = (line: string) => console.error(line);
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const hopName = (h: { from: string; to: string }) => `${h.from} → ${h.to}`;
const isPatchHop = (h: Hop) => semver.major(h.from) === semver.major(h.to) && semver.minor(h.from) === semver.minor(h.to);
const minorOf = (v: string) => `${semver.major(v)}.${semver.minor(v)}`;
const fmt = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

/** Stable versions in the charts directory, oldest first. */
function chartVersions(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => /^dapr-(\d+\.\d+\.\d+(?:-[\w.]+)?)\.tgz$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined && semver.valid(v) !== null && semver.prerelease(v) === null)
    .sort(semver.compare);
}

function newestOf(minor: string, versions: string[]): string | undefined {
  return versions.filter((v) => minorOf(v) === minor).at(-1);
}

function resolveHops(spec: string | undefined, versions: string[]): Hop[] {
  const pick = (side: string): string => {
    if (/^\d+\.\d+$/.test(side)) {
      const v = newestOf(side, versions);
      if (!v) throw new Error(`no chart of Dapr ${side} in the charts directory`);
      return v;
    }
    if (!versions.includes(side)) throw new Error(`no chart dapr-${side}.tgz in the charts directory`);
    return side;
  };
  if (spec) {
    return list(spec).map((h) => {
      const [from, to] = h.split(/->|>/).map((x) => x.trim());
      if (!from || !to) throw new Error(`CONFORMANCE_HOPS: "${h}" is not FROM>TO`);
      return { from: pick(from), to: pick(to) };
    });
  }
  const minors = [...new Set(versions.map(minorOf))].filter((m) => semver.gte(`${m}.0`, `${FIRST_MINOR}.0`));
  const hops: Hop[] = [];
  for (let i = 0; i + 1 < minors.length; i++) hops.push({ from: newestOf(minors[i]!, versions)!, to: newestOf(minors[i + 1]!, versions)! });
  const newestMinor = versions.filter((v) => minorOf(v) === minors.at(-1));
  if (newestMinor.length >= 2) hops.push({ from: newestMinor.at(-2)!, to: newestMinor.at(-1)! });
  return hops;
}

/** DAPRUP_CHARTS_DIR, or the published charts pulled into a temp dir (network). */
async function chartsDir(work: string): Promise<string> {
  const dir = process.env.DAPRUP_CHARTS_DIR;
  if (dir) {
    if (!existsSync(dir)) throw new Error(`DAPRUP_CHARTS_DIR=${dir} does not exist`);
    return resolve(dir);
  }
  const pulled = join(work, 'charts');
  await mkdir(pulled, { recursive: true });
  const env = helmHomeEnv(join(work, 'upstream-helm'));
  const helm = HELM_FLAVOURS[0]!.helm;
  try {
    await runTool(helm, ['repo', 'add', 'dapr-upstream', UPSTREAM], { env });
  } catch (err) {
    throw new Error(
      `DAPRUP_CHARTS_DIR is not set and ${UPSTREAM} is unreachable (${(err as Error).message.split('\n')[0]}). Put dapr-<version>.tgz files in a directory and set DAPRUP_CHARTS_DIR.`,
    );
  }
  const found = JSON.parse(await runTool(helm, ['search', 'repo', 'dapr-upstream/dapr', '--versions', '-o', 'json'], { env })) as {
    name: string;
    version: string;
  }[];
  const versions = found
    .filter((c) => c.name === 'dapr-upstream/dapr')
    .map((c) => c.version)
    .filter((v) => semver.valid(v) && !semver.prerelease(v))
    .sort(semver.compare);
  // Only what the hops need: the newest two patches of every minor from FIRST_MINOR on, plus any version named.
  const named = list(process.env.CONFORMANCE_HOPS)
    .flatMap((h) => h.split(/->|>/))
    .map((x) => x.trim())
    .filter((x) => /^\d+\.\d+\.\d+$/.test(x));
  const minors = [...new Set(versions.map(minorOf))].filter((m) => semver.gte(`${m}.0`, `${FIRST_MINOR}.0`));
  const wanted = new Set([...minors.flatMap((m) => versions.filter((v) => minorOf(v) === m).slice(-2)), ...named]);
  for (const v of wanted) {
    log(`pulling dapr ${v} from ${UPSTREAM}`);
    await runTool(helm, ['pull', 'dapr-upstream/dapr', '--version', v, '--destination', pulled], { env });
  }
  return pulled;
}

async function loadKept(chartKey: string): Promise<Result[]> {
  if (process.env.CONFORMANCE_RESUME !== '1' || !existsSync(RESULTS)) return [];
  const last = JSON.parse(await readFile(RESULTS, 'utf8')) as { charts: string; results: Result[] };
  if (last.charts !== chartKey) {
    log(`CONFORMANCE_RESUME: ${RESULTS} was made with other charts; running everything`);
    return [];
  }
  return last.results.filter((r) => r.passed).map((r) => ({ ...r, kept: true }));
}

function toolVersion(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

function report(
  results: Result[],
  hops: Hop[],
  majors: (3 | 4)[],
  meta: { started: Date; charts: string[]; seconds: number; tools: string[] },
): string {
  const cell = (h: Hop, m: 3 | 4): string => {
    const rs = results.filter((r) => r.from === h.from && r.to === h.to && r.helm === m);
    if (rs.length === 0) return '–';
    const failed = rs.filter((r) => !r.passed);
    const secs = rs.reduce((a, r) => a + r.seconds, 0);
    return failed.length === 0
      ? `✔ pass (${rs.length}) ${fmt(secs)}`
      : `✖ FAIL ${failed.map((r) => r.scenario).join(', ')} (${rs.length - failed.length}/${rs.length} passed) ${fmt(secs)}`;
  };
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  const lines = [
    '# daprup conformance on the published Dapr charts',
    '',
    `- date: ${meta.started.toISOString()} (took ${fmt(meta.seconds)})`,
    `- daprup: ${process.env.DAPRUP_CONFORMANCE_CLI ?? `${REPO_ROOT} at ${toolVersion('git', ['-C', REPO_ROOT, 'describe', '--always', '--dirty'])}`}`,
    `- charts: ${meta.charts.map((v) => `dapr-${v}`).join(', ')}`,
    `- tools: ${meta.tools.join('; ')}; Kubernetes v1.33 sandbox (kwok nodes, operator and injector stand-ins)`,
    '',
    `| hop | ${majors.map((m) => `helm ${m}`).join(' | ')} |`,
    `|---|${majors.map(() => '---').join('|')}|`,
    ...hops.map((h) => `| ${hopName(h)} | ${majors.map((m) => cell(h, m)).join(' | ')} |`),
    '',
    '## Scenarios',
    '',
    ...SCENARIOS.map((s) => `- \`${s.name}\`: ${s.about}`),
    '',
    '| hop | helm | scenario | result | time (daprup upgrade) | detail |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${hopName(r)} | ${r.helm} | ${r.scenario} | ${r.passed ? 'pass' : '**FAIL**'}${r.kept ? ' (kept from last run)' : ''} | ${fmt(r.seconds)} (${r.upgradeSeconds === undefined ? '–' : fmt(r.upgradeSeconds)}) | ${[...r.failures, ...r.notes].join('; ').replace(/\|/g, '\\|')} |`,
    ),
    '',
    `${passed} passed, ${failed} failed`,
  ];
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const started = new Date();
  const work = await mkdtemp(join(tmpdir(), 'daprup-conformance-'));
  const dir = await chartsDir(work);
  const versions = chartVersions(dir);
  const hops = resolveHops(process.env.CONFORMANCE_HOPS, versions);
  const majors = (list(process.env.CONFORMANCE_HELM).length ? list(process.env.CONFORMANCE_HELM).map(Number) : [3, 4]) as (3 | 4)[];
  const flavours = majors.map((m) => {
    const f = HELM_FLAVOURS.find((x) => x.major === m);
    if (!f) throw new Error(`CONFORMANCE_HELM: no helm ${m} (have ${HELM_FLAVOURS.map((x) => x.major).join(', ')})`);
    return f;
  });
  const names = list(process.env.CONFORMANCE_SCENARIOS);
  for (const n of names)
    if (!SCENARIO_NAMES.includes(n as ScenarioName))
      throw new Error(`CONFORMANCE_SCENARIOS: unknown scenario "${n}" (known: ${SCENARIO_NAMES.join(', ')})`);
  const scenarios = SCENARIOS.filter((s) => names.length === 0 || names.includes(s.name));
  const used = [...new Set(hops.flatMap((h) => [h.from, h.to]))].sort(semver.compare);
  const chartKey = used.join(',');
  const kept = await loadKept(chartKey);
  const results: Result[] = [];
  const plan = hops.flatMap((hop) =>
    flavours.flatMap((flavour) => scenarios.filter((s) => !(s.minorOnly && isPatchHop(hop))).map((s) => ({ hop, flavour, s }))),
  );
  log(`conformance: ${plan.length} scenarios over ${hops.map(hopName).join(', ')} with helm ${majors.join(' and ')}; work dir ${work}`);

  const repo: ChartRepo = await servePackages(used.map((v) => join(dir, `dapr-${v}.tgz`)));
  let sandbox: Sandbox | undefined;
  const kubeconfig = process.env.CONFORMANCE_KUBECONFIG ? resolve(process.env.CONFORMANCE_KUBECONFIG) : undefined;
  const t0 = Date.now();
  try {
    if (!kubeconfig) {
      log('conformance: starting the sandbox control plane');
      sandbox = await startSandbox({ log: process.env.DAPRUP_SANDBOX_VERBOSE ? log : undefined });
    }
    const bundle = makeTrustBundle();
    const worlds = new Map<HelmFlavour, Omit<World, 'work'>>();
    for (const flavour of flavours) {
      const env = { ...helmHomeEnv(join(work, flavour.name), process.env), KUBECONFIG: kubeconfig ?? sandbox!.kubeconfig };
      await runTool(flavour.helm, ['repo', 'add', 'dapr', repo.url], { env });
      worlds.set(flavour, { flavour, chartsDir: dir, kubeconfig: kubeconfig ?? sandbox!.kubeconfig, env, bundle, log });
    }
    let i = 0;
    for (const { hop, flavour, s } of plan) {
      i++;
      const done = kept.find((r) => r.from === hop.from && r.to === hop.to && r.helm === flavour.major && r.scenario === s.name);
      if (done) {
        results.push(done);
        continue;
      }
      log(`[${i}/${plan.length}] ${hopName(hop)} helm ${flavour.major} ${s.name}`);
      const w: World = {
        ...worlds.get(flavour)!,
        work: await mkdtemp(join(work, `${hop.from}-${hop.to}-helm${flavour.major}-${s.name}-`)),
      };
      results.push(await runOne(w, s, hop));
      const r = results.at(-1)!;
      log(`  ${r.passed ? 'pass' : 'FAIL'} in ${fmt(r.seconds)}${r.failures.length ? `:\n    ${r.failures.join('\n    ')}` : ''}`);
      await mkdir(dirname(RESULTS), { recursive: true });
      await writeFile(RESULTS, JSON.stringify({ charts: chartKey, results }, null, 2));
    }
    await cleanCluster({ ...worlds.get(flavours[0]!)!, work }).catch(() => undefined);
  } finally {
    await repo.stop();
    await sandbox?.stop();
  }

  const tools = flavours.map(
    (f) =>
      `helm ${toolVersion(f.helm, ['version', '--short'])} + kubectl ${toolVersion(f.kubectl, ['version', '--client']).replace(/^Client Version: /, '')}`,
  );
  const md = report(results, hops, majors, { started, charts: used, seconds: (Date.now() - t0) / 1000, tools });
  await mkdir(dirname(OUT), { recursive: true });
  await writeFile(OUT, md);
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  if (process.env.DAPRUP_TEST_REPORT) {
    await writeFile(
      process.env.DAPRUP_TEST_REPORT,
      JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: 0, numTodoTests: 0 }),
    );
  }
  // Keep daprup's output of failed scenarios (<work>/<hop>-helmN-<scenario>-*/daprup.log) for a look.
  if (failed === 0) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  else log(`conformance: daprup output of every scenario in ${work}`);
  console.log(`\n${md}`);
  console.log(`(written to ${OUT})`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

async function runOne(w: World, s: Scenario, hop: Hop): Promise<Result> {
  const t0 = Date.now();
  const base = { from: hop.from, to: hop.to, helm: w.flavour.major, scenario: s.name };
  try {
    await cleanCluster(w);
    const r = await runScenario(w, s, hop.from, hop.to);
    return {
      ...base,
      passed: r.failures.length === 0,
      seconds: (Date.now() - t0) / 1000,
      upgradeSeconds: r.upgradeSeconds,
      failures: r.failures,
      notes: r.notes,
    };
  } catch (err) {
    return {
      ...base,
      passed: false,
      seconds: (Date.now() - t0) / 1000,
      failures: [`error: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`],
      notes: [],
    };
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
