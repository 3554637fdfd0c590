// The standalone executable (`npm run package`), when DAPRUP_BIN names it: it needs no Node at all, and the
// checksum file beside it verifies as a user would check a download. Everything else the integration suite asks of
// the CLI, it asks of the executable too (test/support/cli.ts); install.test.ts holds its output to the npm package's.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { DAPRUP_BIN, runProgram } from '../support/cli.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

const pjson = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: { node: string };
};
const skipped = 'DAPRUP_BIN is not set: the CLI under test is bin/run.js (DAPRUP_BIN=release/daprup-linux-x64 after npm run package)';

describe('the standalone executable', () => {
  it('runs in an empty environment whose PATH has no node', async (ctx) => {
    if (!DAPRUP_BIN) return ctx.skip(skipped);
    const env = { PATH: await mkdtemp(join(tmpdir(), 'daprup-no-node-')) };
    const version = await runProgram([DAPRUP_BIN], ['--version'], { env });
    expect(version).toEqual({
      code: 0,
      stdout: `${pjson.name}/${pjson.version} linux-x64 node-v${pjson.devDependencies.node}\n`,
      stderr: '',
    });
    const bad = await runProgram([DAPRUP_BIN], ['plan', '--to', '1.16'], { env });
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.stderr).toContain('"1.16" is not a Dapr version.');
  });

  it('its .sha256 file verifies with sha256sum -c', async (ctx) => {
    if (!DAPRUP_BIN) return ctx.skip(skipped);
    const out = await runTool('sha256sum', ['-c', `${basename(DAPRUP_BIN)}.sha256`], { cwd: dirname(DAPRUP_BIN) });
    expect(out).toBe(`${basename(DAPRUP_BIN)}: OK\n`);
  });
});
