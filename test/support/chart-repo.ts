// A loopback Helm chart repository serving the fixture charts: each version of the Dapr chart and (on
// request) the one version of the Dapr Shared chart, packaged with the real helm, indexed with `helm repo
// index`, served over node:http on 127.0.0.1 (ephemeral port). servePackages serves chart packages made
// elsewhere (the conformance run's published Dapr charts) the same way.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DAPR_SHARED_CHART,
  DAPR_SHARED_CHART_SOURCE,
  FIXTURE_CHART_SOURCE,
  FIXTURE_VERSIONS,
  writeFixtureChart,
} from './fixture-charts.js';
import { HELM_FLAVOURS, helmHomeEnv, runTool } from './tools.js';

export interface ChartRepo {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /** Directory served: index.yaml, dapr-<version>.tgz and dapr-shared-chart-<version>.tgz. */
  dir: string;
  stop(): Promise<void>;
}

// Packages are content-addressed in a shared temp directory (both charts' sources + generator + helm binary +
// chart + version), so they are built once, reused by every test process, and never go stale after an edit.
const CACHE = join(tmpdir(), 'daprup-fixture-charts');
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const packaged = new Map<string, Promise<string>>();
let sourcesHash: Promise<string> | undefined;

async function hashSources(): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const source of [FIXTURE_CHART_SOURCE, DAPR_SHARED_CHART_SOURCE]) {
    const entries = await readdir(source, { recursive: true, withFileTypes: true });
    files.push(...entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)));
  }
  files.sort();
  for (const file of [...files, fileURLToPath(new URL('./fixture-charts.ts', import.meta.url))]) {
    hash
      .update(relative(FIXTURES, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex');
}

/** A chart to package: `helm package` names the file <name>-<version>.tgz from the Chart.yaml `write` returns. */
interface ChartBuild {
  name: string;
  version: string;
  /** Writes the chart directory under `buildDir` (or names one that exists) and returns it. */
  write(buildDir: string): Promise<string>;
}

const daprChart = (version: string): ChartBuild => ({ name: 'dapr', version, write: (dir) => writeFixtureChart(version, dir) });
// One version, packaged as it is: its Chart.yaml holds DAPR_SHARED_CHART.version.
const daprSharedChart: ChartBuild = {
  name: DAPR_SHARED_CHART.name,
  version: DAPR_SHARED_CHART.version,
  write: () => Promise.resolve(DAPR_SHARED_CHART_SOURCE),
};

function packageChart(helm: string, chart: ChartBuild): Promise<string> {
  const key = `${helm}\0${chart.name}\0${chart.version}`;
  let pkg = packaged.get(key);
  if (!pkg) {
    pkg = (async () => {
      sourcesHash ??= hashSources();
      const id = createHash('sha256')
        .update(`${await sourcesHash}\0${key}`)
        .digest('hex')
        .slice(0, 20);
      const file = `${chart.name}-${chart.version}.tgz`;
      const tgz = join(CACHE, id, file);
      if (existsSync(tgz)) return tgz;
      await mkdir(CACHE, { recursive: true });
      const build = await mkdtemp(join(CACHE, 'build-'));
      try {
        const chartDir = await chart.write(build);
        await runTool(helm, ['package', chartDir, '--destination', build], { env: helmHomeEnv(join(build, 'home')) });
        await mkdir(dirname(tgz), { recursive: true });
        // rename is atomic: a process racing to build the same package just replaces an identical chart.
        await rename(join(build, file), tgz);
      } finally {
        await rm(build, { recursive: true, force: true });
      }
      return tgz;
    })();
    // A failed build is not cached, so the next caller sees the real error again.
    pkg.catch(() => packaged.delete(key));
    packaged.set(key, pkg);
  }
  return pkg;
}

const CONTENT_TYPES: Record<string, string> = { yaml: 'application/x-yaml', tgz: 'application/gzip' };

function serve(dir: string, files: ReadonlySet<string>): Server {
  return createServer((req, res) => {
    // Only the listed files are served: no directory walking, whatever the path says.
    const name = (URL.parse(req.url ?? '/', 'http://repo')?.pathname ?? '').replace(/^\/+/, '');
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !files.has(name)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    readFile(join(dir, name)).then(
      (body) => {
        const ext = name.slice(name.lastIndexOf('.') + 1);
        res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => res.writeHead(500).end(),
    );
  });
}

/**
 * Starts a repository serving the given versions of the fixture Dapr chart (default FIXTURE_VERSIONS) and, with
 * `daprShared`, the fixture Dapr Shared chart (DAPR_SHARED_CHART), packaged and indexed with `helm` (default
 * helm 3). Add it with `helm repo add <name> <url>`; the charts are `<name>/dapr` and `<name>/dapr-shared-chart`.
 * Dapr Shared is opt-in because `helm search repo <name>/dapr` matches names by substring: it would list
 * `<name>/dapr-shared-chart` too (daprup filters by exact name; a test reading the rows raw would not).
 */
export async function startChartRepo(opts: { versions?: readonly string[]; helm?: string; daprShared?: boolean } = {}): Promise<ChartRepo> {
  const versions = opts.versions ?? FIXTURE_VERSIONS;
  const helm = opts.helm ?? HELM_FLAVOURS[0]!.helm;
  const charts = [...versions.map(daprChart), ...(opts.daprShared ? [daprSharedChart] : [])];
  const packages = await Promise.all(charts.map((c) => packageChart(helm, c)));
  return servePackages(packages, { helm });
}

/**
 * Starts a repository serving chart packages that already exist (e.g. the published dapr-<version>.tgz files),
 * indexed with `helm repo index` (helm 3 unless told). Each file name must be unique; the files are copied.
 */
export async function servePackages(packages: readonly string[], opts: { helm?: string } = {}): Promise<ChartRepo> {
  const helm = opts.helm ?? HELM_FLAVOURS[0]!.helm;
  const dir = await mkdtemp(join(tmpdir(), 'daprup-repo-'));
  await Promise.all(packages.map((p) => copyFile(p, join(dir, basename(p)))));
  const files = new Set([...packages.map((p) => basename(p)), 'index.yaml']);

  // Listen first: the index holds absolute chart URLs, which need the port.
  const server = serve(dir, files);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runTool(helm, ['repo', 'index', dir, '--url', url], { env: helmHomeEnv(join(CACHE, 'home')) });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, dir, stop };
}
