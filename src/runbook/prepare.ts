// Runs every read-only probe once and derives what the steps need: the version verdict, the target chart
// (pulled, so CRDs and templates come from it and not from the network), the rendered StatefulSets, the
// CRD changes. Plan and upgrade both start here, so the preview shows what the upgrade will do.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { chartRef, type ChartMetadata, type HelmHistoryEntry, type RenderedRelease } from '../cluster/helm.js';
import type { K8sObject, Workload } from '../cluster/k8s-types.js';
import type { Tools } from '../cluster/tools.js';
import { TLS_VALUES } from '../dapr/chart.js';
import { keepLiveConversion, type CrdObject } from '../dapr/crds.js';
import { inspectCluster, type ClusterFacts, type ReleaseFacts } from '../dapr/discovery.js';
import { explain, hintFor } from '../dapr/error-hints.js';
import { checkTrustBundle, type TrustBundle } from '../dapr/trust-bundle.js';
import { haAfterUpgrade, readUserOverrides, tagAfterUpgrade, userBringsTrustBundle } from '../dapr/upgrade-values.js';
import { getPath, withoutTlsValues } from '../dapr/values.js';
import { evaluateVersionPolicy, type PolicyVerdict } from '../dapr/version-policy.js';
import { DaprupError, ExitCode, refusal } from '../errors.js';
import { crdsToApplyDir, fetchableChart, fetchTargetChart, untarredChart } from './steps/chart.js';
import { dryRunValuesFile, hasResetThenReuse, helmUpgradeArgs, rollbackValuesFile } from './steps/helm-upgrade.js';
import type { RunContext, UpgradeOptions } from './types.js';

export interface PrepareOptions {
  workDir: string;
  log: (line: string) => void;
  /** On resume: the version the run started from (the release may already be at the target). */
  from?: string;
  /** Asked when the release is stuck pending-*: true rolls it back to its last deployed revision first. */
  recoverPending?: (message: string) => Promise<boolean>;
  /** A later hop planned before the earlier ones ran: the chart version it starts from (for the values diff). */
  installed?: string;
}

export async function prepareRun(tools: Tools, options: UpgradeOptions, p: PrepareOptions): Promise<RunContext> {
  fetchableChart(options.chart); // a --chart daprup cannot fetch is refused before the cluster is read
  let facts = await inspectCluster(tools, { release: options.release, namespace: options.namespace, withCheckObjects: true });
  if (facts.release.status.startsWith('pending-')) {
    await recoverPendingRelease(tools, facts.release, options.timeout, p);
    facts = await inspectCluster(tools, { release: options.release, namespace: options.namespace, withCheckObjects: true });
  }
  const { release } = facts;

  const trustBundle = facts.trustBundle;
  if (!trustBundle) {
    throw refusal(
      `The trust bundle (Secret dapr-trust-bundle in ${release.namespace}) is missing.`,
      'Sentry creates it at install; without it an upgrade would generate a new CA. Restore it from a backup (daprup certs export output) first.',
    );
  }
  const bundle = checkTrustBundle(trustBundle, { warnDays: options.certWarnDays });
  const bad = bundle.checks.find((c) => c.severity === 'failure');
  if (bad)
    throw refusal(
      `The trust bundle is not usable: ${bad.message}`,
      'Fix or renew the trust bundle first (`daprup certs check` shows every finding).',
    );

  // helm upgrades a failed release from its last deployed revision: those values are reused, that chart runs.
  const lastDeployed = release.status === 'failed' ? await lastDeployedRevision(tools, release) : undefined;
  if (lastDeployed)
    facts = {
      ...facts,
      userValues: await tools.helm.userValuesAt(release.name, release.namespace, lastDeployed.revision).catch(() => facts.userValues),
    };
  // A rollback re-deploys the target revision's own values (helm rollback would too), with today's trust bundle.
  if (options.rollback) facts = { ...facts, userValues: options.rollback.values };
  const installedChartVersion =
    p.installed ?? ((lastDeployed && /^.+?-(\d+\.\d+\.\d+\S*)$/.exec(lastDeployed.chart)?.[1]) || release.chartVersion);
  const verdict = await versionVerdict(facts, options, lastDeployed, p.from);
  // The user's own -f/--set win over everything daprup adds (helm merges every -f before any --set).
  const userOverrides = await readUserOverrides(options.valuesFiles, options.set);
  const haAfter = haAfterUpgrade(options.ha, userOverrides, facts.userValues, facts.haEnabled);
  const userTrustBundle = userBringsTrustBundle(userOverrides);
  if (userTrustBundle) refuseForeignTrustBundle(userOverrides, trustBundle);
  const tag = tagAfterUpgrade(facts.userValues, userOverrides, options.target);
  // The upgrade pins the running bundle again (--set-file): say so when its root is about to expire.
  const expiring =
    bundle.root && bundle.root.daysLeft < 30
      ? `This upgrade re-pins a root certificate that expires in ${bundle.root.daysLeft} days (${bundle.root.notAfter}): rotate it with daprup certs rotate.`
      : undefined;
  const notes = [...verdict.warnings, ...(tag.warning ? [tag.warning] : []), ...(expiring ? [expiring] : [])];

  await mkdir(p.workDir, { recursive: true, mode: 0o700 });
  const { chartDir, meta, chartVersions } = await fetchTargetChart(tools, options, p.workDir);
  const checkObjects = facts.checkObjects;
  const base: RunContext = {
    tools,
    options,
    facts,
    verdict: { ...verdict, warnings: notes },
    workDir: p.workDir,
    chartDir,
    targetChart: meta,
    installedChartVersion,
    haAfter,
    userOverrides,
    userTrustBundle,
    tagAfter: tag.tag,
    rendered: [],
    renderedConfig: {},
    crdFiles: [],
    crds: [],
    checkObjects,
    chartVersions,
    log: p.log,
  };
  const [render, crds] = await Promise.all([renderUpgrade(base), prepareCrds(base)]);
  return { ...base, ...render, ...crds };
}

