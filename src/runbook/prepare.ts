// Runs every read-only probe once and derives what the steps need: the version verdict, the target chart
// (pulled, so CRDs and templates come from it and not from the network), the rendered StatefulSets, the
// CRD changes. Plan and upgrade both start here, so the preview shows what the upgrade will do.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { readCheckObjects } from '../check.js';
import type { ChartMetadata } from '../cluster/helm.js';
import type { K8sObject, Workload } from '../cluster/k8s-types.js';
import { DAPR_REPO, HA_VALUE } from '../dapr/chart.js';
import { explain, inspectCluster, type Tools } from '../dapr/discovery.js';
import { hintFor } from '../dapr/error-hints.js';
import { checkTrustBundle } from '../dapr/trust-bundle.js';
import { getPath, withoutTlsValues } from '../dapr/values.js';
import { evaluateVersionPolicy } from '../dapr/version-policy.js';
import { DaprupError, ExitCode, refusal } from '../errors.js';
import type { CrdChange, RunContext, UpgradeOptions } from './types.js';

export interface PrepareOptions {
  workDir: string;
  log: (line: string) => void;
  /** On resume: the version the run started from (the release may already be at the target). */
  from?: string;
  /** Asked when the release is stuck pending-*: true rolls it back to its last deployed revision first. */
  recoverPending?: (message: string) => Promise<boolean>;
}

