// Before a repository command that runs helm and kubectl: one sentence and exit 1 when .tools/ lacks them, instead
// of a stack trace from deep inside a test. `npm ci` puts them there (the prepare script); `npm run tools` again.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const missing = ['helm3/helm', 'helm3/kubectl', 'helm4/helm', 'helm4/kubectl'].filter((t) => !existsSync(join(root, '.tools', t)));
if (missing.length) {
  console.error(`helm and kubectl are missing from .tools/ (${missing.join(', ')}): run npm ci, or npm run tools, in ${root}.`);
  process.exit(1);
}
