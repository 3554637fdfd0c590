#!/usr/bin/env node
// The same entry point as daprup's bin/run.js; @oclif/core resolves from the repository's node_modules.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
