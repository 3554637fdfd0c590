// Removes the previous build so deleted sources never linger in dist/ (nor their commands in the manifest).
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
rmSync(new URL('../oclif.manifest.json', import.meta.url), { force: true });
