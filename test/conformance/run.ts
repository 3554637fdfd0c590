// `npm run conformance`: daprup against the REAL published Dapr charts, on one sandbox control plane, for every
// supported hop from 1.14 to the newest 1.18 patch, and for the path across several minors (multi-hop upgrade and
// rollback), with helm 3 and helm 4. Prints a matrix (hop or path × helm major → result, time), writes it as
// Markdown, exits 1 when any scenario fails; the last line is `N passed, N failed` (scenarios). The loopback chart
// repository serves every chart of the directory, so daprup picks the stops of a path from a real index.
//
// Environment:
//   DAPRUP_CHARTS_DIR        directory of dapr-<version>.tgz (e.g. from github dapr/helm-charts). Without it the
//                            charts are pulled from https://dapr.github.io/helm-charts/ (needs the network).
//   CONFORMANCE_HOPS         comma list of FROM>TO; each side a version (1.16.15) or a minor (1.16 = its newest patch).
//                            Default: newest 1.14 > newest 1.15 > … > newest 1.18, plus the newest minor's previous
//                            patch > its newest.
//   CONFORMANCE_HELM         3,4 (default both)
//   CONFORMANCE_PATH         FROM>TO for the path scenarios, sides as in CONFORMANCE_HOPS. Default: the newest patch
//                            three minors below the newest minor > the newest patch (1.15 > 1.18: two stops between).
//   CONFORMANCE_SCENARIOS    comma list (default all). Per hop: upgrade, enable-ha, disable-ha, failed-release,
//                            custom-release, values-file, variant-tag (a patch hop runs only upgrade and failed-release).
//                            Per path (test/conformance/paths.ts): multi-hop, rollback.
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
import { PATH_SCENARIO_NAMES, PATH_SCENARIOS, type PathScenario, type PathScenarioName, type VersionPath } from './paths.js';
import { cleanCluster, runScenario, SCENARIO_NAMES, SCENARIOS, type ScenarioName, type ScenarioResult, type World } from './scenarios.js';

const UPSTREAM = 'https://dapr.github.io/helm-charts/';
const FIRST_MINOR = '1.14';
/** Minors from a path's start to its end (by default): 1.15 > 1.18. */
const PATH_MINORS = 3;
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
  scenario: ScenarioName | PathScenarioName;
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
const pathName = (p: VersionPath) => `${[p.from, ...p.stops, p.to].join(' → ')} (path)`;
const isPathScenario = (name: string) => PATH_SCENARIO_NAMES.includes(name as PathScenarioName);
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

/** A version (1.16.15) or a minor (1.16 = its newest patch) of the charts directory. */
function pickVersion(side: string, versions: string[]): string {
  if (/^\d+\.\d+$/.test(side)) {
    const v = newestOf(side, versions);
    if (!v) throw new Error(`no chart of Dapr ${side} in the charts directory`);
    return v;
  }
  if (!versions.includes(side)) throw new Error(`no chart dapr-${side}.tgz in the charts directory`);
  return side;
}

function fromTo(spec: string, what: string): [string, string] {
  const [from, to] = spec.split(/->|>/).map((x) => x.trim());
  if (!from || !to) throw new Error(`${what}: "${spec}" is not FROM>TO`);
  return [from, to];
}

const supportedMinors = (versions: string[]) => [...new Set(versions.map(minorOf))].filter((m) => semver.gte(`${m}.0`, `${FIRST_MINOR}.0`));

function resolveHops(spec: string | undefined, versions: string[]): Hop[] {
  if (spec) {
    return list(spec).map((h) => {
      const [from, to] = fromTo(h, 'CONFORMANCE_HOPS');
      return { from: pickVersion(from, versions), to: pickVersion(to, versions) };
    });
  }
  const minors = supportedMinors(versions);
  const hops: Hop[] = [];
  for (let i = 0; i + 1 < minors.length; i++) hops.push({ from: newestOf(minors[i]!, versions)!, to: newestOf(minors[i + 1]!, versions)! });
  const newestMinor = versions.filter((v) => minorOf(v) === minors.at(-1));
  if (newestMinor.length >= 2) hops.push({ from: newestMinor.at(-2)!, to: newestMinor.at(-1)! });
  return hops;
}

/**
 * The path scenarios' road: CONFORMANCE_PATH or PATH_MINORS minors back from the newest, with the newest patch of
 * every minor in between as its stops (what `daprup upgrade --to` must visit). Undefined when the directory has too
 * few minors for a stop.
 */
