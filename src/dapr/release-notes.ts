// What each Dapr release changes that an operator must act on, as data: one entry per change, each with the
// hops it applies to and its source (dapr/dapr docs/release_notes, an issue, or the Dapr docs). The plan shows
// the notes of every hop, the runbook acts on them, and nothing is shown where it does not apply.
//
// Adding the next Dapr release is one entry in RELEASE_NOTES plus one row in test/unit/release-notes.test.ts
// (a hop where it applies, one where it does not; the test fails for an entry without a row). notesFor,
// schedulerDataLost and rollbackFloor read only this table.
import semver from 'semver';

/** What a hop is known to change, for deciding which notes apply. `from`/`to` are semver versions; from > to is a rollback. */
export interface HopFacts {
  from: string;
  to: string;
  haBefore?: boolean;
  haAfter?: boolean;
  /** The scheduler is disabled (dapr_scheduler.enabled false / no scheduler StatefulSet). */
  schedulerDisabled?: boolean;
}

export interface ReleaseNote {
  id: string; // stable, kebab-case, e.g. 'scheduler-data-wiped'
  release: string; // the version that brings it, e.g. '1.15.0'
  direction: 'upgrade' | 'rollback';
  appliesTo(h: HopFacts): boolean;
  /** What changes, one or two sentences. */
  text: string;
  /** What daprup does about it, or which flag the user must pass to accept it. */
  action: string;
  source: string; // URL
  /** Set on notes whose hop loses scheduler data (what is lost), so the runbook snapshots or refuses. */
  losesSchedulerData?: string;
  /** Set where `release` makes older versions unsafe: a rollback from `release` or later must not go below `version`. */
  rollbackFloor?: { version: string; why: string };
}

export interface HopNote {
  id: string;
  release: string;
  text: string;
  action: string;
  source: string;
}

const NOTES = 'https://github.com/dapr/dapr/blob/master/docs/release_notes';
/** Patch notes published only on their release branch (not on master). */
const tagNotes = (v: string) => `https://github.com/dapr/dapr/blob/v${v}/docs/release_notes/v${v}.md`;

// A release candidate of 1.17.0 already carries 1.17's changes, and a vendor build its base version's:
// compare on major.minor.patch only.
const base = (v: string) => semver.coerce(v)?.version ?? v;
const below = (v: string, release: string) => semver.lt(base(v), release);
const atLeast = (v: string, release: string) => semver.gte(base(v), release);
/** An upgrade from below `release` to `release` or later. */
const crossesUp = (h: HopFacts, release: string) => below(h.from, release) && atLeast(h.to, release);
/** A rollback from `release` or later to below it. */
const crossesDown = (h: HopFacts, release: string) => atLeast(h.from, release) && below(h.to, release);
const within = (v: string, from: string, before: string) => atLeast(v, from) && below(v, before);

const schedulerOn = (h: HopFacts) => !h.schedulerDisabled;
/** The chart keeps the live scheduler claim size (lookup of the StatefulSet): 1.16.16+ and 1.17.7+. */
const looksUpSchedulerStorage = (v: string) => within(v, '1.16.16', '1.17.0') || atLeast(v, '1.17.7');
/** The chart renders no scheduler StatefulSet when the scheduler is disabled: 1.16.0 (reverted in 1.16.1) and 1.17+. */
const dropsDisabledScheduler = (v: string) => base(v) === '1.16.0' || atLeast(v, '1.17.0');

