// Benchmark 1, startup: `daprup --version` and `daprup --help` against a bare oclif CLI with one trivial command
// (bench/reference-cli) on the same Node, median of BENCH_STARTUP_RUNS runs each, interleaved so that load
// drifting on a shared machine hits both sides alike. "before" rows run daprup without its oclif.manifest.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { check, DAPRUP, measure, REPO } from './lib/exec.js';
import { envInt, median, ms, ratio, table, type Verdict } from './lib/stats.js';

const REFERENCE = join(REPO, 'bench', 'reference-cli', 'bin', 'run.js');
const NO_MANIFEST = join(REPO, 'bench', 'lib', 'no-manifest.js');
const LIMIT = 1.3;

interface Case { label: string; entry: string; args: string[] }

export async function startupBenchmark(log: (line: string) => void): Promise<{ text: string; verdicts: Verdict[] }> {
  if (!existsSync(join(REPO, 'oclif.manifest.json'))) throw new Error('oclif.manifest.json is missing: run npm run build');
  const runs = Math.max(3, envInt('BENCH_STARTUP_RUNS', 15));
  const pairs: { what: string; reference: Case; daprup: Case; before: Case; target: boolean }[] = [
    { what: '--version', target: true, reference: { label: 'ref --version', entry: REFERENCE, args: ['--version'] }, daprup: { label: 'daprup --version', entry: DAPRUP, args: ['--version'] }, before: { label: 'daprup --version, no manifest', entry: NO_MANIFEST, args: ['--version'] } },
    { what: '--help', target: true, reference: { label: 'ref --help', entry: REFERENCE, args: ['--help'] }, daprup: { label: 'daprup --help', entry: DAPRUP, args: ['--help'] }, before: { label: 'daprup --help, no manifest', entry: NO_MANIFEST, args: ['--help'] } },
    { what: 'command --help', target: false, reference: { label: 'ref hello --help', entry: REFERENCE, args: ['hello', '--help'] }, daprup: { label: 'daprup plan --help', entry: DAPRUP, args: ['plan', '--help'] }, before: { label: 'daprup plan --help, no manifest', entry: NO_MANIFEST, args: ['plan', '--help'] } },
  ];
  const cases = pairs.flatMap((p) => [p.reference, p.daprup, p.before]);
  const times = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const rss = new Map<Case, number[]>(cases.map((c) => [c, []]));
  const once = async (c: Case) => check(await measure(process.execPath, [c.entry, ...c.args], { rss: false, env: { CI: 'true' } }), c.label);
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
    for (const c of [p.reference, p.daprup, p.before]) {
      const t = median(times.get(c)!);
      const sorted = [...times.get(c)!].sort((a, b) => a - b);
      rows.push([c.label, ms(t), `${ms(sorted[0]!)} – ${ms(sorted.at(-1)!)}`, `${(median(rss.get(c)!) / 1024).toFixed(0)} MiB`, c === p.reference ? '1.00× (reference)' : ratio(t / ref)]);
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
  return { text: `Startup (Node ${process.version}, median of ${runs} runs, interleaved)\n\n${text}`, verdicts };
}