/**
 * The version policy, judged from what runs. A release whose last revision failed still runs what the last
 * deployed revision installed (or a mix): its APP VERSION is not what runs, so the lowest control-plane version is.
 */
export async function versionVerdict(
  facts: ClusterFacts,
  options: UpgradeOptions,
  lastDeployed: HelmHistoryEntry | undefined,
  from?: string,
): Promise<PolicyVerdict> {
  const { release } = facts;
  if (from || release.status !== 'failed') return evaluateVersionPolicy(from ?? release.version, options.target, options.overrides);
  const running =
    facts.controlPlane
      .flatMap((c) => (c.present ? [c.version, ...c.podVersions] : []))
      .filter((v): v is string => !!v && !!semver.valid(v))
      .sort(semver.compare)[0] ?? release.version;
  const failedTarget = release.version;
  const situation = `The last revision of release ${release.name} (${release.revision}, Dapr ${failedTarget}) failed; the control plane runs ${running}.`;
  const rollback = lastDeployed
    ? `roll back first (helm rollback ${release.name} ${lastDeployed.revision} -n ${release.namespace}, Dapr ${lastDeployed.app_version})`
    : 'roll back first (helm history shows the revisions)';
  try {
    const verdict = evaluateVersionPolicy(running, options.target, options.overrides);
    return {
      ...verdict,
      warnings: [
        `${situation} daprup upgrades from ${running}${options.target === failedTarget ? ', retrying that upgrade' : ''}.`,
        ...verdict.warnings,
      ],
    };
  } catch (e) {
    if (!(e instanceof DaprupError)) throw e;
    throw new DaprupError(
      `${situation} ${e.message}`,
      `Retry the failed upgrade (daprup upgrade --to ${failedTarget}) or ${rollback}. ${e.hint}`,
      e.exitCode,
    );
  }
}

/** The newest revision before the current one that was deployed: what a failed release still runs. */
export async function lastDeployedRevision(tools: Tools, release: ReleaseFacts): Promise<HelmHistoryEntry | undefined> {
  const history = await tools.helm.history(release.name, release.namespace).catch(() => []);
  return [...history].reverse().find((h) => h.revision < release.revision && (h.status === 'deployed' || h.status === 'superseded'));
}

/** PEMs in the user's values that are not the cluster's trust bundle would replace the CA mid-upgrade. */
function refuseForeignTrustBundle(overrides: Record<string, unknown>, live: TrustBundle): void {
  const same = (path: string, pem: string) => String(getPath(overrides, path) ?? '').trim() === pem.trim();
  if (
    same(TLS_VALUES.rootCert, live.rootCert) &&
    same(TLS_VALUES.issuerCert, live.issuerCert) &&
    same(TLS_VALUES.issuerKey, live.issuerKey)
  )
    return;
  throw refusal(
    'The trust-bundle PEMs in your values are not the ones the cluster runs: this upgrade would replace the CA and strand every sidecar.',
    'Upgrade with the PEMs the cluster has (or leave them out: daprup passes the exported bundle), and change certificates as a separate step.',
  );
}

/**
 * What the upgrade will really apply: `helm upgrade --dry-run=server` with the very arguments of the upgrade
 * (certificates aside), so lookups of live objects count, and the values the new revision will record.
 */
async function renderUpgrade(ctx: RunContext): Promise<Pick<RunContext, 'rendered' | 'renderedConfig'>> {
  if (ctx.options.rollback)
    await writeFile(rollbackValuesFile(ctx.workDir), stringify(withoutTlsValues(ctx.options.rollback.values)), { mode: 0o600 });
  else if (!hasResetThenReuse(ctx))
    await writeFile(dryRunValuesFile(ctx.workDir), stringify(withoutTlsValues(ctx.facts.userValues)), { mode: 0o600 });
  let release: RenderedRelease;
  try {
    release = await ctx.tools.helm.renderUpgrade(helmUpgradeArgs(ctx, { dryRun: true }));
  } catch (e) {
    throw explain(e, 'Rendering the upgrade (helm upgrade --dry-run)');
  }
  const rendered = parseAllDocuments(release.manifest)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is Workload => !!o && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  return { rendered, renderedConfig: withoutTlsValues(release.config) };
}