function resolvePath(spec: string | undefined, versions: string[]): VersionPath | undefined {
  const minors = supportedMinors(versions);
  const [from, to] = spec
    ? fromTo(spec, 'CONFORMANCE_PATH').map((side) => pickVersion(side, versions))
    : [newestOf(minors.at(-1 - PATH_MINORS) ?? minors[0] ?? '', versions), newestOf(minors.at(-1) ?? '', versions)];
  if (!from || !to) return undefined;
  const stops = minors
    .filter((m) => semver.gt(`${m}.0`, `${minorOf(from)}.0`) && semver.lt(`${m}.0`, `${minorOf(to)}.0`))
    .flatMap((m) => newestOf(m, versions) ?? []);
  return stops.length ? { from, to, stops } : undefined;
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
  const named = [...list(process.env.CONFORMANCE_HOPS), ...list(process.env.CONFORMANCE_PATH)]
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

/** A row of the matrix: a hop, or the path (its scenarios only). */
interface Row extends Hop {
  label: string;
  path: boolean;
}

function report(
  results: Result[],
  rows: Row[],
  majors: (3 | 4)[],
  meta: { started: Date; charts: string[]; seconds: number; tools: string[] },
): string {
  const cell = (h: Row, m: 3 | 4): string => {
    const rs = results.filter((r) => r.from === h.from && r.to === h.to && r.helm === m && isPathScenario(r.scenario) === h.path);
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
    ...rows.map((h) => `| ${h.label} | ${majors.map((m) => cell(h, m)).join(' | ')} |`),
    '',
    '## Scenarios',
    '',
    ...[...SCENARIOS, ...PATH_SCENARIOS].map((s) => `- \`${s.name}\`: ${s.about}`),
    '',
    '| hop | helm | scenario | result | time (daprup upgrade) | detail |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${hopName(r)}${isPathScenario(r.scenario) ? ' (path)' : ''} | ${r.helm} | ${r.scenario} | ${r.passed ? 'pass' : '**FAIL**'}${r.kept ? ' (kept from last run)' : ''} | ${fmt(r.seconds)} (${r.upgradeSeconds === undefined ? '–' : fmt(r.upgradeSeconds)}) | ${[...r.failures, ...r.notes].join('; ').replace(/\|/g, '\\|')} |`,
    ),
    '',
    `${passed} passed, ${failed} failed`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * What CONFORMANCE_SCENARIOS selects: hop scenarios over every hop, path scenarios over the path (each only when one
 * of its kind is selected), with every helm; the matrix rows; the chart versions they use.
 */
function selectRuns(hops: Hop[], versions: string[], flavours: HelmFlavour[]): { plan: Run[]; rows: Row[]; used: string[] } {
  const names = list(process.env.CONFORMANCE_SCENARIOS);
  const known = [...SCENARIO_NAMES, ...PATH_SCENARIO_NAMES];
  for (const n of names)
    if (!known.includes(n as ScenarioName | PathScenarioName))
      throw new Error(`CONFORMANCE_SCENARIOS: unknown scenario "${n}" (known: ${known.join(', ')})`);
  const selected = (s: { name: string }) => names.length === 0 || names.includes(s.name);
  const scenarios = SCENARIOS.filter(selected);
  const pathScenarios = PATH_SCENARIOS.filter(selected);
  // Hops only when a hop scenario is selected, the path only when a path scenario is.
  const runHops = scenarios.length ? hops : [];
  const path = pathScenarios.length ? resolvePath(process.env.CONFORMANCE_PATH, versions) : undefined;
  if (pathScenarios.length && !path) {
    if (process.env.CONFORMANCE_PATH) throw new Error(`CONFORMANCE_PATH: ${process.env.CONFORMANCE_PATH} has no minor in between`);
    log(`conformance: the charts directory has no path across three minors; ${pathScenarios.map((s) => s.name).join(', ')} not run`);
  }
  const used = [...new Set([...runHops.flatMap((h) => [h.from, h.to]), ...(path ? [path.from, ...path.stops, path.to] : [])])].sort(
    semver.compare,
  );
  const plan: Run[] = [
    ...runHops.flatMap((hop) =>
      flavours.flatMap((flavour) =>
        scenarios
          .filter((s) => !(s.minorOnly && isPatchHop(hop)))
          .map((s) => ({ ...hop, flavour, name: s.name, go: (w: World) => runScenario(w, s, hop.from, hop.to) })),
      ),
    ),
    ...(path ? flavours.flatMap((flavour) => pathScenarios.map((s) => pathRun(s, path, flavour))) : []),
  ];
  const rows: Row[] = [
    ...runHops.map((h) => ({ ...h, label: hopName(h), path: false })),
    ...(path ? [{ from: path.from, to: path.to, label: pathName(path), path: true }] : []),
  ];
  return { plan, rows, used };
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
  const { plan, rows, used } = selectRuns(hops, versions, flavours);
  const chartKey = used.join(',');
  const kept = await loadKept(chartKey);
  const results: Result[] = [];
  log(
    `conformance: ${plan.length} scenarios over ${rows.map((r) => r.label).join(', ')} with helm ${majors.join(' and ')}; work dir ${work}`,
  );

  // Every chart of the directory: a path's stops are what daprup finds in the index, as with the real repository.
  const repo: ChartRepo = await servePackages(versions.map((v) => join(dir, `dapr-${v}.tgz`)));
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
    for (const run of plan) {
      i++;
      const { flavour, name } = run;
      const done = kept.find((r) => r.from === run.from && r.to === run.to && r.helm === flavour.major && r.scenario === name);
      if (done) {
        results.push(done);
        continue;
      }
      log(`[${i}/${plan.length}] ${hopName(run)} helm ${flavour.major} ${name}`);
      const w: World = {
        ...worlds.get(flavour)!,
        work: await mkdtemp(join(work, `${run.from}-${run.to}-helm${flavour.major}-${name}-`)),
      };
      results.push(await runOne(w, run));
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
  const md = report(results, rows, majors, { started, charts: used, seconds: (Date.now() - t0) / 1000, tools });
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

/** One scenario to run: over a hop (scenarios.ts) or a path (paths.ts), with one helm. */
interface Run extends Hop {
  flavour: HelmFlavour;
  name: ScenarioName | PathScenarioName;
  go: (w: World) => Promise<ScenarioResult>;
}

const pathRun = (s: PathScenario, path: VersionPath, flavour: HelmFlavour): Run => ({
  from: path.from,
  to: path.to,
  flavour,
  name: s.name,
  go: (w) => s.run(w, path),
});

async function runOne(w: World, run: Run): Promise<Result> {
  const t0 = Date.now();
  const base = { from: run.from, to: run.to, helm: w.flavour.major, scenario: run.name };
  try {
    await cleanCluster(w);
    const r = await run.go(w);
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
