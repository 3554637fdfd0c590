// Versions of the project's own Dapr-like chart (test/fixtures/dapr-chart), generated from one source:
// the version is stamped into Chart.yaml and values.yaml, and the overlays under since/<version>/ whose
// version is not newer than the requested one are copied over the chart (later overlays win).
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { parseDocument } from 'yaml';

/** The chart source. */
export const FIXTURE_CHART_SOURCE = fileURLToPath(new URL('../fixtures/dapr-chart/', import.meta.url));
const OVERLAYS = join(FIXTURE_CHART_SOURCE, 'since');

/** Versions the loopback repository serves by default: two minors to upgrade across, two patches of 1.16. */
export const FIXTURE_VERSIONS: readonly string[] = ['1.15.12', '1.16.18', '1.16.19', '1.17.2'];

async function setYaml(file: string, edits: ReadonlyArray<[path: string[], value: string]>): Promise<void> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  for (const [path, value] of edits) doc.setIn(path, value);
  await writeFile(file, doc.toString());
}

/**
 * Writes the fixture chart for `version` into `destDir/dapr` and returns that directory (replaced if it
 * exists). Chart version = appVersion = values global.tag = version, as in the real chart.
 */
export async function writeFixtureChart(version: string, destDir: string): Promise<string> {
  if (!semver.valid(version)) throw new Error(`Fixture chart version ${JSON.stringify(version)} is not semver.`);
  const chartDir = join(destDir, 'dapr');
  await rm(chartDir, { recursive: true, force: true });
  await mkdir(destDir, { recursive: true });
  await cp(FIXTURE_CHART_SOURCE, chartDir, {
    recursive: true,
    filter: (src) => src !== OVERLAYS && !src.startsWith(OVERLAYS + '/'),
  });
  const overlays = (await readdir(OVERLAYS))
    .filter((v) => semver.valid(v) && semver.lte(v, version))
    .sort(semver.compare);
  for (const v of overlays) await cp(join(OVERLAYS, v), chartDir, { recursive: true, force: true });
  await setYaml(join(chartDir, 'Chart.yaml'), [
    [['version'], version],
    [['appVersion'], version],
  ]);
  await setYaml(join(chartDir, 'values.yaml'), [[['global', 'tag'], version]]);
  return chartDir;
}
