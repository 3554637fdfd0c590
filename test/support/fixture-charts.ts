// Versions of the project's own Dapr-like chart (test/fixtures/dapr-chart), generated from one source:
// the overlays under since/<version>/ whose version is not newer than the requested one are copied over the
// chart (later overlays win), then the Chart.yaml files are written in the real chart's shape for that
// version and the version-dependent defaults below are set.
//
// Layout, as the real dapr/dapr chart: the parent holds only `global` values, each component is a subchart
// (SUBCHARTS) under charts/. Up to 1.15 the real parent Chart.yaml is `apiVersion: v1` and the subcharts are
// plain charts/ folders; from 1.16.0 it is `apiVersion: v2` and declares them as `dependencies`
// (repository file://<name>, version = the chart version). That is what makes `helm get values --all` (and
// `.chart.values` of `helm install --dry-run -o json`) of a 1.16+ release hold every subchart's defaults
// and of a 1.14/1.15 release only `global`: helm merges the subcharts' defaults into the stored chart's
// values only for declared dependencies (checked with helm 3.17 and 4.1 on the real 1.14.2-1.18.3 charts).
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { parseDocument } from 'yaml';

/** The chart source. */
export const FIXTURE_CHART_SOURCE = fileURLToPath(new URL('../fixtures/dapr-chart/', import.meta.url));
const OVERLAYS = join(FIXTURE_CHART_SOURCE, 'since');

/**
 * Versions the loopback repository serves by default: every minor 1.14-1.18, the recalled 1.14.3 (16Gi
 * scheduler claims), both sides of the scheduler `lookup` (1.16.15 without, 1.16.18/1.16.19 with; 1.17.2 and
 * 1.17.6 without, 1.17.13 with), and the patches other tests upgrade across.
 */
export const FIXTURE_VERSIONS: readonly string[] = [
  '1.14.2',
  '1.14.3',
  '1.14.5',
  '1.15.12',
  '1.16.15',
  '1.16.18',
  '1.16.19',
  '1.17.2',
  '1.17.6',
  '1.17.13',
  '1.18.3',
];

/**
 * The project's model of the Dapr Shared chart (github dapr/dapr-shared, published as
 * oci://registry-1.docker.io/daprio/dapr-shared-chart), served as it is, in one version.
 */
export const DAPR_SHARED_CHART_SOURCE = fileURLToPath(new URL('../fixtures/dapr-shared-chart/', import.meta.url));

/**
 * The Dapr Shared chart the loopback repository serves (`<repo>/dapr-shared-chart`): the real chart's latest
 * tag, 0.0.16, with no appVersion as published. The daprd version its values default to (shared.daprd.image.tag)
 * is `daprdTag`. `version` must equal the `version` in test/fixtures/dapr-shared-chart/Chart.yaml.
 */
export const DAPR_SHARED_CHART = { name: 'dapr-shared-chart', version: '0.0.16', daprdTag: '1.15.7' } as const;

/** The subcharts, in the order the real Chart.yaml (1.16+) declares them. */
export const SUBCHARTS: readonly string[] = [
  'dapr_rbac',
  'dapr_operator',
  'dapr_placement',
  'dapr_sidecar_injector',
  'dapr_sentry',
  'dapr_scheduler',
  'dapr_config',
];

/** From this version the chart is apiVersion v2 and declares its subcharts as dependencies. */
export const DEPENDENCIES_SINCE = '1.16.0';

/**
 * Defaults that differ by version, as in the real charts (values files are not templated, so they are set
 * here rather than copied per version):
 * - dapr_scheduler cluster.storageSize: 1Gi, except 16Gi in the recalled 1.14.3 (1.14.4 went back to 1Gi)
 *   and from 1.17.7 on (1.18 too). 1.16 stays 1Gi.
 * - global.k8sLabels managed-by: the literal "helm" up to 1.14, `{{ .Release.Service }}` from 1.15.
 */
function versionDefaults(version: string): Array<[file: string, path: string[], value: string]> {
  const edits: Array<[string, string[], string]> = [];
  if (version === '1.14.3' || semver.gte(version, '1.17.7')) {
    edits.push([join('charts', 'dapr_scheduler', 'values.yaml'), ['cluster', 'storageSize'], '16Gi']);
  }
  if (semver.lt(version, '1.15.0')) {
    edits.push(['values.yaml', ['global', 'k8sLabels', 'app.kubernetes.io/managed-by'], 'helm']);
  }
  return edits;
}

async function setYaml(file: string, edits: ReadonlyArray<[path: string[], value: unknown]>): Promise<void> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  for (const [path, value] of edits) {
    if (value === undefined) doc.deleteIn(path);
    else doc.setIn(path, value);
  }
  await writeFile(file, doc.toString());
}

/**
 * Writes the fixture chart for `version` into `destDir/dapr` and returns that directory (replaced if it
 * exists). Chart version = appVersion = every subchart's version = values global.tag = version, as in the
 * real chart.
 */
export async function writeFixtureChart(version: string, destDir: string): Promise<string> {
  if (!semver.valid(version)) throw new Error(`Fixture chart version ${JSON.stringify(version)} is not semver.`);
  const chartDir = join(destDir, 'dapr');
  await rm(chartDir, { recursive: true, force: true });
  await mkdir(destDir, { recursive: true });
  await cp(FIXTURE_CHART_SOURCE, chartDir, {
    recursive: true,
    filter: (src) => src !== OVERLAYS && !src.startsWith(`${OVERLAYS}/`),
  });
  const overlays = (await readdir(OVERLAYS)).filter((v) => semver.valid(v) && semver.lte(v, version)).sort(semver.compare);
  for (const v of overlays) await cp(join(OVERLAYS, v), chartDir, { recursive: true, force: true });
  const withDependencies = semver.gte(version, DEPENDENCIES_SINCE);
  const apiVersion = withDependencies ? 'v2' : 'v1';
  await setYaml(join(chartDir, 'Chart.yaml'), [
    [['apiVersion'], apiVersion],
    [['version'], version],
    [['appVersion'], version],
    // `type` exists only in v2 charts.
    [['type'], withDependencies ? 'application' : undefined],
    [['dependencies'], withDependencies ? SUBCHARTS.map((name) => ({ name, repository: `file://${name}`, version })) : undefined],
  ]);
  for (const name of SUBCHARTS) {
    await setYaml(join(chartDir, 'charts', name, 'Chart.yaml'), [
      [['apiVersion'], apiVersion],
      [['version'], version],
    ]);
  }
  await setYaml(join(chartDir, 'values.yaml'), [[['global', 'tag'], version]]);
  for (const [file, path, value] of versionDefaults(version)) await setYaml(join(chartDir, file), [[path, value]]);
  return chartDir;
}
