#!/usr/bin/env node
// daprup entry point: runs the compiled commands in dist/.
// First it checks the Node version, in JavaScript that any Node parses: daprup and its dependencies need the Node
// in package.json "engines" (execa calls Set.prototype.union, new in Node 22), and on an older one they fail deep
// inside with a TypeError. So nothing else is imported until the version is known to be enough.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

const EXIT_USAGE = 2; // ExitCode.usage in src/errors.ts
const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node; // ">=22"
const needed = Number(/\d+/.exec(engines)[0]);
const found = process.versions.node;

if (Number(found.split('.')[0]) < needed) {
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  process.stderr.write(
    `daprup needs Node.js ${needed} or newer but was started by Node.js ${found} (${process.execPath}); ` +
      `upgrade Node.js, or use the standalone executable daprup-linux-x64, which needs no Node.js at all ("Install" in ${readme}).\n`,
  );
  process.exit(EXIT_USAGE);
}

// daprup parses whole-cluster lists (thousands of pods) whose objects all survive; V8 answers by doubling its
// young generation again and again, and keeps that memory: 200 MiB peak for a plan over 2,000 workloads.
// Not growing it costs no measurable time and ends at 140 MiB (npm run bench, "Discovery").
setFlagsFromString('--semi-space-growth-factor=1');

import('@oclif/core').then(({ execute }) => execute({ dir: import.meta.url }));