export async function prepareRun(tools: Tools, options: UpgradeOptions, p: PrepareOptions): Promise<RunContext> {
  let facts = await inspectCluster(tools, { release: options.release, namespace: options.namespace });
  if (facts.release.status.startsWith('pending-')) {
    await recoverPendingRelease(tools, facts.release, options.timeout, p);
    facts = await inspectCluster(tools, { release: options.release, namespace: options.namespace });
  }
  const { release } = facts;

  if (!facts.trustBundle) {
    throw refusal(`The trust bundle (Secret dapr-trust-bundle in ${release.namespace}) is missing.`, 'Sentry creates it at install; without it an upgrade would generate a new CA. Restore it from a backup (daprup certs export output) first.');
  }
  const bundle = checkTrustBundle(facts.trustBundle, { warnDays: options.certWarnDays });
  const bad = bundle.checks.find((c) => c.severity === 'failure');
  if (bad) throw refusal(`The trust bundle is not usable: ${bad.message}`, 'Fix or renew the trust bundle first (`daprup certs check` shows every finding).');

  const verdict = evaluateVersionPolicy(p.from ?? release.version, options.target, options.overrides);
  const haAfter = options.ha ?? (getPath(facts.userValues, HA_VALUE) === true || facts.haEnabled);

  await mkdir(p.workDir, { recursive: true, mode: 0o700 });
  // The production checks' extra read runs alongside the chart fetch; a failure there never stops the upgrade.
  const [{ chartDir, meta, chartVersions }, checkObjects] = await Promise.all([
    fetchTargetChart(tools, options, p.workDir),
    readCheckObjects(tools.kubectl).catch(() => undefined),
  ]);
  const valueArgs = await templateValueArgs(options, facts.userValues, haAfter, p.workDir);
  let manifest: string;
  try {
    manifest = await tools.helm.template(release.name, chartDir, release.namespace, valueArgs);
  } catch (e) {
    throw explain(e, 'Rendering the target chart');
  }
  const rendered = parseAllDocuments(manifest).map((d) => d.toJSON() as K8sObject | null).filter((o): o is Workload => !!o && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
  const crdFiles = await chartCrdFiles(chartDir);
  const crds = await crdChanges(tools, crdFiles, chartDir);

  return { tools, options, facts, verdict, workDir: p.workDir, chartDir, targetChart: meta, haAfter, rendered, crdFiles, crds, checkObjects, chartVersions, log: p.log };
}

/**
 * A release left pending-* (helm killed mid-operation) blocks every upgrade (helm/helm#10549). With consent,
 * roll it back to its last deployed revision; otherwise refuse with the exact command.
 */
async function recoverPendingRelease(tools: Tools, release: { name: string; namespace: string; status: string; revision: number }, timeout: string, p: PrepareOptions): Promise<void> {
  const history = await tools.helm.history(release.name, release.namespace).catch(() => []);
  const lastDeployed = [...history].reverse().find((h) => h.revision < release.revision && (h.status === 'deployed' || h.status === 'superseded'));
  const situation = `Release ${release.name} in ${release.namespace} is stuck in ${release.status} (revision ${release.revision}): a helm operation was interrupted or is still running.`;
  if (!lastDeployed) throw refusal(situation, 'No earlier deployed revision exists to roll back to; inspect it with helm history.');
  const rollback = `helm rollback ${release.name} ${lastDeployed.revision} -n ${release.namespace}`;
  if (!p.recoverPending || !(await p.recoverPending(`${situation} Roll back to revision ${lastDeployed.revision} (${lastDeployed.chart}) and continue?`))) {
    throw refusal(situation, `If no other helm or daprup is running, roll back (${rollback}) or rerun with --recover-pending.`);
  }
  p.log(`Rolling back ${release.name} to revision ${lastDeployed.revision} (${lastDeployed.chart}).`);
  try {
    await tools.helm.rollback(release.name, release.namespace, lastDeployed.revision, timeout);
  } catch (e) {
    throw explain(e, `Rolling back to revision ${lastDeployed.revision}`);
  }
}

/** The repository behind `repo/chart`: added when it is Dapr's public one, refused otherwise. */
async function fetchTargetChart(tools: Tools, o: UpgradeOptions, workDir: string): Promise<{ chartDir: string; meta: ChartMetadata; chartVersions?: string[] }> {
  const { helm } = tools;
  const chartDir = join(workDir, 'chart');
  const pulledDir = join(chartDir, o.chart.split('/').at(-1)!);
  if (existsSync(join(pulledDir, 'Chart.yaml'))) {
    const meta = parseYaml(await readFile(join(pulledDir, 'Chart.yaml'), 'utf8')) as ChartMetadata;
    if (meta.version === o.target) return { chartDir: pulledDir, meta };
  }
  let chartVersions: string[] | undefined;
  const isRepoRef = !o.chart.startsWith('oci://') && !o.chart.startsWith('.') && !o.chart.startsWith('/') && o.chart.includes('/');
  if (isRepoRef) {
    const repoName = o.chart.split('/')[0]!;
    // Usually the repository is configured: update it at once; only when that fails, see whether it is there.
    await helm.repoUpdate(repoName).catch(async (updateError: unknown) => {
      const repos = await helm.repoList();
      if (repos.some((r) => r.name === repoName)) throw explain(updateError, `Updating Helm repository ${repoName}`);
      if (repoName !== DAPR_REPO.name) throw refusal(`Helm repository "${repoName}" is not configured.`, `Add it with helm repo add ${repoName} <url>, or pass --chart dapr/dapr.`);
      await helm.repoAdd(DAPR_REPO.name, DAPR_REPO.url).catch((e: unknown) => { throw explain(e, `Adding the Dapr chart repository ${DAPR_REPO.url}`); });
      await helm.repoUpdate(repoName).catch((e: unknown) => { throw explain(e, `Updating Helm repository ${repoName}`); });
    });
    const versions = await helm.searchVersions(o.chart);
    chartVersions = versions.map((v) => v.version);
    const found = versions.find((v) => v.version === o.target);
    if (!found) {
      const sameMinor = versions.filter((v) => v.version.startsWith(o.target.split('.').slice(0, 2).join('.') + '.')).slice(0, 3).map((v) => v.version);
      const latest = sameMinor.length ? sameMinor : versions.slice(0, 3).map((v) => v.version);
      throw refusal(`Chart ${o.chart} has no version ${o.target}.`, latest.length ? `Available versions include ${latest.join(', ')} (helm search repo ${o.chart} --versions).` : `helm search repo ${o.chart} --versions lists none: check the repository.`);
    }
  }
  await mkdir(chartDir, { recursive: true, mode: 0o700 });
  try {
    await helm.pull(o.chart, o.target, chartDir);
  } catch (e) {
    throw explain(e, `Pulling chart ${o.chart} ${o.target}`);
  }
  const entries = await readdir(chartDir);
  const dir = join(chartDir, entries.find((e) => existsSync(join(chartDir, e, 'Chart.yaml'))) ?? '');
  const meta = parseYaml(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as ChartMetadata;
  const appVersion = String(meta.appVersion ?? '').replace(/^v/, '');
  if (appVersion !== o.target) {
    throw refusal(`Chart ${o.chart} ${o.target} runs Dapr ${appVersion || '(no APP VERSION)'}, not ${o.target}.`, 'Pick the chart version whose APP VERSION is the runtime you want (helm search repo dapr/dapr --versions).');
  }
  return { chartDir: dir, meta, chartVersions };
}

/** The values `helm template` needs to render what `helm upgrade` will install (certificates aside). */
async function templateValueArgs(o: UpgradeOptions, userValues: Record<string, unknown>, ha: boolean, workDir: string): Promise<string[]> {
  const file = join(workDir, 'template-values.yaml');
  await writeFile(file, stringify(withoutTlsValues(userValues)), { mode: 0o600 });
  return ['--values', file, '--set', `${HA_VALUE}=${ha}`, ...userValueFlags(o)];
}

/** The user's own -f and --set, always last so they win. */
export const userValueFlags = (o: UpgradeOptions): string[] => [...o.valuesFiles.flatMap((f) => ['--values', f]), ...o.set.flatMap((s) => ['--set', s])];

async function chartCrdFiles(chartDir: string): Promise<string[]> {
  const dir = join(chartDir, 'crds');
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
}

/** Which CRDs of the target chart are new, changed or already identical (a server-side dry-run diff). */
async function crdChanges(tools: Tools, files: string[], chartDir: string): Promise<CrdChange[]> {
  if (!files.length) return [];
  const names: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(await readFile(f, 'utf8'))) {
      const o = doc.toJSON() as K8sObject | null;
      if (o?.kind === 'CustomResourceDefinition') names.push(o.metadata.name);
    }
  }
  try {
    const changes = await tools.kubectl.diffChanges(join(chartDir, 'crds'));
    return names.map((name) => ({ name, action: changes.get(name) ?? 'unchanged' }));
  } catch (e) {
    const text = String((e as { stderr?: string }).stderr ?? e);
    throw new DaprupError(`Comparing the chart's CRDs with the cluster failed: ${text.trim().split('\n')[0]}`, hintFor(text) ?? 'Check that your user may read CustomResourceDefinitions.', ExitCode.stepFailed);
  }
}
