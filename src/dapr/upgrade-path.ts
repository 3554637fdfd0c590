// The road between two Dapr versions. Dapr supports patch upgrades and one minor at a time (skipping one is best
// effort and fails in practice, dapr/dapr#7316), so a longer upgrade stops at the newest patch of every minor in
// between, taken from the chart repository index, never at a recalled release, a release candidate or a vendor build.
import semver from 'semver';
import { DaprupError, refusal, usageError } from '../errors.js';
import { supportedMinorsFrom } from './checks/versions.js';
import { notesFor, type HopFacts, type HopNote } from './release-notes.js';
import { isReleaseCandidate, isVendorBuild, RECALLED } from './version-policy.js';

export interface PathOptions {
  allowSkipMinor?: boolean;
  allowPrerelease?: boolean;
}

export interface Hop {
  from: string;
  to: string;
}

export interface UpgradePath {
  from: string;
  target: string;
  hops: Hop[];
}

export interface UpgradeTarget {
  version: string;
  change: 'patch' | 'minor';
  /** Hop versions in order, last = version. */
  hops: string[];
  /** Every hop's notes, deduplicated by id. */
  notes: HopNote[];
}

export interface TargetOptions {
  includePrerelease?: boolean;
  includeRecalled?: boolean;
  haBefore?: boolean;
  haAfter?: boolean;
}

const clean = (v: string) => semver.valid(v.trim().replace(/^v/, ''));
const minorOf = (v: string) => `${semver.major(v)}.${semver.minor(v)}`;
/** A version a multi-minor upgrade may stop at: released, not recalled, not a vendor build. */
const isStop = (v: string) => !semver.prerelease(v) && !RECALLED.has(v);

/** The index as versions (`helm search repo` may print a leading v; anything not semver is not a chart version). */
const indexed = (available: readonly string[]) => [...new Set(available.map(clean).filter((v): v is string => !!v))];

function installedVersion(raw: string): string {
  const v = clean(raw);
  if (!v) {
    throw refusal(
      `The installed Dapr version "${raw}" is not a semantic version, so daprup cannot tell which upgrades are safe.`,
      'Upgrade this installation by hand, or reinstall from the public chart.',
    );
  }
  if (isVendorBuild(v)) throw vendorBuild(`installed version ${v}`);
  return v;
}

const vendorBuild = (which: string) =>
  refusal(
    `The ${which} is a vendor build, which is not in the public Dapr chart repository.`,
    "Upgrade vendor builds with the vendor's tooling (for example the AKS Dapr extension).",
  );

/**
 * The hops from `current` to `target` through the newest patch of every minor in between
 * (1.15.12 → 1.16.newest → 1.17.newest → 1.18.3), using only versions the chart repository lists (`available`,
 * from `helm search repo --versions`; may be undefined for a local/OCI chart: then only a one-minor or patch hop
 * is possible and a longer one is refused with a hint to use a chart repository or --allow-skip-minor).
 * One hop for a patch or next-minor upgrade, or with allowSkipMinor (straight to the target).
 * Intermediate hops never use recalled releases, release candidates or vendor builds.
 * Refusals (DaprupError via refusal()): same version → not an error, returns hops: []; downgrade (hint: `daprup rollback`);
 * major change; vendor build current/target; recalled target; RC target without allowPrerelease; target not in
 * `available` when `available` is given; a minor in between with no usable release in the index (a gap) — say which minor.
 */
export function upgradePath(current: string, target: string, available: readonly string[] | undefined, o: PathOptions = {}): UpgradePath {
  return walk(current, target, available, o, false);
}

/** upgradePath, optionally allowing a recalled target (only for listing it on request, never for stopping at it). */
function walk(
  currentRaw: string,
  targetRaw: string,
  available: readonly string[] | undefined,
  o: PathOptions,
  allowRecalledTarget: boolean,
): UpgradePath {
  const from = installedVersion(currentRaw);
  const target = clean(targetRaw);
  if (!target) {
    throw usageError(
      `"${targetRaw}" is not a Dapr version.`,
      'Give a full version such as --to 1.16.19 (see `helm search repo dapr/dapr --versions`).',
    );
  }
  if (semver.eq(from, target)) return { from, target, hops: [] };
  if (isVendorBuild(target)) throw vendorBuild(`target ${target}`);
  if (semver.lt(target, from)) {
    throw refusal(
      `${target} is older than the installed ${from}: that is a rollback, not an upgrade.`,
      `Use \`daprup rollback --to ${target}\`, which knows what going back has to undo.`,
    );
  }
  if (semver.major(target) !== semver.major(from)) {
    throw refusal(
      `${from} → ${target} changes the major version.`,
      'Read the migration guide for the new major version; daprup only upgrades within a major.',
    );
  }
  if (RECALLED.has(target) && !allowRecalledTarget) {
    throw refusal(`Dapr ${target} was recalled and must not be installed.`, `Pick the next patch release of ${minorOf(target)} instead.`);
  }
  if (isReleaseCandidate(target) && !o.allowPrerelease) {
    throw refusal(`${target} is a release candidate.`, 'Pass --allow-prerelease to install a release candidate on purpose.');
  }
  const index = available && indexed(available);
  if (index && !index.includes(target)) {
    throw refusal(
      `Dapr ${target} is not in the chart repository index.`,
      'Run `helm repo update`, then pick a version `helm search repo dapr/dapr --versions` lists.',
    );
  }

  const between = minorsBetween(from, target);
  if (!between.length || o.allowSkipMinor) return { from, target, hops: [{ from, to: target }] };
  if (!index) {
    throw refusal(
      `${from} → ${target} has to go through ${between.join(', ')}, and without a chart repository index daprup cannot tell which releases to stop at.`,
      'Use a chart repository (helm repo add dapr https://dapr.github.io/helm-charts/, --chart dapr/dapr), or pass --allow-skip-minor to go straight to the target.',
    );
  }
  const stops = between.map((m) => ({ minor: m, version: newestStop(index, m) }));
  const gaps = stops.filter((s) => !s.version).map((s) => s.minor);
  if (gaps.length) {
    throw refusal(
      `The chart repository lists no usable Dapr ${gaps.join(', ')} release, and ${from} → ${target} must go through ${gaps.length > 1 ? 'them' : 'it'}.`,
      `Run \`helm repo update\` (recalled releases, release candidates and vendor builds are never stops), or pass --allow-skip-minor to go straight to ${target}.`,
    );
  }
  const versions = [...stops.map((s) => s.version as string), target];
  return { from, target, hops: versions.map((to, i) => ({ from: i ? (versions[i - 1] as string) : from, to })) };
}

