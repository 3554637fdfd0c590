// check-chart: the target chart exists and its APP VERSION is the target (fetched in prepareRun, so the
// plan and the upgrade use the very same files). apply-crds: the CRDs from that fetched chart — Helm
// installs crds/ only on first install and never upgrades them.
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { chartRef, type ChartMetadata, type ChartRef, type Helm } from '../../cluster/helm.js';
import type { Tools } from '../../cluster/tools.js';
import { DAPR_REPO } from '../../dapr/chart.js';
import { explain } from '../../dapr/error-hints.js';
import { refusal, usageError } from '../../errors.js';
import type { RunContext, Step, UpgradeOptions } from '../types.js';

/** Where the target chart is pulled (or copied) to: `helm pull --untardir`. */
export const targetChartDir = (workDir: string) => join(workDir, 'chart');

/** The chart directory helm untarred into `dir` (named after the chart, whatever the reference said). */
export async function untarredChart(dir: string): Promise<string | undefined> {
  const entries = existsSync(dir) ? await readdir(dir) : [];
  const found = entries.find((e) => existsSync(join(dir, e, 'Chart.yaml')));
  return found === undefined ? undefined : join(dir, found);
}

const pulledVersion = (ctx: RunContext) => {
  const file = join(ctx.chartDir, 'Chart.yaml');
  return existsSync(file) ? (parseYaml(readFileSync(file, 'utf8')) as ChartMetadata) : undefined;
};

/** The helm calls that fetch the target chart, in the order fetchTargetChart makes them (none for a local chart). */
function fetchArgs(helm: Helm, ref: ChartRef, version: string, workDir: string): string[][] {
  return [
    ...(ref.kind === 'repo' ? [helm.repoUpdateArgs(ref.repo), helm.searchVersionsArgs(ref.ref)] : []),
    ...(ref.kind === 'path' ? [] : [helm.pullArgs(ref.ref, version, targetChartDir(workDir))]),
  ];
}

/** The chart reference of --chart, refused when daprup cannot fetch what it names. */
export function fetchableChart(chart: string): ChartRef {
  const ref = chartRef(chart);
  if (ref.kind === 'unknown')
    throw usageError(
      `--chart "${chart}" is not a chart reference.`,
      'Pass repo/chart (dapr/dapr), an oci:// or https:// reference, or a chart directory (./dapr).',
    );
  if (ref.kind === 'path' && ref.archive)
    throw usageError(
      `--chart ${chart} is a chart archive, which helm cannot pull.`,
      `Unpack it (tar -xzf ${chart}) and pass the chart directory, or pass its repository.`,
    );
  if (ref.kind === 'path' && !existsSync(join(chart, 'Chart.yaml')))
    throw usageError(
      `--chart ${chart} is not a chart directory (it has no Chart.yaml).`,
      'Pass the directory that holds Chart.yaml, or repo/chart (dapr/dapr).',
    );
  return ref;
}

/**
 * The target chart in the run's directory, its APP VERSION checked: a repository's index updated (Dapr's public
 * one added when missing) and searched, then `helm pull --untar`; an OCI or URL reference pulled; a local chart
 * directory copied (helm pulls nothing from disk). A run resumed here finds it already fetched.
 */
