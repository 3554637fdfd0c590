// `daprup rollback` and `plan --rollback`: back to the previous deployed Helm revision (or --to-revision N), as a
// planned run of the upgrade's own steps. What makes it a rollback is decided here: which revision, refused below
// the floors Dapr sets, and that revision's chart and values; the runbook then keeps the trust bundle, never
// downgrades CRDs, recreates StatefulSets whose immutable fields differ (the scheduler too when going below 1.15),
// restarts the data plane and verifies.
import semver from 'semver';
import type { HelmHistoryEntry } from '../cluster/helm.js';
import type { Tools } from '../cluster/tools.js';
import { findRelease, type DiscoveryOptions } from '../dapr/discovery.js';
import { explain } from '../dapr/error-hints.js';
import { rollbackFloor } from '../dapr/release-notes.js';
import { refusal } from '../errors.js';
import { STEP_IDS } from '../runbook/runbook.js';
import type { UpgradeOptions } from '../runbook/types.js';
import { JournalStore, unfinishedRun } from '../state/journal.js';

export interface RollbackTarget {
  release: { name: string; namespace: string };
  revision: number;
  version: string;
  /** The version the release runs now. */
  from: string;
}

const releaseOf = (r: { name: string; namespace: string }) => ({ name: r.name, namespace: r.namespace });

const deployedOnce = (h: HelmHistoryEntry) => h.status === 'superseded' || h.status === 'deployed';

/**
 * The revision to go back to: an unfinished rollback's own (it resumes there), --to-revision, or the newest revision
 * before the current one that was deployed. Refused where Dapr forbids going (rollbackFloor) and where the revision
 * never ran.
 */
export async function resolveRollback(
  tools: Tools,
  o: DiscoveryOptions & { toRevision?: number; stateDir?: string },
): Promise<RollbackTarget> {
  const release = await findRelease(tools, o);
  const where = `${release.name} -n ${release.namespace}`;
  if (o.stateDir) {
    const key = { clusterId: await tools.kubectl.clusterId(), namespace: release.namespace, release: release.name };
    const store = new JournalStore(o.stateDir, STEP_IDS);
    const open = unfinishedRun(await store.read(key), await store.inCluster(tools.kubectl, key).read());
    if (open?.kind === 'rollback' && open.rollbackRevision && (!o.toRevision || o.toRevision === open.rollbackRevision))
      return { release: releaseOf(release), revision: open.rollbackRevision, version: open.target, from: open.from };
  }
  let history: HelmHistoryEntry[];
  try {
    history = await tools.helm.history(release.name, release.namespace);
  } catch (e) {
    throw explain(e, `Reading the history of release ${release.name}`);
  }
  const target = o.toRevision
    ? history.find((h) => h.revision === o.toRevision)
    : [...history].reverse().find((h) => h.revision < release.revision && deployedOnce(h));
  if (!target) {
    throw refusal(
      o.toRevision
        ? `Release ${release.name} has no revision ${o.toRevision} in its last ${history.length} revisions.`
        : `Release ${release.name} has no earlier deployed revision to roll back to.`,
      `helm history ${where} lists the revisions; pass one that was deployed with --to-revision.`,
    );
  }
  if (target.revision === release.revision)
    throw refusal(
      `Revision ${target.revision} is the one that runs: there is nothing to roll back to.`,
      `helm history ${where} lists the others.`,
    );
  if (!deployedOnce(target))
    throw refusal(
      `Revision ${target.revision} never ran (its status is ${target.status}): rolling back to it would install something untried.`,
      `Pick a superseded revision from helm history ${where}.`,
    );
  const version = String(target.app_version).replace(/^v/, '');
  if (!semver.valid(version))
    throw refusal(
      `Revision ${target.revision} runs "${target.app_version}", which is not a Dapr version.`,
      'Roll it back by hand with helm rollback.',
    );
  const floor = rollbackFloor(release.version);
  if (floor && semver.lt(version, floor.version))
    throw refusal(
      `Dapr ${release.version} cannot be rolled back to ${version}: ${floor.why}.`,
      `Roll back to ${floor.version} or newer (${floor.source}), or restore from a backup taken before the upgrade.`,
    );
  return { release: releaseOf(release), revision: target.revision, version, from: release.version };
}

/** The options of a rollback: the revision's version as the target, its user values, nothing of the user's own. */
export async function rollbackOptions(
  tools: Tools,
  base: Omit<UpgradeOptions, 'target' | 'valuesFiles' | 'set' | 'ha' | 'overrides'>,
  target: RollbackTarget,
): Promise<UpgradeOptions> {
  const { release } = target;
  let values: Record<string, unknown>;
  try {
    values = await tools.helm.userValuesAt(release.name, release.namespace, target.revision);
  } catch (e) {
    throw explain(e, `Reading the values of revision ${target.revision}`);
  }
  const ha = (values.global as { ha?: { enabled?: unknown } } | undefined)?.ha?.enabled;
  return {
    ...base,
    target: target.version,
    valuesFiles: [],
    set: [],
    // HA as that revision had it: its values say so, or it ran the chart's default (off).
    ha: ha === true || ha === 'true',
    overrides: { allowDowngrade: true, allowSkipMinor: true },
    rollback: { revision: target.revision, values },
  };
}