export const RELEASE_NOTES: readonly ReleaseNote[] = [
  {
    id: 'crds-not-downgraded',
    // Dapr's CRDs are backwards compatible since 1.0 and "only need to be installed forward".
    release: '1.0.0',
    direction: 'rollback',
    appliesTo: () => true,
    text: 'Dapr CRDs are backwards compatible and only ever installed forward: the newer CRDs stay on the cluster.',
    action: 'daprup skips apply-crds on a rollback; nothing to pass.',
    source: 'https://docs.dapr.io/operations/hosting/kubernetes/kubernetes-upgrade/',
  },
  {
    id: 'images-on-ghcr',
    release: '1.13.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.13.0'),
    text: 'The chart pulls images from ghcr.io/dapr instead of docker.io/daprio.',
    action: 'Mirror ghcr.io/dapr images into a private registry first, or keep yours with --set global.registry=<registry>.',
    source: `${NOTES}/v1.13.0.md`,
  },
  {
    id: 'actor-api-level-20',
    release: '1.13.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.13.0'),
    text: 'Actor reminders can be stored as protobuf (opt-in dapr_placement.maxActorApiLevel=20); once on, versions below 1.13 cannot read them.',
    action: 'daprup refuses rollbacks below 1.13.0 from then on.',
    source: `${NOTES}/v1.13.0.md`,
    rollbackFloor: {
      version: '1.13.0',
      why: 'reminders stored at actor API level 20 (dapr_placement.maxActorApiLevel=20) are unreadable below 1.13',
    },
  },
  {
    id: 'scheduler-storage-claims',
    release: '1.14.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.14.0') && schedulerOn(h),
    text: 'The new scheduler StatefulSet (dapr-scheduler-server) asks for a 1Gi dapr-scheduler-data-dir claim per replica; without a default StorageClass its pods stay Pending.',
    action: 'Have a default StorageClass, or pass --set dapr_scheduler.cluster.storageClassName=<class>.',
    source: `${NOTES}/v1.14.0.md`,
  },
  {
    id: 'sentry-port-443-only',
    release: '1.14.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.14.0'),
    text: 'The dapr-sentry Service no longer serves the legacy port 80, only 443: a client pinned to :80 (for example Dapr Shared) can no longer get certificates.',
    action: 'daprup restarts the data plane; point custom Sentry addresses at port 443.',
    source: `${NOTES}/v1.14.0.md`,
  },
  {
    id: 'actors-namespaced',
    release: '1.14.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.14.0'),
    text: 'Actors are namespaced: invoking an actor in another namespace no longer works.',
    action: 'Nothing daprup can change: move cross-namespace actor calls into one namespace before upgrading.',
    source: `${NOTES}/v1.14.0.md`,
  },
  {
    id: 'leaving-recalled-1-14-3',
    release: '1.14.3',
    direction: 'upgrade',
    // 1.14.4 reverted the claim template to 1Gi; charts that look up the live size keep 16Gi.
    appliesTo: (h) => base(h.from) === '1.14.3' && !looksUpSchedulerStorage(h.to) && schedulerOn(h),
    text: 'The recalled 1.14.3 raised the scheduler claim template from 1Gi to 16Gi and 1.14.4 reverted it: leaving 1.14.3 changes that immutable StatefulSet field again (dapr/dapr#8104).',
    action: 'recreate-statefulsets deletes the scheduler StatefulSet (claims kept) before helm upgrade; daprup never installs 1.14.3.',
    source: 'https://github.com/dapr/dapr/issues/8104',
  },
  {
    id: 'scheduler-data-wiped',
    release: '1.15.0',
    direction: 'upgrade',
    // No scheduler before 1.14: nothing to lose.
    appliesTo: (h) => within(h.from, '1.14.0', '1.15.0') && atLeast(h.to, '1.15.0') && schedulerOn(h),
    text: 'The 1.15 scheduler starts its embedded etcd in a new directory (dapr-0.1) and never reads what 1.14 stored there: jobs, scheduler-stored actor reminders and workflow timers are lost.',
    action:
      'daprup snapshots the scheduler claims first (needs a VolumeSnapshotClass), or refuses unless --accept-scheduler-data-loss; `etcdctl snapshot save` through port 2379 also keeps a copy.',
    source: `${NOTES}/v1.15.0.md`,
    losesSchedulerData: 'jobs, and the actor reminders and workflows kept in the scheduler (SchedulerReminders preview feature)',
  },
  {
    id: 'actor-reminders-migrated',
    release: '1.15.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.15.0'),
    text: 'Actor reminders move to the scheduler by default (SchedulerReminders on): existing reminders are migrated once per actor type, and the scheduler claims then hold them.',
    action: 'Nothing to pass; set the SchedulerReminders feature to false in the app Configuration to keep them where they are.',
    source: `${NOTES}/v1.15.0.md`,
  },
  {
    id: 'scheduler-three-replicas',
    release: '1.15.0',
    direction: 'upgrade',
    // 1.14 ran one scheduler replica without HA, three with it.
    appliesTo: (h) => crossesUp(h, '1.15.0') && h.haBefore !== true && schedulerOn(h),
    text: 'The scheduler always runs 3 replicas: a non-HA install gets 2 more dapr-scheduler-data-dir claims (3 from below 1.14).',
    action: 'Make room for 3 claims (StorageClass, quota); daprup waits until every scheduler pod runs the target.',
    source: 'https://github.com/dapr/dapr/pull/8464',
  },
  {
    id: 'scheduler-pods-deleted',
    release: '1.15.0',
    direction: 'rollback',
    // Below 1.14 there is no scheduler left to roll.
    appliesTo: (h) => crossesDown(h, '1.15.0') && atLeast(h.to, '1.14.0') && schedulerOn(h),
    text: 'Scheduler pods below 1.15 cannot join the 1.15 ones (mTLS between hosts), so the scheduler StatefulSet does not roll back on its own.',
    action: 'recreate-statefulsets deletes the scheduler StatefulSet and its 1.15+ pods before helm upgrade (claims kept).',
    source: `${NOTES}/v1.15.0.md`,
  },
  {
    id: 'placement-non-root-raft-log',
    release: '1.16.0',
    direction: 'upgrade',
    // Without HA placement keeps no raft log on disk.
    appliesTo: (h) => crossesUp(h, '1.16.0') && h.haAfter !== false,
    text: 'Placement runs as non-root (fsGroup 65532) and its HA raft log moves to cluster-v2-nonroot-<id>: placement starts a fresh log and rebuilds the table as sidecars reconnect.',
    action: 'Nothing to pass; storage that ignores fsGroup (hostPath) leaves the raft-log claim unwritable and placement not ready.',
    source: 'https://github.com/dapr/dapr/pull/9041',
  },
  {
    id: 'grpc-authz-cve-2026-33186',
    release: '1.16.12',
    direction: 'upgrade',
    appliesTo: (h) => within(h.to, '1.16.0', '1.16.12') || within(h.to, '1.17.0', '1.17.3'),
    text: 'This target lacks the fix for CVE-2026-33186 (gRPC authorization bypass), fixed in 1.16.12 and 1.17.3.',
    action: 'Target the newest patch of the minor (daprup plan lists it).',
    source: `${NOTES}/v1.16.12.md`,
  },
  {
    id: 'scheduler-storage-lookup',
    release: '1.16.16',
    direction: 'rollback',
    // From a chart that defaults to 16Gi, to one that renders its own size instead of the live one.
    appliesTo: (h) => atLeast(h.from, '1.17.7') && !looksUpSchedulerStorage(h.to) && schedulerOn(h),
    text: 'The target chart renders its own scheduler claim size instead of keeping the live one (charts below 1.16.16, and 1.17.0–1.17.6): a 16Gi install changes an immutable StatefulSet field.',
    action:
      'recreate-statefulsets deletes the scheduler StatefulSet (claims kept) before helm upgrade; rolling back to 1.16.16 or later avoids it.',
    source: tagNotes('1.16.16'),
  },
  {
    id: 'disabled-scheduler-statefulset-deleted',
    release: '1.17.0',
    direction: 'upgrade',
    appliesTo: (h) => !!h.schedulerDisabled && !dropsDisabledScheduler(h.from) && dropsDisabledScheduler(h.to),
    text: 'With the scheduler disabled, the chart no longer renders its StatefulSet: helm deletes it and its claims stay behind, orphaned.',
    action: 'Nothing to pass; delete the dapr-scheduler-data-dir claims yourself once their data is not needed.',
    source: `${NOTES}/v1.17.0.md`,
  },
  {
    id: 'placement-disseminate-timeout-reset',
    release: '1.17.0',
    direction: 'rollback',
    appliesTo: (h) => crossesDown(h, '1.17.0'),
    text: 'The 1.17 chart defaults dapr_placement.disseminateTimeout to 8s; placement below 1.17 accepts 1s–3s and does not start with 8s.',
    action:
      'daprup rolls back with --reset-values, so dapr_placement.disseminateTimeout returns to the target chart default (2s); a user value above 3s must go.',
    source: tagNotes('1.16.16'),
  },
  {
    id: 'scheduler-storage-16gi',
    release: '1.17.7',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.17.7') && schedulerOn(h),
    text: 'The scheduler claim default is 16Gi for fresh installs; an upgrade keeps the live size (the chart looks up the StatefulSet) and never resizes existing claims.',
    action:
      'daprup renders server-side, so the live size is kept; grow claims with `kubectl patch pvc` where the StorageClass allows expansion.',
    source: `${NOTES}/v1.17.7.md`,
  },
  {
    id: 'new-crds-mcpservers-workflowaccesspolicies',
    release: '1.18.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.18.0'),
    text: 'New CRDs mcpservers.dapr.io and workflowaccesspolicies.dapr.io; Helm never installs CRDs on upgrade.',
    action: 'daprup creates them in apply-crds.',
    source: `${NOTES}/v1.18.0.md`,
  },
  {
    id: 'native-sidecar-option',
    release: '1.18.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.18.0'),
    text: 'The injector can add daprd as a native sidecar (init container with restartPolicy Always), opt-in per pod (dapr.io/enable-native-sidecar) or chart-wide (dapr_sidecar_injector.nativeSidecar, default false).',
    action: 'Nothing to pass; daprup finds daprd in containers and in native-sidecar init containers.',
    source: `${NOTES}/v1.18.0.md`,
  },
  {
    id: 'sidecar-probe-defaults',
    release: '1.18.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.18.0'),
    text: 'Probe defaults change: liveness is lenient (about 230s before a restart), readiness tight (about 3s control plane, 5s daprd).',
    action:
      'Review custom probes (dapr.io/sidecar-liveness-probe-*, dapr.io/sidecar-readiness-probe-* annotations and chart probe values): they are kept as set.',
    source: `${NOTES}/v1.18.0.md`,
  },
  {
    id: 'hot-reload-default-on',
    release: '1.18.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.18.0'),
    text: 'HotReload is on by default: changes to Components, Subscriptions, Configurations and other resources apply without restarting sidecars.',
    action: 'Nothing to pass; disable the HotReload feature in the Dapr Configuration to keep the old behaviour.',
    source: `${NOTES}/v1.18.0.md`,
  },
  {
    id: 'sentry-ed25519',
    release: '1.18.0',
    direction: 'upgrade',
    appliesTo: (h) => crossesUp(h, '1.18.0'),
    text: 'Sentry writes Ed25519 keys into the dapr-trust-bundle Secret; Sentry below 1.17.7 cannot read them and crash-loops.',
    action: 'daprup refuses rollbacks below 1.17.7 from then on (roll back to 1.17.7 or later).',
    source: `${NOTES}/v1.18.0.md`,
    rollbackFloor: { version: '1.17.7', why: 'Sentry below 1.17.7 cannot read the Ed25519 trust bundle 1.18 writes and crash-loops' },
  },
];

