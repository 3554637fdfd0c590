#!/usr/bin/env node
// Development entry point: compiles first (tsc is fast), then runs like bin/run.js.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
// oclif.manifest.json is written by `npm run build`; here the sources may have changed since: read the commands.
await execute({ development: true, dir: import.meta.url, loadOptions: { ignoreManifest: true } });
