// Adapter for helm (3 and 4): typed methods that build argument arrays and parse `-o json`, and what a chart
// reference names by helm's own rules.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CommandRunner } from './runner.js';
import type { KubeTarget } from './kubectl.js';

export interface HelmVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export interface HelmRelease {
  name: string;
  namespace: string;
  revision: string;
  status: string;
  chart: string;
  app_version: string;
  updated?: string;
}

export interface HelmHistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  description?: string;
}

export interface ChartVersion {
  name: string;
  version: string;
  app_version: string;
}

export interface ChartMetadata {
  name: string;
  version: string;
  appVersion?: string;
  kubeVersion?: string;
}

export type Values = Record<string, unknown>;

/** What `helm upgrade --dry-run -o json` says the upgrade would install. */
export interface RenderedRelease {
  /** The manifest helm would apply (Secrets left out with --hide-secret). */
  manifest: string;
  /** The user-supplied values the new revision would record (after --reset-then-reuse-values, -f and --set). */
  config: Values;
}

/** What a chart reference (`--chart`) names, as `helm upgrade` and `helm pull` read it. */
export type ChartRef =
  /** `dapr/dapr`: a chart in the index of a configured repository (updated, searched, then pulled). */
  | { kind: 'repo'; ref: string; repo: string }
  /** `oci://ghcr.io/dapr/helm/dapr`: a chart in a registry, pulled by version. */
  | { kind: 'oci'; ref: string }
  /** `https://…/dapr-1.17.2.tgz`: one chart archive at a URL. */
  | { kind: 'url'; ref: string }
  /** `./dapr`, `/charts/dapr-1.17.2.tgz`: a chart directory or archive on this machine (helm cannot pull it). */
  | { kind: 'path'; ref: string; archive: boolean }
  /** Anything else (`dapr`, `a/b/c`): helm would look it up as a repository chart and fail. */
  | { kind: 'unknown'; ref: string };

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * As helm tells them apart (LocateChart): `oci://` and other URLs by their scheme; a path that exists, or that
 * starts with `.` or `/`, is a local chart even when it looks like `repo/chart`; then `repo/chart`.
 */
export function chartRef(ref: string): ChartRef {
  if (ref.startsWith('oci://')) return { kind: 'oci', ref };
  if (URL_SCHEME.test(ref)) return { kind: 'url', ref };
  if (ref.startsWith('.') || isAbsolute(ref) || existsSync(ref)) {
    return { kind: 'path', ref, archive: existsSync(ref) ? statSync(ref).isFile() : /\.(tgz|tar\.gz)$/.test(ref) };
  }
  const m = /^([^/]+)\/[^/]+$/.exec(ref);
  return m ? { kind: 'repo', ref, repo: m[1]! } : { kind: 'unknown', ref };
}

// helm 4 dropped `list --all`; both majors take the states by name. Pending ones matter: they block upgrades.
const RELEASE_STATES = ['--deployed', '--failed', '--pending'];

export class Helm {
  constructor(
    private readonly runner: CommandRunner,
    readonly binary: string,
    private readonly target: KubeTarget = {},
  ) {}

  private kube(): string[] {
    const args: string[] = [];
    if (this.target.kubeconfig) args.push('--kubeconfig', this.target.kubeconfig);
    if (this.target.kubeContext) args.push('--kube-context', this.target.kubeContext);
    return args;
  }

  /** Full command line for plans and logs. */
  commandLine(args: readonly string[]): string[] {
    return [this.binary, ...args];
  }

  private async run(args: string[], okExitCodes?: number[]) {
    return this.runner.run(this.binary, args, { okExitCodes });
  }