export async function fetchTargetChart(
  tools: Tools,
  o: UpgradeOptions,
  workDir: string,
): Promise<{ chartDir: string; meta: ChartMetadata; chartVersions?: string[] }> {
  const { helm } = tools;
  const ref = fetchableChart(o.chart);
  const dest = targetChartDir(workDir);
  const fetched = await untarredChart(dest);
  if (fetched) {
    const meta = parseYaml(await readFile(join(fetched, 'Chart.yaml'), 'utf8')) as ChartMetadata;
    if (meta.version === o.target) return { chartDir: fetched, meta };
  }
  let chartVersions: string[] | undefined;
  if (ref.kind === 'repo') chartVersions = await searchRepository(helm, ref, o.target);
  await mkdir(dest, { recursive: true, mode: 0o700 });
  if (ref.kind === 'path') {
    await cp(o.chart, join(dest, basename(resolve(o.chart))), { recursive: true });
  } else {
    try {
      await helm.pull(ref.ref, o.target, dest);
    } catch (e) {
      throw explain(e, `Pulling chart ${o.chart} ${o.target}`);
    }
  }
  const dir = (await untarredChart(dest)) ?? dest;
  const meta = parseYaml(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as ChartMetadata;
  const appVersion = String(meta.appVersion ?? '').replace(/^v/, '');
  if (appVersion !== o.target) {
    throw refusal(
      `Chart ${o.chart} ${o.target} runs Dapr ${appVersion || '(no APP VERSION)'}, not ${o.target}.`,
      'Pick the chart version whose APP VERSION is the runtime you want (helm search repo dapr/dapr --versions).',
    );
  }
  return { chartDir: dir, meta, chartVersions };
}

/**
 * The versions a chart repository lists (its index updated first), for the road between versions; undefined for a
 * local, OCI or URL chart, which names one version only.
 */
export async function listChartVersions(tools: Tools, chart: string): Promise<string[] | undefined> {
  const ref = fetchableChart(chart);
  if (ref.kind !== 'repo') return undefined;
  return (await repositoryVersions(tools.helm, ref)).map((v) => v.version);
}

async function repositoryVersions(helm: Helm, ref: Extract<ChartRef, { kind: 'repo' }>) {
  const { repo } = ref;
  // Usually the repository is configured: update it at once; only when that fails, see whether it is there.
  await helm.repoUpdate(repo).catch(async (updateError: unknown) => {
    const repos = await helm.repoList();
    if (repos.some((r) => r.name === repo)) throw explain(updateError, `Updating Helm repository ${repo}`);
    if (repo !== DAPR_REPO.name)
      throw refusal(`Helm repository "${repo}" is not configured.`, `Add it with helm repo add ${repo} <url>, or pass --chart dapr/dapr.`);
    await helm.repoAdd(DAPR_REPO.name, DAPR_REPO.url).catch((e: unknown) => {
      throw explain(e, `Adding the Dapr chart repository ${DAPR_REPO.url}`);
    });
    await helm.repoUpdate(repo).catch((e: unknown) => {
      throw explain(e, `Updating Helm repository ${repo}`);
    });
  });
  return helm.searchVersions(ref.ref);
}

/** The repository's index updated and searched: the versions it lists, the target among them. */
async function searchRepository(helm: Helm, ref: Extract<ChartRef, { kind: 'repo' }>, target: string): Promise<string[]> {
  const versions = await repositoryVersions(helm, ref);
  if (!versions.some((v) => v.version === target)) {
    const sameMinor = versions
      .filter((v) => v.version.startsWith(`${target.split('.').slice(0, 2).join('.')}.`))
      .slice(0, 3)
      .map((v) => v.version);
    const latest = sameMinor.length ? sameMinor : versions.slice(0, 3).map((v) => v.version);
    throw refusal(
      `Chart ${ref.ref} has no version ${target}.`,
      latest.length
        ? `Available versions include ${latest.join(', ')} (helm search repo ${ref.ref} --versions).`
        : `helm search repo ${ref.ref} --versions lists none: check the repository.`,
    );
  }
  return versions.map((v) => v.version);
}

export const checkChart: Step = {
  id: 'check-chart',
  title: 'Check the target chart and its APP VERSION',
  async plan(ctx) {
    const o = ctx.options;
    const { helm } = ctx.tools;
    const ref = chartRef(o.chart);
    return {
      summary: `${o.chart} ${ctx.targetChart.version} (APP VERSION ${ctx.targetChart.appVersion}) ${ref.kind === 'path' ? 'copied' : 'pulled'} to ${ctx.chartDir}`,
      commands: fetchArgs(helm, ref, o.target, ctx.workDir).map((args) => helm.commandLine(args)),
      destructive: false,
    };
  },
  async isDone(ctx) {
    return String(pulledVersion(ctx)?.appVersion ?? '').replace(/^v/, '') === ctx.options.target;
  },
  async apply(ctx) {
    if (!(await this.isDone(ctx)))
      throw refusal(`The pulled chart in ${ctx.chartDir} is not Dapr ${ctx.options.target}.`, 'Remove the run directory and run again.');
  },
  async verify() {},
};

/** Where prepare writes the CRDs to apply: the chart's, with the live conversion settings kept (src/dapr/crds.ts). */
export const crdsToApplyDir = (workDir: string) => join(workDir, 'crds');
const crdsDir = (ctx: RunContext) => crdsToApplyDir(ctx.workDir);

export const applyCrds: Step = {
  id: 'apply-crds',
  title: 'Apply the CRDs from the target chart',
  async plan(ctx) {
    const pending = ctx.crds.filter((c) => c.action !== 'unchanged');
    const skip =
      ctx.verdict.change === 'downgrade'
        ? 'downgrade: the newer CRDs stay (they are backwards compatible)'
        : !ctx.crds.length
          ? 'the chart has no crds/ directory'
          : !pending.length
            ? 'every CRD already matches the target chart'
            : undefined;
    return {
      summary: skip ?? pending.map((c) => `${c.name} (${c.action})`).join(', '),
      commands: skip ? [] : [ctx.tools.kubectl.commandLine(...ctx.tools.kubectl.applyServerSideArgs(crdsDir(ctx)))],
      destructive: false,
      skip,
    };
  },
  async isDone(ctx) {
    if (ctx.verdict.change === 'downgrade' || !ctx.crds.length) return true;
    // A missing CRD shows as a 'create' in the diff: nothing to create or update means done.
    return (await ctx.tools.kubectl.diffChanges(crdsDir(ctx))).size === 0;
  },
  async apply(ctx, report) {
    try {
      const out = await ctx.tools.kubectl.applyServerSide(crdsDir(ctx));
      report(out.trim().split('\n').join('; '));
    } catch (e) {
      throw explain(e, 'Applying the CRDs');
    }
  },
  async verify(ctx) {
    if (await missingCrds(ctx)) throw new Error('some CRDs of the target chart are still missing');
  },
};

async function missingCrds(ctx: RunContext): Promise<boolean> {
  const names = ctx.crds.map((c) => `customresourcedefinitions/${c.name}`);
  const live = await ctx.tools.kubectl.list(names, { ignoreNotFound: true });
  return live.length < names.length;
}
