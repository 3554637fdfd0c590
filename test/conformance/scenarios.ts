// One conformance scenario: install a published Dapr chart as a user would, run `daprup upgrade` with the built CLI,
// and check the end state the e2e suite checks on the fixture charts (test/e2e/upgrade.test.ts), plus what only the
// real charts can show (scheduler storage looked up from the live StatefulSet, the Subscription CRD's conversion
// webhook patched by the operator). The end-state checks are exported for the path scenarios (paths.ts).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { execFile } from 'node:child_process';
import { daprup, type CliResult } from '../support/cli.js';
import type { TrustBundlePems } from '../support/certs.js';
import { runTool, type HelmFlavour } from '../support/tools.js';
import { countRevisions, deploySampleApps, type SampleWorkload } from '../sandbox/sample-apps.js';

export const SCENARIO_NAMES = [
  'upgrade',
  'enable-ha',
  'disable-ha',
  'failed-release',
  'custom-release',
  'values-file',
  'variant-tag',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Scenario {
  name: ScenarioName;
  /** What it shows, for the report. */
  about: string;
  /** Only on hops across a minor (a patch hop runs `upgrade` and `failed-release`). */
  minorOnly: boolean;
  release: string;
  namespace: string;
  installHa: boolean;
  /** HA expected after the upgrade. */
  haAfter: boolean;
  /** Extra `--set` at install (besides the certificates and USER_VALUE). */
  installSet: (from: string) => string[];
  /** Extra daprup arguments. */
  daprupArgs: string[];
  /** A user values file passed to daprup with -f. */
  valuesFile?: string;
  /** The same dotted paths, expected in `helm get values` after the upgrade. */
  expectValues: Record<string, unknown>;
  /** Values that must not be there after the upgrade. */
  rejectValues: Record<string, unknown>;
  /** A `helm upgrade` that fails for real before daprup runs. */
  failFirst: boolean;
  /** Suffix of every image tag (a variant build). */
  tagSuffix: string;
}

/** A value set at install time in every scenario; every upgrade must keep it. */
export const USER_VALUE = { key: 'dapr_operator.logLevel', value: 'debug' };
export const APP_NAMESPACES = ['apps-a', 'apps-b', 'apps-c'];
/** A replica count the apiserver rejects: the failed release's impossible value. */
const IMPOSSIBLE_REPLICAS = -1;

const base = {
  minorOnly: true,
  release: 'dapr',
  namespace: 'dapr-system',
  installHa: false,
  haAfter: false,
  installSet: () => [],
  daprupArgs: [],
  expectValues: {},
  rejectValues: {},
  failFirst: false,
  tagSuffix: '',
} satisfies Partial<Scenario>;

export const SCENARIOS: readonly Scenario[] = [
  { ...base, name: 'upgrade', about: 'plain upgrade; a --set value from the install kept', minorOnly: false },
  {
    ...base,
    name: 'enable-ha',
    about: '--enable-ha (placement raft-log volume added: StatefulSet recreated)',
    haAfter: true,
    daprupArgs: ['--enable-ha'],
    expectValues: { 'global.ha.enabled': true },
  },
  {
    ...base,
    name: 'disable-ha',
    about: 'installed HA, --disable-ha',
    installHa: true,
    daprupArgs: ['--disable-ha'],
    expectValues: { 'global.ha.enabled': false },
  },
  {
    ...base,
    name: 'failed-release',
    minorOnly: false,
    about: `last revision failed on top of a deployed one (helm upgrade --set dapr_operator.replicaCount=${IMPOSSIBLE_REPLICAS})`,
    failFirst: true,
    rejectValues: { 'dapr_operator.replicaCount': IMPOSSIBLE_REPLICAS },
  },
  {
    ...base,
    name: 'custom-release',
    about: 'release dapr-prod in namespace dapr-prod-system (auto-detected)',
    release: 'dapr-prod',
    namespace: 'dapr-prod-system',
  },
  {
    ...base,
    name: 'values-file',
    about: "daprup -f values.yaml enabling HA and a placement log level (the file must win over daprup's own values)",
    haAfter: true,
    valuesFile: 'global:\n  ha:\n    enabled: true\ndapr_placement:\n  logLevel: debug\n',
    expectValues: { 'global.ha.enabled': true, 'dapr_placement.logLevel': 'debug' },
  },
  {
    ...base,
    name: 'variant-tag',
    about: 'installed with --set global.tag=<from>-mariner: images move to <to>-mariner',
    installSet: (from) => [`global.tag=${from}-mariner`],
    tagSuffix: '-mariner',
  },
];

export interface World {
  flavour: HelmFlavour;
  /** Where dapr-<version>.tgz are. */
  chartsDir: string;
  kubeconfig: string;
  /** helm home with repository `dapr` pointing at the loopback chart repository. */
  env: NodeJS.ProcessEnv;
  bundle: TrustBundlePems;
  work: string;
  log: (line: string) => void;
}

export interface ScenarioResult {
  failures: string[];
  /** Seconds of the daprup upgrade alone. */
  upgradeSeconds?: number;
  /** StatefulSets recreated, for the report. */
  recreated: string[];
  notes: string[];
}

export const helm = (w: World, args: string[]) => runTool(w.flavour.helm, [...args, '--kubeconfig', w.kubeconfig], { env: w.env });
export const kubectl = (w: World, args: string[], input?: string) =>
  input === undefined
    ? runTool(w.flavour.kubectl, ['--kubeconfig', w.kubeconfig, ...args], { env: w.env })
    : runWithInput(w.flavour.kubectl, ['--kubeconfig', w.kubeconfig, ...args], input, w.env);
export async function kubectlJson<T>(w: World, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(w, [...args, '-o', 'json'])) as T;
}