/** The minors strictly between two versions of one major: 1.15.12 → 1.18.3 gives ['1.16', '1.17']. */
function minorsBetween(from: string, to: string): string[] {
  const major = semver.major(from);
  const out: string[] = [];
  for (let m = semver.minor(from) + 1; m < semver.minor(to); m++) out.push(`${major}.${m}`);
  return out;
}

const newestStop = (index: readonly string[], minor: string) =>
  index.filter((v) => minorOf(v) === minor && isStop(v)).sort(semver.rcompare)[0];

/**
 * Targets worth having, like `kubeadm upgrade plan`: the newest patch of the running minor (if newer than current),
 * and the newest patch of each newer minor among the supported ones (the three newest minors the index lists).
 * Recalled releases and RCs left out unless includeRecalled/includePrerelease. Unreachable targets (a gap) are left out.
 * With includePrerelease, a minor newer than every supported one that has only release candidates is offered too.
 * haBefore/haAfter describe the whole run: the HA change is taken to happen with the first hop.
 */
export function upgradeTargets(current: string, available: readonly string[], o: TargetOptions = {}): UpgradeTarget[] {
  const from = installedVersion(current);
  const index = indexed(available);
  const listable = (v: string) =>
    !isVendorBuild(v) && (o.includeRecalled || !RECALLED.has(v)) && (o.includePrerelease || !isReleaseCandidate(v));
  const supported = supportedMinorsFrom(index, 'chart repository index')?.minors ?? [];
  const released = new Set(index.filter((v) => !semver.prerelease(v)).map(minorOf));
  const newestSupported = supported[0] ? semver.coerce(supported[0]) : null;
  const offered = (m: string) =>
    m === minorOf(from) ||
    supported.includes(m) ||
    (!!o.includePrerelease && !released.has(m) && (!newestSupported || semver.gt(`${m}.0`, newestSupported)));

  const newestByMinor = new Map<string, string>();
  for (const v of index.filter((v) => listable(v) && semver.major(v) === semver.major(from) && semver.gt(v, from))) {
    const m = minorOf(v);
    const seen = newestByMinor.get(m);
    if (offered(m) && (!seen || semver.gt(v, seen))) newestByMinor.set(m, v);
  }

  const targets: UpgradeTarget[] = [];
  for (const version of [...newestByMinor.values()].sort(semver.compare)) {
    let path: UpgradePath;
    try {
      path = walk(from, version, index, { allowPrerelease: o.includePrerelease }, !!o.includeRecalled);
    } catch (e) {
      if (e instanceof DaprupError) continue; // a gap in the index: not reachable from here
      throw e;
    }
    targets.push({
      version,
      change: minorOf(version) === minorOf(from) ? 'patch' : 'minor',
      hops: path.hops.map((h) => h.to),
      notes: notesAlong(path, o),
    });
  }
  return targets;
}

/** Every hop's notes, first occurrence kept. */
function notesAlong(path: UpgradePath, o: TargetOptions): HopNote[] {
  const seen = new Set<string>();
  return path.hops.flatMap((hop, i) => {
    const facts: HopFacts = { ...hop, haBefore: i === 0 ? o.haBefore : o.haAfter, haAfter: o.haAfter };
    const fresh = notesFor(facts).filter((n) => !seen.has(n.id));
    for (const n of fresh) seen.add(n.id);
    return fresh;
  });
}

/** major*1000 + minor, so minors compare across majors. */
const minorRank = (v: string) => {
  const s = semver.coerce(v);
  return s ? s.major * 1000 + s.minor : undefined;
};

/**
 * After which hops the data plane is restarted: whenever it would otherwise fall more than one minor behind the
 * control plane at the next hop, and always after the last. `dataPlane` is the oldest daprd minor running now
 * (undefined = none running: only the last). Returns one boolean per hop.
 */
export function dataPlaneRestarts(path: UpgradePath, dataPlane: string | undefined): boolean[] {
  // A data plane whose version cannot be read is restarted after every hop: it may already be the oldest.
  let oldest = dataPlane === undefined ? undefined : (minorRank(dataPlane) ?? Number.NEGATIVE_INFINITY);
  return path.hops.map((hop, i) => {
    const next = path.hops[i + 1];
    if (!next) return true;
    if (oldest === undefined) return false;
    const restart = (minorRank(next.to) ?? 0) - oldest > 1;
    if (restart) oldest = minorRank(hop.to);
    return restart;
  });
}
