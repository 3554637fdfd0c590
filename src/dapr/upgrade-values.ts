// The values daprup adds to an upgrade (HA, the image tag, the exported trust bundle), and only where the user's
// own -f/--set do not set them: helm merges every -f before any --set whatever their order (checked with helm
// 3.17 and 4.1), so a --set of daprup's would silently beat a key in the user's values file.
import { readFile } from 'node:fs/promises';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import type { Values } from '../cluster/helm.js';
import { usageError } from '../errors.js';
import { HA_VALUE, TAG_VALUE, TLS_VALUES } from './chart.js';
import { coalesce, getPath, parseSetFlag, setPath } from './values.js';

/** The user's -f files, then their --set flags, merged as helm merges them. */
export async function readUserOverrides(valuesFiles: readonly string[], set: readonly string[]): Promise<Values> {
  let out: Values = {};
  for (const file of valuesFiles) {
    let parsed: unknown;
    try {
      parsed = parseYaml(await readFile(file, 'utf8'));
    } catch (e) {
      throw usageError(
        `The values file ${file} cannot be read as YAML: ${(e as Error).message.split('\n')[0]}.`,
        'Pass a readable Helm values file with -f.',
      );
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw usageError(
        `The values file ${file} is not a map of Helm values.`,
        "A values file is YAML with keys at the top, like the chart's values.yaml.",
      );
    }
    out = coalesce(out, (parsed ?? {}) as Values);
  }
  for (const s of set) {
    const p = parseSetFlag(s);
    if (p) out = setPath(out, p.key, p.value);
  }
  return out;
}

/**
 * HA after the upgrade: --enable-ha/--disable-ha, else what the user's -f/--set say, else what the release was
 * installed with or what runs. A flag that contradicts the user's own values is a usage error, not a guess.
 */
export function haAfterUpgrade(flag: boolean | undefined, overrides: Values, stored: Values, liveHa: boolean): boolean {
  const own = getPath(overrides, HA_VALUE);
  if (flag !== undefined && own !== undefined && Boolean(own) !== flag) {
    throw usageError(
      `--${flag ? 'enable' : 'disable'}-ha contradicts ${HA_VALUE}=${String(own)} in your values.`,
      'Say it once: drop the flag or the value.',
    );
  }
  if (flag !== undefined) return flag;
  if (own !== undefined) return own === true || own === 'true';
  return getPath(stored, HA_VALUE) === true || liveHa;
}

/** Whether the user's -f/--set bring the trust bundle themselves (all three PEMs) or leave it to daprup. */
export function userBringsTrustBundle(overrides: Values): boolean {
  const given = Object.values(TLS_VALUES).filter((p) => getPath(overrides, p) !== undefined);
  if (given.length === 0) return false;
  if (given.length < 3) {
    const missing = Object.values(TLS_VALUES).filter((p) => !given.includes(p));
    throw usageError(
      `Your values set ${given.join(', ')} but not ${missing.join(', ')}.`,
      'Give all three trust-bundle PEMs or none (daprup then passes the exported bundle).',
    );
  }
  return true;
}

/**
 * `global.tag` moved to the target, variant kept: a tag the user pinned at install (`1.16.19-mariner` for the
 * Mariner images) survives --reset-then-reuse-values, and an upgrade that left it would reinstall the old images.
 * Returns the new tag, or a warning when the pinned tag is not a version daprup can move.
 */
export function tagAfterUpgrade(stored: Values, overrides: Values, target: string): { tag?: string; warning?: string } {
  const pinned = getPath(stored, TAG_VALUE);
  if (pinned === undefined || pinned === null || getPath(overrides, TAG_VALUE) !== undefined) return {};
  const m = /^v?(\d+\.\d+\.\d+(?:-rc\.\d+)?)(.*)$/.exec(String(pinned));
  if (!m || !semver.valid(m[1]!)) {
    return {
      warning: `${TAG_VALUE} is pinned to "${String(pinned)}", which is not a Dapr version: the control plane keeps those images (pass --set ${TAG_VALUE}=<tag> to move it).`,
    };
  }
  const tag = `${target}${m[2]}`;
  return tag === String(pinned) ? {} : { tag };
}
