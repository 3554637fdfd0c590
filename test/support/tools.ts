// The real helm and kubectl binaries the tests run, unpacked into .tools/ by `npm run tools`
// (scripts/install-tools.mjs), plus a small runner for them.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HelmFlavour {
  name: 'helm3' | 'helm4';
  major: 3 | 4;
  helm: string;
  kubectl: string;
}

/** The repository root (this file is test/support/tools.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function flavour(name: 'helm3' | 'helm4', major: 3 | 4): HelmFlavour {
  const dir = join(REPO_ROOT, '.tools', name);
  const f: HelmFlavour = { name, major, helm: join(dir, 'helm'), kubectl: join(dir, 'kubectl') };
  for (const bin of [f.helm, f.kubectl]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run tools\` to unpack helm and kubectl into .tools/.`);
  }
  return f;
}

/** helm 3.17 + kubectl 1.32, and helm 4.1 + kubectl 1.33. */
export const HELM_FLAVOURS: readonly HelmFlavour[] = [flavour('helm3', 3), flavour('helm4', 4)];

/**
 * An environment whose helm config, cache and data live under `dir`, so a test never reads or writes
 * the user's repositories (`helm repo add` goes to dir/config/repositories.yaml).
 */
export function helmHomeEnv(dir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_DATA_HOME: join(dir, 'data'),
  };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a program with an argument array; resolves to stdout, rejects with the command and its stderr. */
export function runTool(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : 'unknown';
        reject(new Error(`${file} ${args.join(' ')} exited with ${code}: ${stderr.trim() || err.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}