const direction = (h: HopFacts): ReleaseNote['direction'] | undefined =>
  semver.eq(h.from, h.to) ? undefined : semver.gt(h.from, h.to) ? 'rollback' : 'upgrade';

function applying(h: HopFacts): ReleaseNote[] {
  const dir = direction(h);
  return RELEASE_NOTES.filter((n) => n.direction === dir && n.appliesTo(h)).sort((a, b) => semver.compare(a.release, b.release));
}

/** The notes that apply to one hop (upgrade or rollback direction decided by from/to), in release order. */
export function notesFor(h: HopFacts): HopNote[] {
  return applying(h).map(({ id, release, text, action, source }) => ({ id, release, text, action, source }));
}

/** What the hop loses of the scheduler's data (e.g. 'jobs, actor reminders and workflows'), or undefined. */
export function schedulerDataLost(h: HopFacts): string | undefined {
  const lost = applying(h).flatMap((n) => (n.losesSchedulerData ? [n.losesSchedulerData] : []));
  return lost.length ? lost.join('; ') : undefined;
}

/** The lowest version a rollback from `current` may go to, with why: 1.17.7 from ≥1.18 (Ed25519), 1.13.0 from ≥1.13 (reminders API level 20). */
export function rollbackFloor(current: string): { version: string; why: string; source: string } | undefined {
  const floors = RELEASE_NOTES.flatMap((n) =>
    n.rollbackFloor && atLeast(current, n.release) ? [{ ...n.rollbackFloor, source: n.source }] : [],
  );
  return floors.sort((a, b) => semver.rcompare(a.version, b.version))[0];
}