  async version(): Promise<HelmVersion> {
    const { stdout } = await this.run(['version', '--short']);
    const raw = stdout.trim();
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(raw);
    if (!m) throw new Error(`unrecognised helm version ${raw}`);
    return { raw, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  }

  listArgs(): string[] {
    return ['list', '--all-namespaces', ...RELEASE_STATES, '-o', 'json', ...this.kube()];
  }

  /** Every release in every namespace that is deployed, failed or pending. */
  async listReleases(): Promise<HelmRelease[]> {
    const { stdout } = await this.run(this.listArgs());
    return JSON.parse(stdout || '[]') as HelmRelease[];
  }

  userValuesAtArgs(release: string, namespace: string, revision: number): string[] {
    return ['get', 'values', release, '--namespace', namespace, '--revision', String(revision), '-o', 'json', ...this.kube()];
  }

  /** The user-supplied values of one revision (a resumed run re-reads those it started from). */
  async userValuesAt(release: string, namespace: string, revision: number): Promise<Values> {
    const { stdout } = await this.run(this.userValuesAtArgs(release, namespace, revision));
    return (JSON.parse(stdout) as Values | null) ?? {};
  }

  async history(release: string, namespace: string): Promise<HelmHistoryEntry[]> {
    const { stdout } = await this.run(['history', release, '--namespace', namespace, '-o', 'json', '--max', '20', ...this.kube()]);
    return JSON.parse(stdout) as HelmHistoryEntry[];
  }

  userValuesArgs(release: string, namespace: string): string[] {
    return ['get', 'values', release, '--namespace', namespace, '-o', 'json', ...this.kube()];
  }

  /** Only what the user supplied (not chart defaults). */
  async userValues(release: string, namespace: string): Promise<Values> {
    const { stdout } = await this.run(this.userValuesArgs(release, namespace));
    return (JSON.parse(stdout) as Values | null) ?? {};
  }

  /** User values merged over the chart defaults of the installed revision. */
  async computedValues(release: string, namespace: string): Promise<Values> {
    const { stdout } = await this.run(['get', 'values', release, '--namespace', namespace, '--all', '-o', 'json', ...this.kube()]);
    return (JSON.parse(stdout) as Values | null) ?? {};
  }

  async repoList(): Promise<{ name: string; url: string }[]> {
    // helm exits 1 with "no repositories to show" when there are none.
    const { stdout, exitCode } = await this.run(['repo', 'list', '-o', 'json'], [1]);
    return exitCode === 0 ? (JSON.parse(stdout) as { name: string; url: string }[]) : [];
  }

  repoAddArgs(name: string, url: string): string[] {
    return ['repo', 'add', name, url, '--force-update'];
  }

  async repoAdd(name: string, url: string): Promise<void> {
    await this.run(this.repoAddArgs(name, url));
  }

  repoUpdateArgs(name: string): string[] {
    return ['repo', 'update', name];
  }

  async repoUpdate(name: string): Promise<void> {
    await this.run(this.repoUpdateArgs(name));
  }

  searchVersionsArgs(chart: string): string[] {
    return ['search', 'repo', chart, '--versions', '--devel', '-o', 'json'];
  }

  /** Every version of `repo/chart` the repository lists (release candidates included). */
  async searchVersions(chart: string): Promise<ChartVersion[]> {
    const { stdout } = await this.run(this.searchVersionsArgs(chart));
    return (JSON.parse(stdout) as ChartVersion[]).filter((c) => c.name === chart);
  }

  async showChart(chart: string, version: string): Promise<ChartMetadata> {
    const { stdout } = await this.run(['show', 'chart', chart, '--version', version]);
    return parseYaml(stdout) as ChartMetadata;
  }

  pullArgs(chart: string, version: string, destDir: string): string[] {
    return ['pull', chart, '--version', version, '--untar', '--untardir', destDir];
  }

  async pull(chart: string, version: string, destDir: string): Promise<void> {
    await this.run(this.pullArgs(chart, version, destDir));
  }

  /** Renders the chart locally; the output is multi-document YAML. */
  async template(release: string, chartDir: string, namespace: string, valueArgs: readonly string[]): Promise<string> {
    const { stdout } = await this.run(['template', release, chartDir, '--namespace', namespace, ...valueArgs]);
    return stdout;
  }

  /** What an upgrade and its dry run share: the release, the chart at a version, the values. */
  private upgradeBaseArgs(release: string, chart: string, namespace: string, version: string, valueArgs: readonly string[]): string[] {
    return ['upgrade', release, chart, '--namespace', namespace, '--version', version, ...valueArgs];
  }

  upgradeArgs(release: string, chart: string, namespace: string, version: string, valueArgs: readonly string[], timeout: string): string[] {
    return [...this.upgradeBaseArgs(release, chart, namespace, version, valueArgs), '--wait', '--timeout', timeout, ...this.kube()];
  }

  /**
   * The upgrade simulated against the cluster (helm >= 3.13: --dry-run=server), so templates that `lookup` live
   * objects render as the real upgrade will (the scheduler keeps its storage size from 1.16.16/1.17.7); older
   * helm renders without lookups. Secrets stay out of the output where helm can hide them (3.14+).
   */
  upgradeDryRunArgs(
    release: string,
    chart: string,
    namespace: string,
    version: string,
    valueArgs: readonly string[],
    v: HelmVersion,
  ): string[] {
    const atLeast = (minor: number) => v.major > 3 || (v.major === 3 && v.minor >= minor);
    return [
      ...this.upgradeBaseArgs(release, chart, namespace, version, valueArgs),
      atLeast(13) ? '--dry-run=server' : '--dry-run',
      ...(atLeast(14) ? ['--hide-secret'] : []),
      '-o',
      'json',
      ...this.kube(),
    ];
  }

  async renderUpgrade(args: readonly string[]): Promise<RenderedRelease> {
    const { stdout } = await this.run([...args]);
    const release = JSON.parse(stdout) as { manifest?: string; config?: Values | null };
    return { manifest: release.manifest ?? '', config: release.config ?? {} };
  }

  async upgrade(args: readonly string[], timeoutMs?: number): Promise<void> {
    await this.runner.run(this.binary, args, { timeoutMs });
  }

  rollbackArgs(release: string, namespace: string, revision: number, timeout: string): string[] {
    return ['rollback', release, String(revision), '--namespace', namespace, '--wait', '--timeout', timeout, ...this.kube()];
  }

  async rollback(release: string, namespace: string, revision: number, timeout: string): Promise<void> {
    await this.run(this.rollbackArgs(release, namespace, revision, timeout));
  }
}