function runWithInput(file: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

/** The built CLI of this checkout, or DAPRUP_CONFORMANCE_CLI (another build's bin/run.js, e.g. a release to compare). */
export function cli(args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  const other = process.env.DAPRUP_CONFORMANCE_CLI;
  if (!other) return daprup(args, opts);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [other, ...args],
      { env: { ...opts.env, CI: 'true' }, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

export interface Meta {
  uid: string;
  name: string;
  namespace?: string;
  deletionTimestamp?: string;
  ownerReferences?: { name: string }[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}
export interface StatefulSet {
  metadata: Meta;
  spec: ImmutableSpec & { replicas?: number };
  status?: { readyReplicas?: number };
}
interface ImmutableSpec {
  serviceName?: string;
  podManagementPolicy?: string;
  selector?: unknown;
  volumeClaimTemplates?: {
    metadata: { name: string };
    spec: { accessModes?: string[]; storageClassName?: string; resources?: { requests?: { storage?: string } } };
  }[];
}

/** Everything in the cluster this run may have made: releases, namespaces, Dapr CRDs and cluster-scoped objects. */
export async function cleanCluster(w: World): Promise<void> {
  const releases = JSON.parse(
    await helm(w, ['list', '--all-namespaces', '--deployed', '--failed', '--pending', '--uninstalling', '-o', 'json']),
  ) as { name: string; namespace: string }[];
  for (const r of releases)
    await helm(w, ['uninstall', r.name, '--namespace', r.namespace, '--wait', '--timeout', '3m']).catch(() => undefined);
  const namespaces = [...new Set([...SCENARIOS.map((s) => s.namespace), ...APP_NAMESPACES])];
  await kubectl(w, ['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=true', '--timeout=180s']);
  const crds = (await kubectl(w, ['get', 'crd', '-o', 'name'])).split('\n').filter((n) => n.endsWith('.dapr.io'));
  if (crds.length) await kubectl(w, ['delete', ...crds, '--wait=true']);
  // Cluster-scoped objects a failed uninstall may leave: they would block the next install's ownership check.
  const kinds = 'clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations,priorityclasses';
  const { items } = await kubectlJson<{ items: { kind: string; metadata: Meta }[] }>(w, ['get', kinds]);
  const left = items.filter((o) => namespaces.includes(o.metadata.annotations?.['meta.helm.sh/release-namespace'] ?? ''));
  if (left.length) await kubectl(w, ['delete', ...left.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`), '--ignore-not-found']);
}

/** What an install needs of a scenario. */
export type Installation = Pick<Scenario, 'release' | 'namespace' | 'installHa' | 'installSet'>;

export async function install(w: World, s: Installation, version: string): Promise<void> {
  const certs = join(w.work, 'install-certs');
  await mkdir(certs, { recursive: true, mode: 0o700 });
  await writeFile(join(certs, 'ca.crt'), w.bundle.rootCert);
  await writeFile(join(certs, 'issuer.crt'), w.bundle.issuerCert);
  await writeFile(join(certs, 'issuer.key'), w.bundle.issuerKey, { mode: 0o600 });
  await helm(w, [
    'install',
    s.release,
    'dapr/dapr',
    '--version',
    version,
    '--namespace',
    s.namespace,
    '--create-namespace',
    '--set-file',
    `dapr_sentry.tls.root.certPEM=${join(certs, 'ca.crt')}`,
    '--set-file',
    `dapr_sentry.tls.issuer.certPEM=${join(certs, 'issuer.crt')}`,
    '--set-file',
    `dapr_sentry.tls.issuer.keyPEM=${join(certs, 'issuer.key')}`,
    '--set',
    `${USER_VALUE.key}=${USER_VALUE.value}`,
    '--set',
    `global.ha.enabled=${s.installHa}`,
    ...s.installSet(version).flatMap((v) => ['--set', v]),
    '--wait',
    '--timeout',
    '5m',
  ]);
}

/** A helm upgrade the apiserver rejects: the release's last revision is `failed`, the one before `deployed`. */
async function failAnUpgrade(w: World, s: Scenario, version: string): Promise<string | undefined> {
  const err = await helm(w, [
    'upgrade',
    s.release,
    'dapr/dapr',
    '--version',
    version,
    '--namespace',
    s.namespace,
    '--reuse-values',
    '--set',
    `dapr_operator.replicaCount=${IMPOSSIBLE_REPLICAS}`,
    '--wait',
    '--timeout',
    '60s',
  ]).then(
    () => undefined,
    (e: Error) => e.message,
  );
  if (err === undefined) return 'setup: the upgrade meant to fail succeeded';
  const history = JSON.parse(await helm(w, ['history', s.release, '--namespace', s.namespace, '-o', 'json'])) as { status: string }[];
  const statuses = history.map((h) => h.status).join(',');
  if (!/deployed,failed$/.test(statuses)) return `setup: helm history is ${statuses}, not deployed then failed`;
  return undefined;
}

/** ReplicaSets / ControllerRevisions per sample workload (a rollout restart adds one). */
export async function revisionsPerWorkload(w: World): Promise<Record<string, number>> {
  const { items } = await kubectlJson<{ items: { metadata: Meta }[] }>(w, ['get', 'replicasets,controllerrevisions', '--all-namespaces']);
  return countRevisions(items, APP_NAMESPACES);
}

export async function trustBundleData(w: World, namespace: string): Promise<string> {
  const s = await kubectlJson<{ data: unknown }>(w, ['get', 'secret', 'dapr-trust-bundle', '--namespace', namespace]);
  const c = await kubectlJson<{ data: unknown }>(w, ['get', 'configmap', 'dapr-trust-bundle', '--namespace', namespace]);
  return JSON.stringify([s.data, c.data]);
}

export async function statefulSets(w: World, namespace: string): Promise<StatefulSet[]> {
  return (await kubectlJson<{ items: StatefulSet[] }>(w, ['get', 'statefulsets', '--namespace', namespace])).items;
}

/** The fields of a StatefulSet the apiserver will not update in place, in a comparable form. */
function immutable(spec: ImmutableSpec): string {
  return JSON.stringify({
    serviceName: spec.serviceName ?? '',
    podManagementPolicy: spec.podManagementPolicy ?? 'OrderedReady',
    selector: spec.selector ?? null,
    volumeClaimTemplates: (spec.volumeClaimTemplates ?? []).map((v) => ({
      name: v.metadata.name,
      accessModes: [...(v.spec.accessModes ?? [])].sort(),
      storageClassName: v.spec.storageClassName ?? '',
      storage: v.spec.resources?.requests?.storage ?? '',
    })),
  });
}

/**
 * The StatefulSets helm cannot update in place: the target rendered by `helm upgrade --dry-run=server` (templates
 * that `lookup` the cluster see it, as the real upgrade will) with the values the upgrade uses (`valueArgs`),
 * compared with the live objects. Anything else helm would have kept.
 */
export async function statefulSetsHelmMustReplace(
  w: World,
  release: { name: string; namespace: string },
  target: string,
  valueArgs: string[],
): Promise<string[]> {
  const out = await helm(w, [
    'upgrade',
    release.name,
    'dapr/dapr',
    '--version',
    target,
    '--namespace',
    release.namespace,
    ...valueArgs,
    '--dry-run=server',
    '-o',
    'json',
  ]);
  const manifest = (JSON.parse(out) as { manifest?: string }).manifest ?? '';
  const rendered = parseAllDocuments(manifest)
    .map((d) => d.toJSON() as StatefulSet | null)
    .filter((o): o is StatefulSet => (o as { kind?: string } | null)?.kind === 'StatefulSet');
  const live = new Map((await statefulSets(w, release.namespace)).map((x) => [x.metadata.name, x]));
  return rendered
    .filter((r) => live.has(r.metadata.name) && immutable(r.spec) !== immutable(live.get(r.metadata.name)!.spec))
    .map((r) => r.metadata.name)
    .sort();
}

interface ClientConfig {
  service?: { namespace?: string };
  caBundle?: string;
}
async function subscriptionClientConfig(w: World): Promise<ClientConfig | undefined> {
  const out = await kubectl(w, ['get', 'crd', 'subscriptions.dapr.io', '-o', 'json', '--ignore-not-found']);
  if (!out.trim()) return undefined;
  return (JSON.parse(out) as { spec?: { conversion?: { webhook?: { clientConfig?: ClientConfig } } } }).spec?.conversion?.webhook
    ?.clientConfig;
}

/** Polls the Subscription CRD while daprup runs: the conversion webhook must never be reset to `replaceme`. */
export function watchConversionWebhook(w: World): { stop: () => Promise<string[]> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const cc = await subscriptionClientConfig(w).catch(() => undefined);
      const ns = cc?.service?.namespace;
      if (ns !== undefined && seen.at(-1) !== ns) seen.push(ns);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

type Values = Record<string, unknown>;
const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing: `over` wins key by key, a null removes the key. */
function coalesce(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isObject(v) && isObject(out[k]) ? coalesce(out[k] as Values, v) : v;
  }
  return out;
}

/** Flat keys as helm's --set writes them (a dot inside a key escaped). */
function flatten(values: Values, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const key = `${prefix}${k.replace(/\\/g, '\\\\').replace(/\./g, '\\.')}`;
    if (isObject(v) && Object.keys(v).length) Object.assign(out, flatten(v, `${key}.`));
    else out[key] = v;
  }
  return out;
}

/** The published package dapr-<version>.tgz unpacked in the scenario's work dir (once): its `dapr` folder. */
async function unpackedChart(w: World, version: string): Promise<string> {
  const dir = join(w.work, `chart-${version}`);
  if (!existsSync(join(dir, 'dapr'))) {
    await mkdir(dir, { recursive: true });
    await runTool('tar', ['-xzf', join(w.chartsDir, `dapr-${version}.tgz`), '-C', dir]);
  }
  return join(dir, 'dapr');
}

/** A chart's defaults read from the package: the parent's values over each subchart's (their `global` aside). */
async function chartDefaults(w: World, version: string): Promise<Values> {
  const dir = dirname(await unpackedChart(w, version));
  const read = async (file: string) => (parseYaml(await readFile(file, 'utf8')) ?? {}) as Values;
  const subcharts: Values = {};
  for (const sub of await readdir(join(dir, 'dapr', 'charts')).catch(() => [])) {
    const { global: _global, ...values } = await read(join(dir, 'dapr', 'charts', sub, 'values.yaml')).catch(() => ({}) as Values);
    subcharts[sub] = values;
  }
  return coalesce(subcharts, await read(join(dir, 'dapr', 'values.yaml')));
}

/**
 * What really changes in the release's values: chart defaults under the user values, before (installed chart,
 * deployed revision) and after (target chart, new revision). Templated defaults (global.k8sLabels) are compared as
 * helm renders them (the release name, `Helm`, that side's global.tag), so the version label changes with the tag.
 * Subcharts' copies of `global` and the certificates are left out on both sides.
 */
function effectiveValues(defaults: Values, user: Values, release: string): Record<string, unknown> {
  const merged = coalesce(defaults, user);
  const tag = String(get(merged, 'global.tag') ?? '');
  const flat = flatten(merged);
  for (const [k, v] of Object.entries(flat)) {
    if ((/^[^.]+\.global\./.test(k) && !k.startsWith('global.')) || /^dapr_sentry\.tls\.(root|issuer)\./.test(k)) delete flat[k];
    else if (typeof v === 'string' && v.includes('{{')) {
      flat[k] = v
        .replace(/\{\{\s*\.Values\.global\.tag\s*\}\}/g, tag)
        .replace(/\{\{\s*\.Release\.Name\s*\}\}/g, release)
        .replace(/\{\{\s*\.Release\.Service\s*\}\}/g, 'Helm');
    }
  }
  return flat;
}

function valueDiffKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .sort();
}

export function get(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

export async function runScenario(w: World, s: Scenario, from: string, to: string): Promise<ScenarioResult> {
  const failures: string[] = [];
  const notes: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };

  w.log(`  install ${s.release} ${from} in ${s.namespace}${s.installHa ? ' (HA)' : ''}`);
  await install(w, s, from);
  const apps = await deploySampleApps(w.flavour.kubectl, w.kubeconfig);
  if (s.failFirst) {
    const setupError = await failAnUpgrade(w, s, from);
    if (setupError) return { failures: [setupError], recreated: [], notes };
  }
  let valuesFile: string | undefined;
  if (s.valuesFile) {
    valuesFile = join(w.work, 'user-values.yaml');
    await writeFile(valuesFile, s.valuesFile);
  }
  const stateDir = join(w.work, 'state');
  const common = [
    ...s.daprupArgs,
    ...(valuesFile ? ['-f', valuesFile] : []),
    '--helm',
    w.flavour.helm,
    '--kubectl',
    w.flavour.kubectl,
    '--kubeconfig',
    w.kubeconfig,
    '--state-dir',
    stateDir,
  ];

  const bundle = await trustBundleData(w, s.namespace);
  const deployedRevision = (
    JSON.parse(await helm(w, ['history', s.release, '--namespace', s.namespace, '-o', 'json'])) as { revision: number; status: string }[]
  )
    .filter((h) => h.status === 'deployed')
    .at(-1)?.revision;
  const userValuesBefore = (JSON.parse(
    await helm(w, ['get', 'values', s.release, '--namespace', s.namespace, '--revision', String(deployedRevision), '-o', 'json']),
  ) ?? {}) as Values;
  const revisions = await revisionsPerWorkload(w);
  const uidsBefore = new Map((await statefulSets(w, s.namespace)).map((x) => [x.metadata.name, x.metadata.uid]));
  const ha = s.daprupArgs.includes('--enable-ha')
    ? ['--set', 'global.ha.enabled=true']
    : s.daprupArgs.includes('--disable-ha')
      ? ['--set', 'global.ha.enabled=false']
      : [];
  const mustReplace = await statefulSetsHelmMustReplace(w, { name: s.release, namespace: s.namespace }, to, [
    '--reset-then-reuse-values',
    ...ha,
    ...(valuesFile ? ['-f', valuesFile] : []),
  ]);

  const plan = await cli(['plan', '--to', to, '--json', ...common], { env: w.env });
  let planned: string[] | undefined;
  let plannedValues: string[] | undefined;
  if (plan.code !== 0) failures.push(`plan exited ${plan.code}: ${firstLine(plan.stderr)}`);
  else {
    const p = JSON.parse(plan.stdout) as { statefulSets?: { name: string }[]; values?: { key: string }[] };
    planned = p.statefulSets?.map((x) => x.name).sort() ?? [];
    plannedValues = (p.values ?? [])
      .map((v) => v.key)
      .filter((k) => !(/^[^.]+\.global\./.test(k) && !k.startsWith('global.')))
      .sort();
  }

  w.log(`  daprup upgrade --to ${to} ${[...s.daprupArgs, ...(valuesFile ? ['-f', 'values.yaml'] : [])].join(' ')}`.trimEnd());
  const watcher = watchConversionWebhook(w);
  const t0 = Date.now();
  const r = await cli(['upgrade', '--to', to, '--yes', ...common], { env: w.env, timeoutMs: 15 * 60_000 });
  const upgradeSeconds = (Date.now() - t0) / 1000;
  const conversionNamespaces = await watcher.stop();
  await writeFile(
    join(w.work, 'daprup.log'),
    [`$ daprup plan (exit ${plan.code})`, plan.stdout, plan.stderr, `$ daprup upgrade (exit ${r.code})`, r.stdout, r.stderr].join('\n'),
  );
  if (r.code !== 0) {
    failures.push(`upgrade exited ${r.code}: ${firstLine(r.stderr) || firstLine(r.stdout)}`);
    return { failures, upgradeSeconds, recreated: [], notes };
  }

  // Control plane: every pod at the target, workloads ready, release deployed at the target.
  const wantTag = `${to}${s.tagSuffix}`;
  const allPods = await livePods(w);
  failures.push(...controlPlaneFailures(allPods, s.namespace, wantTag));
  const history = await releaseHistory(w, s.release, s.namespace);
  const last = history.at(-1);
  check(last?.status === 'deployed' && last.chart === `dapr-${to}`, `release is ${last?.chart} ${last?.status}`);

  // HA as asked.
  const sts = await statefulSets(w, s.namespace);
  failures.push(...placementFailures(sts, s.haAfter));

  // Values: the user's kept (install --set and -f), the failed revision's not carried over.
  const values = JSON.parse(await helm(w, ['get', 'values', s.release, '--namespace', s.namespace, '-o', 'json'])) as unknown;
  failures.push(...userValueFailures(values));
  for (const [k, v] of Object.entries(s.expectValues))
    check(get(values, k) === v, `value ${k} is ${JSON.stringify(get(values, k))}, want ${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(s.rejectValues))
    check(get(values, k) !== v, `value ${k}=${JSON.stringify(v)} of the failed revision was carried over`);

  // The plan's values diff: every row a real change, every real change a row.
  if (plannedValues) {
    const truth = valueDiffKeys(
      effectiveValues(await chartDefaults(w, from), userValuesBefore, s.release),
      effectiveValues(await chartDefaults(w, to), (values ?? {}) as Values, s.release),
    );
    const fake = plannedValues.filter((k) => !truth.includes(k));
    const missed = truth.filter((k) => !plannedValues.includes(k));
    const eg = (keys: string[]) => keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', …' : '');
    check(fake.length === 0, `plan's values diff: ${fake.length} of ${plannedValues.length} rows are no change (${eg(fake)})`);
    check(missed.length === 0, `plan's values diff misses ${missed.length} of ${truth.length} changes (${eg(missed)})`);
  }

  // Trust bundle bytes unchanged.
  check((await trustBundleData(w, s.namespace)) === bundle, 'trust bundle Secret/ConfigMap data changed');

  // Data plane: sidecars at the target, each Dapr-enabled workload restarted exactly once, the others not at all.
  failures.push(...restartFailures(apps.workloads, revisions, await revisionsPerWorkload(w), 1));
  failures.push(...sidecarFailures(allPods, apps.workloads, wantTag));

  // StatefulSets: recreated exactly as planned, and only where helm could not have updated them in place.
  const recreated = sts
    .filter((x) => uidsBefore.has(x.metadata.name) && uidsBefore.get(x.metadata.name) !== x.metadata.uid)
    .map((x) => x.metadata.name)
    .sort();
  if (planned) check(same(recreated, planned), `StatefulSets recreated [${recreated}] but the plan said [${planned}]`);
  const needless = recreated.filter((n) => !mustReplace.includes(n));
  check(needless.length === 0, `StatefulSets recreated that helm would have kept: ${needless.join(', ')}`);
  const kept = mustReplace.filter((n) => !recreated.includes(n));
  check(kept.length === 0, `StatefulSets helm cannot update but not recreated: ${kept.join(', ')}`);

  // The Subscription CRD's conversion webhook: never reset during the run, patched at the end.
  failures.push(...(await conversionWebhookFailures(w, s.namespace, conversionNamespaces)));
  if (recreated.length) notes.push(`recreated ${recreated.join(', ')}`);
  return { failures, upgradeSeconds, recreated, notes };
}

// End-state checks shared with the path scenarios (paths.ts): each returns its failures, one sentence each.

export interface Pod {
  metadata: Meta;
  spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
}

/** Every pod that is not on its way out. */
export async function livePods(w: World): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(w, ['get', 'pods', '--all-namespaces'])).items.filter((p) => !p.metadata.deletionTimestamp);
}

export interface HistoryEntry {
  revision: number;
  status: string;
  chart: string;
}
export async function releaseHistory(w: World, release: string, namespace: string): Promise<HistoryEntry[]> {
  return JSON.parse(await helm(w, ['history', release, '--namespace', namespace, '-o', 'json'])) as HistoryEntry[];
}

/** At least five control-plane pods, every container at `wantTag`. */
export function controlPlaneFailures(pods: Pod[], namespace: string, wantTag: string): string[] {
  const controlPlane = pods.filter((p) => p.metadata.namespace === namespace);
  const failures = controlPlane.length >= 5 ? [] : [`only ${controlPlane.length} control-plane pods`];
  for (const p of controlPlane) {
    const wrong = p.spec.containers.map((c) => c.image).filter((i) => tagOf(i) !== wantTag);
    if (wrong.length) failures.push(`control plane ${p.metadata.name} runs ${wrong.join(', ')} (want :${wantTag})`);
  }
  return failures;
}

/** Placement at three ready replicas with HA, one without. */
export function placementFailures(sts: StatefulSet[], ha: boolean): string[] {
  const placement = sts.find((x) => x.metadata.name === 'dapr-placement-server');
  const want = ha ? 3 : 1;
  return placement?.spec.replicas === want && placement.status?.readyReplicas === want
    ? []
    : [`placement has ${placement?.status?.readyReplicas}/${placement?.spec.replicas} ready, want ${want}`];
}

/** USER_VALUE, set at install, still in the release's user values. */
export function userValueFailures(values: unknown): string[] {
  const v = get(values, USER_VALUE.key);
  return v === USER_VALUE.value ? [] : [`${USER_VALUE.key} is ${JSON.stringify(v)}, want ${USER_VALUE.value}`];
}

/** Each Dapr-enabled sample workload restarted `times` times between the two counts, the others not at all. */
export function restartFailures(
  workloads: SampleWorkload[],
  before: Record<string, number>,
  after: Record<string, number>,
  times: number,
): string[] {
  return workloads.flatMap((wl) => {
    const key = `${wl.namespace}/${wl.name}`;
    const want = restartable(wl) ? times : 0;
    const got = (after[key] ?? 0) - (before[key] ?? 0);
    return got === want ? [] : [`${wl.kind} ${key}: ${got} restarts, want ${want}`];
  });
}

/** Every daprd of a sample workload at `wantTag`, but the one that pins its own sidecar image. */
export function sidecarFailures(pods: Pod[], workloads: SampleWorkload[], wantTag: string): string[] {
  const failures: string[] = [];
  for (const p of pods.filter((x) => APP_NAMESPACES.includes(x.metadata.namespace ?? ''))) {
    const daprd = [...p.spec.containers, ...(p.spec.initContainers ?? [])].find((c) => c.name === 'daprd');
    const wl = workloads.find((x) => x.namespace === p.metadata.namespace && x.name === p.metadata.labels?.app);
    if (!daprd || !wl || wl.pinnedSidecarImage) continue;
    if (tagOf(daprd.image) !== wantTag)
      failures.push(`sidecar of ${p.metadata.namespace}/${p.metadata.name} is ${daprd.image} (want :${wantTag})`);
  }
  return failures;
}

/** The Subscription CRD's conversion webhook: never seen at another namespace during the run, patched at the end. */
export async function conversionWebhookFailures(w: World, namespace: string, seen: string[]): Promise<string[]> {
  const failures: string[] = [];
  const resets = seen.filter((n) => n !== namespace);
  if (resets.length)
    failures.push(`Subscription CRD conversion webhook reset to namespace ${[...new Set(resets)].join(', ')} during the run`);
  const cc = await waitFor(
    () => subscriptionClientConfig(w),
    (c) => c?.service?.namespace === namespace,
    15_000,
  );
  if (!(cc?.service?.namespace === namespace && cc.caBundle === Buffer.from(w.bundle.rootCert).toString('base64')))
    failures.push(
      `Subscription CRD conversion webhook ends at namespace ${cc?.service?.namespace}, caBundle ${cc?.caBundle ? 'set' : 'missing'}`,
    );
  return failures;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: unknown;
}
/** Object keys sorted, so two renderings of one schema compare equal. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(canonical)
    : isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : v;
const crdVersions = (versions: CrdVersion[] | undefined) =>
  JSON.stringify(canonical((versions ?? []).map((v) => ({ name: v.name, served: v.served, storage: v.storage, schema: v.schema }))));

/**
 * Every CRD in the crds/ folder of chart `version` is in the cluster with that file's API versions and schemas
 * (helm never upgrades crds/: daprup applies them). After a rollback the newer chart's CRDs must still be there.
 */
export async function crdFailures(w: World, version: string): Promise<string[]> {
  const dir = join(await unpackedChart(w, version), 'crds');
  const failures: string[] = [];
  let checked = 0;
  for (const file of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      const crd = doc.toJSON() as { kind?: string; metadata: { name: string }; spec: { versions?: CrdVersion[] } } | null;
      if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec.versions?.length) continue;
      checked++;
      const out = await kubectl(w, ['get', 'crd', crd.metadata.name, '-o', 'json', '--ignore-not-found']);
      if (!out.trim()) failures.push(`CRD ${crd.metadata.name} of dapr-${version} is missing`);
      else if (crdVersions((JSON.parse(out) as typeof crd).spec.versions) !== crdVersions(crd.spec.versions))
        failures.push(`CRD ${crd.metadata.name} differs from the one in dapr-${version} (API versions or schema)`);
    }
  }
  return checked ? failures : [`dapr-${version} has no CRD with API versions in crds/: nothing to compare`];
}

/** Dapr-enabled, not pinned to its own sidecar image: daprup restarts it once. */
export const restartable = (wl: SampleWorkload) => wl.appId !== undefined && wl.pinnedSidecarImage === undefined;
export const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
export const firstLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .find((l) => l.trim()) ?? '';

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}
