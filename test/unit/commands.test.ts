// oclif finds daprup's commands in one table (src/cli/commands.ts, package.json oclif.commands "explicit"), which
// the npm package and the standalone executable share: a command file missing from it would exist for neither.
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';

describe('the command table', () => {
  it('lists every file in commands/ under the id its path gives (certs/export.ts is certs:export)', async () => {
    const files = (await readdir(fileURLToPath(new URL('../../commands', import.meta.url)), { recursive: true })).filter((f) => f.endsWith('.ts'));
    const ids = files.map((f) => f.replace(/\.ts$/, '').split(/[\\/]/).filter((p) => p !== 'index').join(':'));
    expect(Object.keys(COMMANDS).sort()).toEqual(ids.sort());
    for (const [id, cmd] of Object.entries(COMMANDS)) expect(typeof cmd.run, id).toBe('function');
  });
});
