// oclif finds daprup's commands in one table (commands/index.ts, package.json oclif.commands "explicit"), which
// the npm package and the standalone executable share: a command file missing from it would exist for neither.
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Parser } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { certWarnDaysFlag } from '../../src/cli/cert-flags.js';
import { COMMANDS } from '../../commands/index.js';

describe('the command table', () => {
  it('lists every file in commands/ under the id its path gives (certs/export.ts is certs:export)', async () => {
    const files = (await readdir(fileURLToPath(new URL('../../commands', import.meta.url)), { recursive: true })).filter(
      (f) => f.endsWith('.ts') && f !== 'index.ts',
    );
    const ids = files.map((f) =>
      f
        .replace(/\.ts$/, '')
        .split(/[\\/]/)
        .filter((p) => p !== 'index')
        .join(':'),
    );
    expect(Object.keys(COMMANDS).sort()).toEqual(ids.sort());
    for (const [id, cmd] of Object.entries(COMMANDS)) expect(typeof cmd.run, id).toBe('function');
  });
});

describe('the certificate-expiry flag', () => {
  it('is one definition, on every command that checks the trust bundle', () => {
    const flagsOf = Object.entries(COMMANDS).map(([id, cmd]) => [id, cmd.flags as Record<string, unknown>] as const);
    const withFlag = flagsOf.filter(([, flags]) => 'cert-warn-days' in flags || 'warn-days' in flags);
    expect(withFlag.map(([id]) => id).sort()).toEqual(['certs:check', 'check', 'plan', 'rollback', 'status', 'upgrade']);
    for (const [id, flags] of withFlag) expect(flags['cert-warn-days'], id).toBe(certWarnDaysFlag['cert-warn-days']);
  });

  it('reads --cert-warn-days and the older spelling --warn-days alike, 30 when absent, never negative', async () => {
    const days = async (argv: string[]) => (await Parser.parse(argv, { flags: certWarnDaysFlag })).flags['cert-warn-days'];
    expect(await days([])).toBe(30);
    expect(await days(['--cert-warn-days', '60'])).toBe(60);
    expect(await days(['--warn-days', '60'])).toBe(60);
    await expect(days(['--cert-warn-days', '-1'])).rejects.toThrow();
  });
});
