// `npm run bench`: startup, discovery at fleet scale with its scaling curve, and restart throughput, each printed
// as a table, then a summary of every target met or missed and by how much. Figures are medians against
// references measured in the same run (the machine may be shared and noisy); nothing here asserts a time.
//
// Environment: BENCH_ONLY=startup,discovery,restart (default all); BENCH_STARTUP_RUNS (15);
// BENCH_WORKLOADS (2000), BENCH_NAMESPACES (100), BENCH_SCALES (100,500,1000,2000), BENCH_REPEATS (3),
// BENCH_NAIVE_MAX (500); BENCH_RESTART_WORKLOADS (200), BENCH_RESTART_DELAY_MS (3000),
// BENCH_RESTART_CONCURRENCY (1,8,32), BENCH_SERIAL_WORKLOADS (20); BENCH_OUT=file also writes the report there.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { discoveryBenchmark } from './discovery.js';
import { restartBenchmark } from './restart.js';
import { startupBenchmark } from './startup.js';
import { table, type Verdict } from './lib/stats.js';

const benchmarks = {
  startup: startupBenchmark,
  discovery: discoveryBenchmark,
  restart: restartBenchmark,
};
type Name = keyof typeof benchmarks;

const only = (process.env.BENCH_ONLY ?? Object.keys(benchmarks).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of only)
  if (!(name in benchmarks)) throw new Error(`BENCH_ONLY: unknown benchmark ${name} (${Object.keys(benchmarks).join(', ')})`);

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const log = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);
const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
const sections: string[] = [`Machine: ${machine}`];
const verdicts: Verdict[] = [];
const print = (text: string) => {
  sections.push(text);
  process.stdout.write(`\n${text}\n`);
};
process.stdout.write(`${sections[0]}\n`);

let failed = false;
for (const name of only as Name[]) {
  log(`${name}: starting`);
  try {
    const result = await benchmarks[name](log);
    print(result.text);
    verdicts.push(...result.verdicts);
  } catch (e) {
    failed = true;
    print(`${name}: FAILED: ${(e as Error).stack ?? String(e)}`);
  }
  log(`${name}: done`);
}

print(
  [
    `Summary (${elapsed()} in all)`,
    '',
    table(
      ['benchmark', 'target', 'measured', 'result', 'by how much'],
      verdicts.map((v) => [v.benchmark, v.target, v.measured, v.met ? 'met' : 'MISSED', v.margin]),
    ),
  ].join('\n'),
);
if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${sections.join('\n\n')}\n`);
process.exitCode = failed ? 1 : 0;
