// The npm package as a user gets it: `npm pack`, `npm install -g` of the tarball into a prefix, then `daprup`.
// On a Node older than package.json "engines" it says so in one sentence and exits 2 before anything else loads.
// On the pinned Node it prints exactly what the CLI under test prints (bin/run.js, or DAPRUP_BIN's executable), for
// --version, --help, every command's --help and the shell completion it writes.
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { DAPRUP_COMMAND, daprup, runProgram } from '../support/cli.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

const pjson = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: { node: string };
};
const NEEDED = Number(/\d+/.exec(pjson.engines.node)?.[0]);

/** A node older than "engines" on this machine: on PATH or in the usual places (the distribution's Node 20 here). */
function oldNode(): { path: string; version: string } | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/bin'];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const file = join(dir, 'node');
    if (!dir || !existsSync(file)) continue;
    const real = realpathSync(file);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = execFileSync(real, ['--version']).toString().trim().replace(/^v/, '');
    if (Number(version.split('.')[0]) < NEEDED) return { path: real, version };
  }
  return undefined;
}

// A user's environment: npm's own variables (set when the tests run under `npm test`) would configure the npm calls
// below, and vitest's NODE_ENV=test makes oclif look for TypeScript sources (and warn that the package has none).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_ENV'));
const npmEnv = { ...env, PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}` };

let dir: string;
let installed: string; // the installed package's directory
const old = oldNode();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daprup-install-'));
  const [packed] = JSON.parse(
    await runTool('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_ROOT, env: npmEnv }),
  ) as [{ filename: string }];
  await runTool(
    'npm',
    ['install', '--global', '--prefix', join(dir, 'prefix'), join(dir, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'],
    { env: npmEnv },
  );
  installed = join(dir, 'prefix', 'lib', 'node_modules', pjson.name);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('npm install -g of the packed package', () => {
  it(`on Node < ${NEEDED}: one sentence naming both versions, exit 2, before anything loads`, async (ctx) => {
    if (!old) return ctx.skip(`no Node older than ${NEEDED} on this machine (looked on PATH, /usr/local/bin, /usr/bin, /bin)`);
    // As a shell whose `node` is the old one runs it: through the installed bin link and its #!/usr/bin/env node.
    const r = await runProgram([join(dir, 'prefix', 'bin', 'daprup')], ['plan', '--to', '1.17.2'], {
      env: { PATH: `${dirname(old.path)}${delimiter}/usr/bin${delimiter}/bin`, HOME: dir },
    });
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Node.js ${NEEDED} or newer`);
    expect(lines[0]).toContain(`Node.js ${old.version}`);
    expect(lines[0]).toContain('standalone executable daprup-linux-x64');
    expect(lines[0]).toMatch(/\.$/);
    expect(lines[0]).not.toMatch(/TypeError|Warning/);
  });

  it("on the pinned Node: --version, --help and every command's --help as the CLI under test prints them", async () => {
    const manifests = [
      join(REPO_ROOT, 'oclif.manifest.json'),
      join(REPO_ROOT, 'node_modules', '@oclif', 'plugin-autocomplete', 'oclif.manifest.json'),
    ];
    const ids = (
      await Promise.all(manifests.map(async (m) => Object.keys((JSON.parse(await readFile(m, 'utf8')) as { commands: object }).commands)))
    ).flat();
    expect(ids).toEqual(expect.arrayContaining(['plan', 'upgrade', 'certs:export', 'autocomplete']));
    const npmCli = [process.execPath, join(installed, 'bin', 'run.js')];
    for (const args of [['--version'], ['--help'], [], ['certs'], ...ids.map((id) => [...id.split(':'), '--help'])]) {
      const [want, got] = await Promise.all([
        runProgram(npmCli, args, { env: { ...env, CI: 'true' } }),
        daprup(args, { env: { NODE_ENV: undefined } }),
      ]);
      expect({ args, ...got }).toEqual({ args, ...want });
      expect(want.stdout).not.toBe('');
    }
    // The root help is daprup's own help class (src/cli/help.ts): every command, and the exit codes.
    expect((await daprup(['--help'])).stdout).toContain('Exit codes: 0 ok, 1 a step failed, 2 usage');
  });

  it('shell completion for bash and zsh: `daprup autocomplete SHELL` writes what the npm package writes', async () => {
    const written = async (command: readonly string[], cache: string) => {
      for (const shell of ['bash', 'zsh']) {
        const r = await runProgram(command, ['autocomplete', shell], { env: { ...env, CI: 'true', XDG_CACHE_HOME: cache } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`printf "$(daprup autocomplete script ${shell})" >> ~/.${shell}rc`);
      }
      const files = (await readdir(cache, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
      return Object.fromEntries(
        await Promise.all(
          files.map(async (f) => {
            const file = join(f.parentPath, f.name);
            return [file.slice(cache.length), (await readFile(file, 'utf8')).replaceAll(cache, '<cache>')];
          }),
        ),
      );
    };
    const want = await written([process.execPath, join(installed, 'bin', 'run.js')], join(dir, 'cache-npm'));
    const got = await written(DAPRUP_COMMAND, join(dir, 'cache-under-test'));
    expect(Object.keys(want).sort()).toEqual([
      '/daprup/autocomplete/bash_setup',
      '/daprup/autocomplete/functions/bash/daprup.bash',
      '/daprup/autocomplete/functions/powershell/daprup.ps1',
      '/daprup/autocomplete/functions/zsh/_daprup',
      '/daprup/autocomplete/zsh_setup',
    ]);
    expect(got).toEqual(want);
    // Every command and its flags complete.
    expect(want['/daprup/autocomplete/functions/bash/daprup.bash']).toMatch(/^plan .*--to/m);
    expect(want['/daprup/autocomplete/functions/zsh/_daprup']).toMatch(/^_daprup_certs\(\) \{$/m);
  });
});
