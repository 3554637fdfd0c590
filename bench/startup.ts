// Benchmark 1, startup: `daprup --version` and `daprup --help` against a bare oclif CLI with one trivial command
// (bench/reference-cli) on the same Node, median of BENCH_STARTUP_RUNS runs each, interleaved so that load
// drifting on a shared machine hits both sides alike. "before" rows run daprup without its oclif.manifest.json.
// When the standalone executable is there (npm run package: release/daprup-linux-x64, or BENCH_EXECUTABLE), it runs
// beside the npm package as a user installs it (`npm pack`, `npm install -g` into a temporary prefix).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { check, DAPRUP, measure, REPO } from './lib/exec.js';
import { envInt, median, ms, ratio, table, type Verdict } from './lib/stats.js';

const REFERENCE = join(REPO, 'bench', 'reference-cli', 'bin', 'run.js');
const NO_MANIFEST = join(REPO, 'bench', 'lib', 'no-manifest.js');
const EXECUTABLE = process.env.BENCH_EXECUTABLE ?? join(REPO, 'release', 'daprup-linux-x64');
const LIMIT = 1.3;

/** `command` is the program and its leading arguments (a Node entry point runs on this Node). */
interface Case {
  label: string;
  command: string[];
  args: string[];
}
const onNode = (entry: string) => [process.execPath, entry];

/** The packed package installed as `npm install -g` does, into a temporary prefix; returns its bin/run.js. */
function npmInstalled(dir: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const packed = (
    JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
        cwd: REPO,
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).toString(),
    ) as [{ filename: string }]
  )[0].filename;
  execFileSync(
    'npm',
    ['install', '--global', '--prefix', join(dir, 'prefix'), join(dir, packed), '--prefer-offline', '--no-audit', '--no-fund'],
    { env, stdio: 'ignore' },
  );
  return join(dir, 'prefix', 'lib', 'node_modules', 'daprup', 'bin', 'run.js');
}

export async function startupBenchmark(log: (line: string) => void): Promise<{ text: string; verdicts: Verdict[] }> {
  if (!existsSync(join(REPO, 'oclif.manifest.json'))) throw new Error('oclif.manifest.json is missing: run npm run build');
  const runs = Math.max(3, envInt('BENCH_STARTUP_RUNS', 15));
  const standalone = existsSync(EXECUTABLE) ? EXECUTABLE : undefined;
  const work = mkdtempSync(join(tmpdir(), 'daprup-bench-startup-'));
  try {
    const installed = standalone ? npmInstalled(work) : undefined;
    const shapes = [
      { what: '--version', refArgs: ['--version'], args: ['--version'], target: true },
      { what: '--help', refArgs: ['--help'], args: ['--help'], target: true },
      { what: 'command --help', refArgs: ['hello', '--help'], args: ['plan', '--help'], target: false },
    ];
    const pairs = shapes.map(({ what, refArgs, args, target }) => {
      const shown = args.join(' ');
      const extra: Case[] = [];
      if (installed) extra.push({ label: `daprup ${shown}, npm install -g`, command: onNode(installed), args });
      if (standalone) extra.push({ label: `${basename(standalone)} ${shown}`, command: [standalone], args });
      return {
        what,
        target,
        reference: { label: `ref ${refArgs.join(' ')}`, command: onNode(REFERENCE), args: refArgs },
        daprup: { label: `daprup ${shown}`, command: onNode(DAPRUP), args },
        before: { label: `daprup ${shown}, no manifest`, command: onNode(NO_MANIFEST), args },
        extra,
      };
    });
    const cases = pairs.flatMap((p) => [p.reference, p.daprup, p.before, ...p.extra]);
    const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
    const rss = new Map<Case, number[]>(cases.map((c) => [c, []]));
    const once = async (c: Case) =>
      check(await measure(c.command[0]!, [...c.command.slice(1), ...c.args], { rss: false, env: { CI: 'true' } }), c.label);
    for (const c of cases) await once(c); // warm the file cache
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        const m = await once(c);
        times.get(c)!.push(m.wallMs);
        if (m.treeRssKiB) rss.get(c)!.push(m.treeRssKiB);
      }
    }
    log(`startup: ${runs} runs of each of ${cases.length} commands`);
    const rows: (string | number)[][] = [];
    const verdicts: Verdict[] = [];
    for (const p of pairs) {
      const ref = median(times.get(p.reference)!);
      for (const c of [p.reference, p.daprup, p.before, ...p.extra]) {
        const t = median(times.get(c)!);
        const sorted = [...times.get(c)!].sort((a, b) => a - b);
        rows.push([
          c.label,
          ms(t),
          `${ms(sorted[0]!)} – ${ms(sorted.at(-1)!)}`,
          `${(median(rss.get(c)!) / 1024).toFixed(0)} MiB`,
          c === p.reference ? '1.00× (reference)' : ratio(t / ref),
        ]);
      }
      const r = median(times.get(p.daprup)!) / ref;
      if (p.target) {
        verdicts.push({
          benchmark: `startup: daprup ${p.what}`,
          target: `≤ ${LIMIT}× bare oclif CLI`,
          measured: `${ratio(r)} (${ms(median(times.get(p.daprup)!))} vs ${ms(ref)}; without manifest ${ratio(median(times.get(p.before)!) / ref)})`,
          met: r <= LIMIT,
          margin: r <= LIMIT ? `${(LIMIT - r).toFixed(2)}× under the limit` : `${(r - LIMIT).toFixed(2)}× over the limit`,
        });
      }
    }
    const text = table(['command', 'median', 'min – max', 'peak RSS', 'vs bare oclif'], rows);
    const size = standalone
      ? `\n\n${basename(standalone)}: ${(statSync(standalone).size / 2 ** 20).toFixed(1)} MiB`
      : '\n\n(no standalone executable: npm run package builds release/daprup-linux-x64)';
    return { text: `Startup (Node ${process.version}, median of ${runs} runs, interleaved)\n\n${text}${size}`, verdicts };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
