// Which upgrades are safe, following Dapr's support policy: patch upgrades within a minor and one minor
// at a time; no downgrades, recalled releases or vendor builds without an explicit decision.
import semver from 'semver';
import { refusal, usageError } from '../errors.js';

export const RECALLED: ReadonlySet<string> = new Set(['1.14.3']);

export type VersionChange = 'none' | 'patch' | 'minor' | 'downgrade';

export interface PolicyOverrides {
  allowSkipMinor?: boolean;
  allowDowngrade?: boolean;
  allowPrerelease?: boolean;
}

export interface PolicyVerdict {
  current: string;
  target: string;
  change: VersionChange;
  warnings: string[];
}

/** A version the user typed: `1.16.19` or `v1.16.19`. Anything else is a usage error. */
export function parseTargetVersion(input: string): string {
  const v = semver.valid(input.trim().replace(/^v/, ''));
  if (!v) {
    throw usageError(
      `"${input}" is not a Dapr version.`,
      'Give a full version such as --to 1.16.19 (see `helm search repo dapr/dapr --versions`).',
    );
  }
  return v;
}

/** Release candidates (`1.16.20-rc.2`) are Dapr's own; any other suffix is a vendor build. */
export const isReleaseCandidate = (v: string) => /^rc\.\d+$/.test((semver.prerelease(v) ?? []).join('.'));
export const isVendorBuild = (v: string) => (semver.prerelease(v) ?? []).length > 0 && !isReleaseCandidate(v);

export function evaluateVersionPolicy(currentRaw: string, target: string, o: PolicyOverrides = {}): PolicyVerdict {
  const current = semver.valid(currentRaw.replace(/^v/, ''));
  if (!current) {
    throw refusal(
      `The installed Dapr version "${currentRaw}" is not a semantic version, so daprup cannot tell which upgrades are safe.`,
      'Upgrade this installation by hand, or reinstall from the public chart.',
    );
  }
  if (isVendorBuild(current) || isVendorBuild(target)) {
    const which = isVendorBuild(current) ? `installed version ${current}` : `target ${target}`;
    throw refusal(
      `The ${which} is a vendor build, which is not in the public Dapr chart repository.`,
      "Upgrade vendor builds with the vendor's tooling (for example the AKS Dapr extension).",
    );
  }
  if (RECALLED.has(target)) {
    throw refusal(
      `Dapr ${target} was recalled and must not be installed.`,
      `Pick the next patch release of ${semver.major(target)}.${semver.minor(target)} instead.`,
    );
  }
  if (isReleaseCandidate(target) && !o.allowPrerelease) {
    throw refusal(`${target} is a release candidate.`, 'Pass --allow-prerelease to install a release candidate on purpose.');
  }

  const warnings: string[] = [];
  const [cMaj, cMin, tMaj, tMin] = [semver.major(current), semver.minor(current), semver.major(target), semver.minor(target)];
  let change: VersionChange;
  if (semver.eq(current, target)) change = 'none';
  else if (semver.lt(target, current)) change = 'downgrade';
  else change = cMaj === tMaj && cMin === tMin ? 'patch' : 'minor';

  if (change === 'downgrade') {
    if (!o.allowDowngrade) {
      throw refusal(
        `${target} is older than the installed ${current}: that is a downgrade.`,
        'Go back to an earlier revision with daprup rollback (daprup plan --rollback previews it); --allow-downgrade forces a downgrade to another version.',
      );
    }
    warnings.push(...downgradeWarnings(current, target));
  }
  if (change === 'minor') {
    if (tMaj !== cMaj) {
      throw refusal(
        `${current} → ${target} changes the major version.`,
        'Read the migration guide for the new major version; daprup only upgrades within a major.',
      );
    }
    if (tMin > cMin + 1 && !o.allowSkipMinor) {
      const next = `${cMaj}.${cMin + 1}`;
      throw refusal(
        `${current} → ${target} skips minor version ${next}; Dapr supports one minor at a time.`,
        `Upgrade to the latest ${next}.x first, then to ${target} (or pass --allow-skip-minor to try anyway).`,
      );
    }
    if (tMin > cMin + 1) warnings.push(`Skipping minor versions is best effort and often fails (dapr/dapr#7316).`);
    // What each hop changes (the 1.15 scheduler data, placement's raft log, …) is in release-notes.ts: the plan shows it per hop.
  }
  return { current, target, change, warnings };
}

function downgradeWarnings(current: string, target: string): string[] {
  const w: string[] = [];
  if (semver.gte(current, '1.15.0') && semver.lt(target, '1.15.0'))
    w.push('Going below 1.15: the scheduler StatefulSet is recreated, so no 1.15+ scheduler pod stays behind.');
  if (semver.gte(current, '1.17.0') && semver.lt(target, '1.17.0'))
    w.push(
      '1.17 defaults (placement disseminateTimeout) are rejected by 1.16 binaries; user values are reset to the target chart defaults.',
    );
  if (semver.gte(current, '1.18.0') && semver.lt(target, '1.17.7'))
    w.push('Sentry 1.18 writes Ed25519 keys: Sentry below 1.17.7 crash-loops on them.');
  return w;
}
