#!/usr/bin/env node
// daprup entry point: runs the compiled commands in dist/.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(`Error: daprup needs Node.js 22 or newer; this is ${process.version}.\nHint: Install a current Node.js LTS (https://nodejs.org) and run daprup again.\n`);
  process.exit(2);
}
const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
