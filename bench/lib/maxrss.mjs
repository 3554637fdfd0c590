// Preloaded into a measured Node process (`node --import`): at exit, writes the process's own peak RSS in KiB
// to $DAPRUP_BENCH_RSS_FILE. Children (helm, kubectl) are not included; /usr/bin/time reports the largest of all.
import { writeFileSync } from 'node:fs';

const out = process.env.DAPRUP_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, `${process.resourceUsage().maxRSS}\n`));
