// Writes oclif.manifest.json (part of `npm run build`): with it, `daprup --help` and `--version` read every
// command's flags and summary from one JSON file instead of importing each command and all it depends on.
// This is what `oclif manifest` does, without the oclif CLI package and its dependencies.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const plugin = new Plugin({
  root,
  type: 'core',
  isRoot: true,
  ignoreManifest: true,
  errorOnManifestCreate: true,
  respectNoCacheDefault: true,
});
await plugin.load();
const ids = Object.keys(plugin.manifest.commands);
if (!ids.length) throw new Error('no commands found in dist/commands/index.js (package.json oclif.commands): run tsc first');
writeFileSync(new URL('oclif.manifest.json', new URL('..', import.meta.url)), `${JSON.stringify(plugin.manifest, null, 2)}\n`);
console.log(`oclif.manifest.json: ${ids.sort().join(', ')}`);
