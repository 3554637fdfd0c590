// Version checks: the control plane on a supported minor, and every control-plane pod and sidecar within the
// supported skew of the control plane (same minor or one behind; more behind fails, ahead warns).
import semver from 'semver';
import { discoverDataPlane } from '../data-plane.js';
import { affected, listed, ok, type CheckInput, type CheckResult, type SupportedMinors } from './types.js';

const GROUP = 'versions';

/**
 * Fallback when no chart repository index can be read: the three newest minors of the public chart repository
 * (github dapr/helm-charts: newest chart dapr-1.18.3) as of SUPPORTED_MINORS_AS_OF. Dapr supports the three
 * newest minors; update this list with each Dapr minor release.
 */
export const SUPPORTED_MINORS: readonly string[] = ['1.18', '1.17', '1.16'];
const SUPPORTED_MINORS_AS_OF = '2026-12-01';

export const fallbackSupportedMinors = (): SupportedMinors => ({
  minors: [...SUPPORTED_MINORS],
  source: `built-in list as of ${SUPPORTED_MINORS_AS_OF}`,
});

/** The three newest minors among released chart versions (release candidates and vendor builds ignored). */
export function supportedMinorsFrom(versions: readonly string[], source: string): SupportedMinors | undefined {
  const minors = [
    ...new Set(
      versions
        .map((v) => semver.valid(v.replace(/^v/, '')))
        .filter((v): v is string => !!v && !semver.prerelease(v))
        .sort(semver.rcompare)
        .map((v) => `${semver.major(v)}.${semver.minor(v)}`),
    ),
  ].slice(0, 3);
  return minors.length ? { minors, source } : undefined;
}

const parse = (v: string | undefined) => (v ? (semver.parse(v.replace(/^v/, '')) ?? semver.coerce(v)) : null);
/** Minor versions `v` is behind `base` (negative: ahead). */
const minorsBehind = (base: semver.SemVer, v: semver.SemVer) => (base.major - v.major) * 1000 + base.minor - v.minor;

export function checkSupportedMinor(input: CheckInput): CheckResult {
  const id = 'control-plane-version';
  const v = parse(input.release.version);
  const { minors, source } = input.supported;
  if (!v || !minors.length)
    return { ...ok(id, GROUP, `Dapr ${input.release.version}: support not checked (not a version daprup can compare).`), severity: 'info' };
  const minor = `${v.major}.${v.minor}`;
  const list = `${minors.join(', ')} (${source})`;
  if (minors.includes(minor)) return ok(id, GROUP, `Dapr ${input.release.version} is on a supported minor: ${list}.`);
  const newest = semver.coerce(minors[0])!;
  if (minorsBehind(newest, v) < 0) {
    return {
      ...ok(
        id,
        GROUP,
        `Dapr ${input.release.version} is newer than the newest minor in ${source} (${minors[0]}): the index may be stale (helm repo update).`,
      ),
      severity: 'info',
    };
  }
  const next = `${v.major}.${v.minor + 1}`;
  return {
    id,
    group: GROUP,
    severity: 'failure',
    finding: `Dapr ${minor} is out of support; supported minors: ${list}.`,
    why: 'Unsupported minors get no security or bug fixes, and the further behind, the more minors an upgrade has to walk through one at a time.',
    fix: `Upgrade one minor at a time, starting with the latest ${next}.x: daprup plan --to ${next}.<patch> (helm search repo dapr/dapr --versions lists them).`,
  };
}

export function checkVersionSkew(input: CheckInput): CheckResult {
  const id = 'version-skew';
  const cp = parse(input.release.version);
  if (!cp) return { ...ok(id, GROUP, `Skew: not checked, ${input.release.version} is not a version.`), severity: 'info' };
  const behind: string[] = [];
  const ahead: string[] = [];
  const unknown: string[] = [];
  const judge = (who: string, version: string) => {
    const v = parse(version);
    if (!v) return unknown.push(`${who} (${version})`);
    const d = minorsBehind(cp, v);
    if (d > 1) behind.push(`${who} ${version} (${d} minors behind)`);
    else if (d < 0) ahead.push(`${who} ${version} (ahead)`);
  };
  for (const c of input.controlPlane.filter((x) => x.present)) {
    for (const version of new Set([c.version, ...c.podVersions].filter((x): x is string => !!x))) judge(c.name, version);
  }
  const dataPlane = discoverDataPlane(input);
  for (const w of dataPlane) for (const version of w.sidecarVersions) judge(`${w.namespace}/${w.name}`, version);
  const sidecars = dataPlane.reduce((n, w) => n + w.podsWithSidecar, 0);
  if (!behind.length && !ahead.length && !unknown.length) {
    return ok(
      id,
      GROUP,
      `Control plane and ${sidecars} sidecar${sidecars === 1 ? '' : 's'} are within one minor of ${input.release.version}.`,
    );
  }
  const parts = [
    behind.length ? `more than one minor behind ${input.release.version}: ${listed(behind)}` : '',
    ahead.length ? `ahead of the control plane: ${listed(ahead)}` : '',
    unknown.length ? `unknown version: ${listed(unknown)}` : '',
  ].filter(Boolean);
  return {
    id,
    group: GROUP,
    severity: behind.length ? 'failure' : 'warning',
    finding: `${parts.join('; ')}.`,
    why: 'Dapr supports sidecars at the control plane\'s minor or one behind; older ones fail against a newer control plane (e.g. "token audiences ... is invalid"), newer ones rely on control-plane APIs that are not there yet.',
    fix: "Restart the workloads so they get the injector's sidecar: daprup restart (or kubectl rollout restart); a workload pinning dapr.io/sidecar-image must update that annotation.",
    affected: affected([...behind, ...ahead, ...unknown]),
  };
}

export function versionChecks(input: CheckInput): CheckResult[] {
  return [checkSupportedMinor(input), checkVersionSkew(input)];
}