/**
 * A release left pending-* (helm killed mid-operation) blocks every upgrade (helm/helm#10549). With consent,
 * roll it back to its last deployed revision; otherwise refuse with the exact command.
 */
export async function recoverPendingRelease(
  tools: Tools,
  release: { name: string; namespace: string; status: string; revision: number },
  timeout: string,
  p: Pick<PrepareOptions, 'recoverPending' | 'log'>,
): Promise<void> {
  const history = await tools.helm.history(release.name, release.namespace).catch(() => []);
  const lastDeployed = [...history]
    .reverse()
    .find((h) => h.revision < release.revision && (h.status === 'deployed' || h.status === 'superseded'));
  const situation = `Release ${release.name} in ${release.namespace} is stuck in ${release.status} (revision ${release.revision}): a helm operation was interrupted or is still running.`;
  if (!lastDeployed) throw refusal(situation, 'No earlier deployed revision exists to roll back to; inspect it with helm history.');
  const rollback = `helm rollback ${release.name} ${lastDeployed.revision} -n ${release.namespace}`;
  if (
    !p.recoverPending ||
    !(await p.recoverPending(`${situation} Roll back to revision ${lastDeployed.revision} (${lastDeployed.chart}) and continue?`))
  ) {
    throw refusal(situation, `If no other helm or daprup is running, roll back (${rollback}) or rerun with --recover-pending.`);
  }
  p.log(`Rolling back ${release.name} to revision ${lastDeployed.revision} (${lastDeployed.chart}).`);
  try {
    await tools.helm.rollback(release.name, release.namespace, lastDeployed.revision, timeout);
  } catch (e) {
    throw explain(e, `Rolling back to revision ${lastDeployed.revision}`);
  }
}

/**
 * The chart the release runs, pulled beside the target for the values diff; undefined where it cannot be
 * (a local chart or a URL names one version only, a version gone from the repository): the plan then compares
 * the user's values only.
 */
export async function pullInstalledChart(ctx: RunContext): Promise<string | undefined> {
  const ref = chartRef(ctx.options.chart);
  const version = ctx.installedChartVersion;
  if (ref.kind !== 'repo' && ref.kind !== 'oci') return undefined;
  const dest = join(ctx.workDir, 'installed-chart');
  const pulled = await untarredChart(dest);
  if (pulled && (parseYaml(await readFile(join(pulled, 'Chart.yaml'), 'utf8')) as ChartMetadata).version === version) return pulled;
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true, mode: 0o700 });
  try {
    await ctx.tools.helm.pull(ref.ref, version, dest);
  } catch {
    return undefined;
  }
  return untarredChart(dest);
}

/** The target chart's CRDs as daprup will apply them, and which of them are new or change (a server-side dry-run diff). */
async function prepareCrds(ctx: RunContext): Promise<Pick<RunContext, 'crdFiles' | 'crds'>> {
  // CRDs are never downgraded: the newer ones serve the older Dapr (their older versions stay served).
  if (ctx.options.rollback) return { crdFiles: [], crds: [] };
  const source = join(ctx.chartDir, 'crds');
  if (!existsSync(source)) return { crdFiles: [], crds: [] };
  const files = (await readdir(source)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const docs = await Promise.all(
    files.map(async (f) => ({
      file: f,
      objects: parseAllDocuments(await readFile(join(source, f), 'utf8'))
        .map((d) => d.toJSON() as CrdObject | null)
        .filter((o): o is CrdObject => o?.kind === 'CustomResourceDefinition'),
    })),
  );
  const names = docs.flatMap((d) => d.objects.map((o) => o.metadata.name));
  let live: CrdObject[];
  try {
    live = names.length
      ? await ctx.tools.kubectl.list<CrdObject>(
          names.map((n) => `customresourcedefinitions/${n}`),
          { ignoreNotFound: true },
        )
      : [];
  } catch (e) {
    throw explain(e, 'Reading the CustomResourceDefinitions');
  }
  const dir = crdsToApplyDir(ctx.workDir);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const crdFiles: string[] = [];
  for (const d of docs) {
    if (!d.objects.length) continue;
    const file = join(dir, d.file);
    const kept = d.objects.map((o) =>
      keepLiveConversion(
        o,
        live.find((l) => l.metadata.name === o.metadata.name),
      ),
    );
    await writeFile(file, kept.map((o) => stringify(o)).join('---\n'), { mode: 0o600 });
    crdFiles.push(file);
  }
  if (!crdFiles.length) return { crdFiles, crds: [] };
  try {
    const changes = await ctx.tools.kubectl.diffChanges(dir);
    return { crdFiles, crds: names.map((name) => ({ name, action: changes.get(name) ?? 'unchanged' })) };
  } catch (e) {
    const text = String((e as { stderr?: string }).stderr ?? e);
    throw new DaprupError(
      `Comparing the chart's CRDs with the cluster failed: ${text.trim().split('\n')[0]}`,
      hintFor(text) ?? 'Check that your user may read CustomResourceDefinitions.',
      ExitCode.stepFailed,
    );
  }
}
