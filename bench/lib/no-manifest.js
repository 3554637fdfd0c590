// daprup as it started before oclif.manifest.json: oclif imports every command (and all they import) to
// learn their ids, flags and summaries. The startup benchmark runs it as the "before" row.
import { execute } from '@oclif/core';

await execute({ dir: new URL('../../bin/run.js', import.meta.url).href, loadOptions: { ignoreManifest: true } });
