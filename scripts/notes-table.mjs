// Prints the README's release-notes table from the built table (dist/src/dapr/release-notes.js): `npm run build`
// first. test/unit/release-notes.test.ts checks the README lists every note.
import { RELEASE_NOTES } from '../dist/src/dapr/release-notes.js';

const cell = (s) => s.replace(/\|/g, '\\|');
const link = (url) =>
  `[${url.replace(/^https:\/\/(github\.com\/)?/, '').replace(/\/blob\/[^/]+\/docs\/release_notes\//, ' release notes ')}](${url})`;
console.log('| release | direction | note | what changes | what daprup does, or what you pass | source |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const n of RELEASE_NOTES)
  console.log(`| ${n.release} | ${n.direction} | \`${n.id}\` | ${cell(n.text)} | ${cell(n.action)} | ${link(n.source)} |`);
