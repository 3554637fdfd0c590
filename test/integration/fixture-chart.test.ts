// The fixture chart and the loopback repository, with real helm 3 and helm 4: what `helm search`,
// `helm template`, `helm pull` and `helm install --dry-run` show is what daprup will see from a real Dapr
// chart repository. Every expectation below about the real chart was checked against the published
// dapr/helm-charts packages 1.14.2, 1.14.3, 1.14.5, 1.15.13, 1.16.15, 1.16.19, 1.17.6, 1.17.13 and 1.18.3
// (and the whole 1.14-1.18 series for the scheduler storage and CRD lists) with the same helm binaries.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { makeTrustBundle, type TrustBundlePems } from '../support/certs.js';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { startDiscoveryApi, type DiscoveryApi, type ServedObject } from '../support/discovery-api.js';
import { FIXTURE_VERSIONS, SUBCHARTS } from '../support/fixture-charts.js';
import { HELM_FLAVOURS, helmHomeEnv, runTool } from '../support/tools.js';

// Loose shape of a rendered Kubernetes object: tests read fields they assert on.
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

const NS = 'dapr-system';
const DEPLOYMENTS = ['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector'] as const;
const STATEFULSETS = ['dapr-placement-server', 'dapr-scheduler-server'] as const;
const COMPONENTS: Record<string, string> = {
  'dapr-operator': 'operator',
  'dapr-sentry': 'sentry',
  'dapr-sidecar-injector': 'sidecar-injector',
  'dapr-placement-server': 'placement',
  'dapr-scheduler-server': 'scheduler',
};
const IMAGES: Record<string, string> = {
  'dapr-operator': 'operator',
  'dapr-sentry': 'sentry',
  'dapr-sidecar-injector': 'injector',
  'dapr-placement-server': 'placement',
  'dapr-scheduler-server': 'scheduler',
};
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * Default size of the scheduler's dapr-scheduler-data-dir claim per served version, as the real charts:
 * 1Gi, 16Gi in the recalled 1.14.3 and from 1.17.7 (so 1.17.13 and 1.18.3).
 */
const SCHEDULER_DEFAULT_STORAGE: Record<string, string> = {
  '1.14.2': '1Gi',
  '1.14.3': '16Gi',
  '1.14.5': '1Gi',
  '1.15.12': '1Gi',
  '1.16.15': '1Gi',
  '1.16.18': '1Gi',
  '1.16.19': '1Gi',
  '1.17.2': '1Gi',
  '1.17.6': '1Gi',
  '1.17.13': '16Gi',
  '1.18.3': '16Gi',
};

/** What global.k8sLabels renders on a component's objects (managed-by was the literal "helm" up to 1.14). */
function daprLabels(version: string, component: string, tag = version): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'dapr',
    'app.kubernetes.io/version': tag,
    'app.kubernetes.io/part-of': 'dapr',
    'app.kubernetes.io/managed-by': semver.lt(version, '1.15.0') ? 'helm' : 'Helm',
    'app.kubernetes.io/component': component,
  };
}

/** A live scheduler StatefulSet owned by release dapr, for the chart's `lookup` to find. */
function liveScheduler(storage: string): ServedObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: 'dapr-scheduler-server',
      namespace: NS,
      labels: { app: 'dapr-scheduler-server', 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'dapr', 'meta.helm.sh/release-namespace': NS },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'dapr-scheduler-server' } },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'dapr-scheduler-data-dir' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
        },
      ],
    },
  };
}

function find(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered; got ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** CRD schemas must be structural (every node typed unless it preserves unknown fields) or the API server rejects them. */
function assertStructural(schema: any, path: string): void {
  if (!schema.type && !schema['x-kubernetes-preserve-unknown-fields'] && !schema['x-kubernetes-int-or-string']) {
    throw new Error(`${path} has no type`);
  }
  for (const [k, v] of Object.entries<any>(schema.properties ?? {})) assertStructural(v, `${path}.${k}`);
  if (schema.items) assertStructural(schema.items, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') assertStructural(schema.additionalProperties, `${path}{}`);
}

describe.each(HELM_FLAVOURS)('fixture Dapr chart through $name', (flavour) => {
  let repo: ChartRepo;
  let home: string;
  let bundle: TrustBundlePems;
  const tlsArgs: string[] = [];
  const helm = (args: string[]) => runTool(flavour.helm, args, { env: helmHomeEnv(home) });

  /** `helm template` of a version from the repository (or of a chart directory, given as `dir:<path>`). */
  async function render(version: string, ...args: string[]): Promise<K8sObject[]> {
    const chart = version.startsWith('dir:') ? [version.slice(4)] : ['fixture/dapr', '--version', version];
    const out = await helm(['template', 'dapr', ...chart, '--namespace', NS, ...args]);
    return parseAllDocuments(out)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  }

  /** The release `helm install --dry-run=<mode> -o json` prints (chart.values, config, manifest). */
  async function dryRun(version: string, mode: 'client' | 'server', api?: DiscoveryApi, ...args: string[]): Promise<any> {
    // Helm 3 reaches the cluster even for a client dry run (helm 4 does not): give it the discovery stand-in.
    const cluster = api ? ['--kube-apiserver', api.url, '--disable-openapi-validation'] : [];
    const out = await helm([
      'install',
      'dapr',
      'fixture/dapr',
      '--version',
      version,
      '--namespace',
      NS,
      `--dry-run=${mode}`,
      '-o',
      'json',
      ...cluster,
      ...args,
    ]);
    return JSON.parse(out);
  }
  const manifestOf = (release: { manifest: string }): K8sObject[] =>
    parseAllDocuments(release.manifest)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);

  beforeAll(async () => {
    [repo, home] = await Promise.all([startChartRepo({ helm: flavour.helm }), mkdtemp(join(tmpdir(), `daprup-${flavour.name}-`))]);
    await helm(['repo', 'add', 'fixture', repo.url]);
    bundle = makeTrustBundle();
    const files = { 'ca.crt': bundle.rootCert, 'issuer.crt': bundle.issuerCert, 'issuer.key': bundle.issuerKey };
    for (const [name, pem] of Object.entries(files)) await writeFile(join(home, name), pem, { mode: 0o600 });
    tlsArgs.push(
      '--set-file',
      `dapr_sentry.tls.root.certPEM=${join(home, 'ca.crt')}`,
      '--set-file',
      `dapr_sentry.tls.issuer.certPEM=${join(home, 'issuer.crt')}`,
      '--set-file',
      `dapr_sentry.tls.issuer.keyPEM=${join(home, 'issuer.key')}`,
    );
  });

  afterAll(async () => {
    await repo?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('lists every fixture version with app_version equal to the chart version', async () => {
    expect((await helm(['version', '--short'])).trim()).toMatch(new RegExp(`^v${flavour.major}\\.`));
    const rows = JSON.parse(await helm(['search', 'repo', 'fixture/dapr', '--versions', '-o', 'json'])) as Array<Record<string, string>>;
    expect(rows.map((r) => r.name)).toEqual(FIXTURE_VERSIONS.map(() => 'fixture/dapr'));
    // Newest first, as helm sorts them.
    expect(rows.map((r) => [r.version, r.app_version])).toEqual([...FIXTURE_VERSIONS].reverse().map((v) => [v, v]));
    // Every minor 1.14-1.18, the recalled 1.14.3, both sides of the scheduler lookup, and the patches other tests use.
    expect(FIXTURE_VERSIONS).toEqual([
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
    ]);
    // Without --versions only the newest.
    const latest = JSON.parse(await helm(['search', 'repo', 'fixture/dapr', '-o', 'json'])) as Array<Record<string, string>>;
    expect(latest.map((r) => r.version)).toEqual(['1.18.3']);
  });

  it.each(FIXTURE_VERSIONS)('renders %s: workloads, images, labels and the given trust bundle', async (version) => {
    const objs = await render(version, ...tlsArgs);

    const secret = find(objs, 'Secret', 'dapr-trust-bundle');
    expect(secret.metadata.namespace).toBe(NS);
    expect(secret.data).toEqual({
      'ca.crt': b64(bundle.rootCert),
      'issuer.crt': b64(bundle.issuerCert),
      'issuer.key': b64(bundle.issuerKey),
    });
    // Byte for byte the same root as the Secret: Sentry regenerates the CA when they differ.
    expect(find(objs, 'ConfigMap', 'dapr-trust-bundle').data).toEqual({ 'ca.crt': bundle.rootCert });

    for (const name of [...DEPLOYMENTS, ...STATEFULSETS]) {
      const kind = (DEPLOYMENTS as readonly string[]).includes(name) ? 'Deployment' : 'StatefulSet';
      const w = find(objs, kind, name);
      // The scheduler: 1 without HA in 1.14, always 3 from 1.15.
      expect(w.spec.replicas, name).toBe(name === 'dapr-scheduler-server' && semver.gte(version, '1.15.0') ? 3 : 1);
      expect(w.spec.selector.matchLabels).toEqual({ app: name });
      expect(w.spec.template.metadata.labels).toEqual({ app: name, ...daprLabels(version, COMPONENTS[name]!) });
      expect(w.metadata.labels).toEqual({ app: name, ...daprLabels(version, COMPONENTS[name]!) });
      expect(w.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
      const [container, ...others] = w.spec.template.spec.containers;
      expect(others).toEqual([]);
      expect(container.image).toBe(`ghcr.io/dapr/${IMAGES[name]}:${version}`);
      expect(container.resources.requests.cpu).toBeTruthy();
      expect(container.resources.requests.memory).toBeTruthy();
    }
    const injector = find(objs, 'Deployment', 'dapr-sidecar-injector').spec.template.spec.containers[0];
    expect(injector.env).toContainEqual({ name: 'SIDECAR_IMAGE', value: `ghcr.io/dapr/daprd:${version}` });
    expect(find(objs, 'Deployment', 'dapr-operator').spec.template.spec.containers[0].args.join(' ')).toContain('--log-level info');

    // Every object carries the Dapr labels; components name themselves.
    for (const o of objs) {
      const labels = o.metadata.labels ?? {};
      expect(labels['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe('dapr');
      expect(labels['app.kubernetes.io/version'], `${o.kind}/${o.metadata.name}`).toBe(version);
      const component = COMPONENTS[labels.app ?? ''];
      if (component) expect(labels['app.kubernetes.io/component']).toBe(component);
    }
    const kinds = objs.map((o) => o.kind);
    // Without HA only the scheduler has a disruption budget (the real chart renders it whenever the scheduler is on).
    expect(objs.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name)).toEqual([
      'dapr-scheduler-server-disruption-budget',
    ]);
    expect(kinds).not.toContain('Job');
    expect(objs.filter((o) => o.kind === 'Service').map((o) => o.spec.type ?? 'ClusterIP')).not.toContain('LoadBalancer');
    expect(find(objs, 'Service', 'dapr-sentry').spec.selector).toEqual({ app: 'dapr-sentry' });
    expect(find(objs, 'Service', 'dapr-sidecar-injector').spec.selector).toEqual({ app: 'dapr-sidecar-injector' });
    expect(find(objs, 'Service', 'dapr-api').spec.selector).toEqual({ app: 'dapr-operator' });

    const config = find(objs, 'Configuration', 'daprsystem');
    expect(config.apiVersion).toBe('dapr.io/v1alpha1');
    expect(config.spec.mtls.enabled).toBe(true);

    const webhook = find(objs, 'MutatingWebhookConfiguration', 'dapr-sidecar-injector').webhooks[0];
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.rules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }]);
    expect(webhook.clientConfig.service).toMatchObject({ name: 'dapr-sidecar-injector', namespace: NS });

    // Non-HA: the placement StatefulSet has no volumeClaimTemplates; the scheduler has its data dir.
    expect(find(objs, 'StatefulSet', 'dapr-placement-server').spec.volumeClaimTemplates).toBeUndefined();
    const schedulerClaims = find(objs, 'StatefulSet', 'dapr-scheduler-server').spec.volumeClaimTemplates;
    expect(schedulerClaims.map((c: K8sObject) => [c.metadata.name, c.spec.resources.requests.storage])).toEqual([
      ['dapr-scheduler-data-dir', SCHEDULER_DEFAULT_STORAGE[version]],
    ]);
  });

  it('renders the trust bundle objects without data unless all three PEMs are set', async () => {
    const none = await render('1.16.19');
    expect(find(none, 'Secret', 'dapr-trust-bundle').data).toBeUndefined();
    expect(find(none, 'ConfigMap', 'dapr-trust-bundle').data).toBeUndefined();
    // Root only (as the real chart): the ConfigMap gets it, the Secret stays for Sentry to fill.
    const rootOnly = await render('1.16.19', '--set-file', `dapr_sentry.tls.root.certPEM=${join(home, 'ca.crt')}`);
    expect(find(rootOnly, 'Secret', 'dapr-trust-bundle').data).toBeUndefined();
    expect(find(rootOnly, 'ConfigMap', 'dapr-trust-bundle').data).toEqual({ 'ca.crt': bundle.rootCert });
  });

  it('HA changes replicas and adds the immutable raft-log volumeClaimTemplate and PDBs', async () => {
    const ha = await render('1.16.19', '--set', 'global.ha.enabled=true');
    for (const name of DEPLOYMENTS) expect(find(ha, 'Deployment', name).spec.replicas, name).toBe(3);
    const placement = find(ha, 'StatefulSet', 'dapr-placement-server');
    expect(placement.spec.replicas).toBe(3);
    expect(placement.spec.volumeClaimTemplates).toEqual([
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'raft-log' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ]);
    expect(placement.spec.template.spec.containers[0].volumeMounts.map((m: { name: string }) => m.name)).toContain('raft-log');
    expect(
      ha
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map((o) => o.spec.selector.matchLabels.app)
        .sort(),
    ).toEqual([...DEPLOYMENTS, ...STATEFULSETS].sort());

    // Placement-only HA, its storage class, and the in-memory log that needs no claim.
    const placementHa = await render(
      '1.16.19',
      '--set',
      'dapr_placement.ha=true',
      '--set',
      'dapr_placement.volumeclaims.storageClassName=fast',
    );
    const p = find(placementHa, 'StatefulSet', 'dapr-placement-server');
    expect(p.spec.replicas).toBe(3);
    expect(p.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast');
    expect(find(placementHa, 'Deployment', 'dapr-operator').spec.replicas).toBe(1);
    const inMemory = await render('1.16.19', '--set', 'global.ha.enabled=true', '--set', 'dapr_placement.cluster.forceInMemoryLog=true');
    expect(find(inMemory, 'StatefulSet', 'dapr-placement-server').spec.volumeClaimTemplates).toBeUndefined();
  });

  it('follows the scheduler rules: replicas by version and HA, disabled scheduler, in-memory storage', async () => {
    const scheduler = (objs: K8sObject[]) => find(objs, 'StatefulSet', 'dapr-scheduler-server');
    // As the real get-replicas: 1, or 3 with global.ha.enabled, in 1.14; always 3 from 1.15.
    const replicas: Array<[string, boolean, number]> = [
      ['1.14.5', false, 1],
      ['1.14.5', true, 3],
      ['1.15.12', false, 3],
      ['1.15.12', true, 3],
      ['1.18.3', false, 3],
    ];
    for (const [version, ha, expected] of replicas) {
      expect(scheduler(await render(version, '--set', `global.ha.enabled=${ha}`)).spec.replicas, `${version} ha=${ha}`).toBe(expected);
    }
    expect(find(await render('1.14.2'), 'Deployment', 'dapr-operator').spec.template.spec.containers[0].image).toBe(
      'ghcr.io/dapr/operator:1.14.2',
    );

    // global.scheduler.enabled=false: 0 replicas up to 1.16, no scheduler objects at all from 1.17.
    const off116 = await render('1.16.19', '--set', 'global.scheduler.enabled=false');
    expect(scheduler(off116).spec.replicas).toBe(0);
    expect(off116.filter((o) => o.metadata.name.startsWith('dapr-scheduler-server')).map((o) => o.kind)).toEqual(['StatefulSet']);
    const off117 = await render('1.17.13', '--set', 'global.scheduler.enabled=false');
    expect(off117.filter((o) => o.metadata.name.startsWith('dapr-scheduler-server'))).toEqual([]);

    const bigger = scheduler(await render('1.16.19', '--set', 'dapr_scheduler.cluster.storageSize=16Gi'));
    expect(bigger.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('16Gi');
    // In-memory storage: 1.15 and 1.16 refuse it for their 3 replicas, 1.14 (1 replica) and 1.17+ accept it.
    await expect(render('1.16.19', '--set', 'dapr_scheduler.cluster.inMemoryStorage=true')).rejects.toThrow(
      '`inMemoryStorage` can only be enabled when running in non-HA mode)',
    );
    await expect(render('1.15.12', '--set', 'dapr_scheduler.cluster.inMemoryStorage=true')).rejects.toThrow('inMemoryStorage');
    for (const version of ['1.14.5', '1.17.13']) {
      const memory = scheduler(await render(version, '--set', 'dapr_scheduler.cluster.inMemoryStorage=true'));
      expect(memory.spec.volumeClaimTemplates, version).toBeUndefined();
      expect(memory.spec.template.spec.volumes).toContainEqual({ name: 'dapr-scheduler-data-dir', emptyDir: { medium: 'Memory' } });
    }
  });

  it('keeps a live scheduler claim size where the real chart looks it up (1.16.16+, 1.17.7+, 1.18), else renders the default', async () => {
    const storage = (objs: K8sObject[]) =>
      find(objs, 'StatefulSet', 'dapr-scheduler-server').spec.volumeClaimTemplates.map((c: K8sObject) => c.spec.resources.requests.storage);
    // A cluster whose scheduler was created with 5Gi claims: a size no default has, so a kept size is unmistakable.
    const api = await startDiscoveryApi({ objects: [liveScheduler('5Gi')] });
    try {
      // [version, default (offline render and client dry run), server-side dry run that sees the live StatefulSet]
      const expected: Array<[string, string, string]> = [
        ['1.14.3', '16Gi', '16Gi'], // the recalled flip, no lookup: upgrading a 1Gi install fails on the immutable field
        ['1.15.12', '1Gi', '1Gi'],
        ['1.16.15', '1Gi', '1Gi'], // no lookup before 1.16.16
        ['1.16.19', '1Gi', '5Gi'],
        ['1.17.6', '1Gi', '1Gi'], // no lookup in 1.17.0-1.17.6
        ['1.17.13', '16Gi', '5Gi'],
        ['1.18.3', '16Gi', '5Gi'],
      ];
      for (const [version, byDefault, live] of expected) {
        expect(storage(await render(version)), `${version} template`).toEqual([byDefault]);
        expect(storage(manifestOf(await dryRun(version, 'client', api))), `${version} client dry run`).toEqual([byDefault]);
        expect(storage(manifestOf(await dryRun(version, 'server', api))), `${version} server dry run`).toEqual([live]);
      }
      expect(SCHEDULER_DEFAULT_STORAGE['1.17.13']).toBe('16Gi');
    } finally {
      await api.stop();
    }
    // Nothing live: the server-side render is the default too.
    const empty = await startDiscoveryApi();
    try {
      expect(storage(manifestOf(await dryRun('1.18.3', 'server', empty)))).toEqual(['16Gi']);
    } finally {
      await empty.stop();
    }
  });

  it('stores every subchart default in the release from 1.16 (declared dependencies), only global before', async () => {
    // Chart.yaml as the real chart: v1 without dependencies up to 1.15, v2 declaring the seven subcharts from 1.16.
    const chartOf = async (version: string) => parse(await helm(['show', 'chart', 'fixture/dapr', '--version', version]));
    for (const version of ['1.14.2', '1.15.12']) {
      const chart = await chartOf(version);
      expect(chart).toMatchObject({ apiVersion: 'v1', name: 'dapr', version, appVersion: version });
      expect(chart.dependencies).toBeUndefined();
    }
    for (const version of ['1.16.15', '1.18.3']) {
      const chart = await chartOf(version);
      expect(chart).toMatchObject({ apiVersion: 'v2', name: 'dapr', version, appVersion: version });
      expect(chart.dependencies).toEqual(SUBCHARTS.map((name) => ({ name, repository: `file://${name}`, version })));
    }
    expect(SUBCHARTS).toEqual([
      'dapr_rbac',
      'dapr_operator',
      'dapr_placement',
      'dapr_sidecar_injector',
      'dapr_sentry',
      'dapr_scheduler',
      'dapr_config',
    ]);
    // The pulled package holds the subcharts under charts/, each stamped with the chart version.
    const dest = join(home, 'pull-subcharts');
    await helm(['pull', 'fixture/dapr', '--version', '1.15.12', '--untar', '--untardir', dest]);
    expect((await readdir(join(dest, 'dapr', 'charts'))).sort()).toEqual([...SUBCHARTS].sort());
    expect(parse(await readFile(join(dest, 'dapr', 'charts', 'dapr_scheduler', 'Chart.yaml'), 'utf8'))).toMatchObject({
      apiVersion: 'v1',
      name: 'dapr_scheduler',
      version: '1.15.12',
    });
    expect(Object.keys(parse(await readFile(join(dest, 'dapr', 'values.yaml'), 'utf8')))).toEqual(['global']);

    // What the release stores (`.chart.values`, which `helm get values --all` merges the user's values onto).
    const api = flavour.major === 3 ? await startDiscoveryApi() : undefined;
    try {
      const userValues = ['--set', 'dapr_operator.logLevel=debug'];
      for (const version of ['1.14.2', '1.15.12']) {
        const release = await dryRun(version, 'client', api, ...userValues);
        expect(Object.keys(release.chart.values), version).toEqual(['global']);
        expect(release.config).toEqual({ dapr_operator: { logLevel: 'debug' } });
      }
      for (const version of ['1.16.15', '1.16.19', '1.17.13', '1.18.3']) {
        const release = await dryRun(version, 'client', api, ...userValues);
        const values = release.chart.values;
        expect(Object.keys(values).sort(), version).toEqual([...SUBCHARTS, 'global'].sort());
        // Subchart defaults, each with a copy of global.
        expect(values.dapr_operator).toMatchObject({
          component: 'operator',
          logLevel: 'info',
          watchInterval: '0',
          image: { name: 'operator' },
        });
        expect(values.dapr_scheduler.cluster).toEqual({
          etcdDataDirPath: '/var/run/data/dapr-scheduler',
          storageClassName: '',
          storageSize: SCHEDULER_DEFAULT_STORAGE[version],
          inMemoryStorage: false,
        });
        expect(values.dapr_sidecar_injector.webhook).toEqual({ enabled: true });
        expect(values.dapr_sentry.global.tag).toBe(version);
        expect(release.config).toEqual({ dapr_operator: { logLevel: 'debug' } });
      }
    } finally {
      await api?.stop();
    }
  });

  it('renders global.k8sLabels with tpl: dotted keys and template strings in the values, rendered labels on objects', async () => {
    // The values hold the templates unrendered (a values diff meets `app.kubernetes.io/name: "{{ .Release.Name }}"`).
    const api = flavour.major === 3 ? await startDiscoveryApi() : undefined;
    try {
      for (const [version, managedBy] of [
        ['1.14.5', 'helm'],
        ['1.16.19', '{{ .Release.Service }}'],
      ] as const) {
        expect((await dryRun(version, 'client', api)).chart.values.global.k8sLabels, version).toEqual({
          'app.kubernetes.io/name': '{{ .Release.Name }}',
          'app.kubernetes.io/version': '{{ .Values.global.tag }}',
          'app.kubernetes.io/part-of': 'dapr',
          'app.kubernetes.io/managed-by': managedBy,
          'app.kubernetes.io/component': '{{ .Values.component }}',
        });
      }
    } finally {
      await api?.stop();
    }
    // A user label is rendered with tpl like the chart's own, in each subchart's context.
    const file = join(home, 'k8s-labels.yaml');
    await writeFile(file, 'global:\n  k8sLabels:\n    example.com/owner: "team-{{ .Values.component }}-{{ .Release.Namespace }}"\n');
    const objs = await render('1.17.13', '-f', file);
    expect(find(objs, 'Deployment', 'dapr-sentry').metadata.labels).toEqual({
      app: 'dapr-sentry',
      ...daprLabels('1.17.13', 'sentry'),
      'example.com/owner': `team-sentry-${NS}`,
    });
    expect(find(objs, 'ServiceAccount', 'dapr-operator').metadata.labels).toEqual({
      ...daprLabels('1.17.13', 'rbac'),
      'example.com/owner': `team-rbac-${NS}`,
    });
    expect(find(objs, 'Configuration', 'daprsystem').metadata.labels).toEqual({
      ...daprLabels('1.17.13', 'config'),
      'example.com/owner': `team-config-${NS}`,
    });
  });

  it('puts a variant tag on every image, the sidecar image and the version label', async () => {
    const tag = '1.16.19-mariner';
    const objs = await render('1.16.19', '--set', `global.tag=${tag}`);
    for (const name of [...DEPLOYMENTS, ...STATEFULSETS]) {
      const w = find(objs, (DEPLOYMENTS as readonly string[]).includes(name) ? 'Deployment' : 'StatefulSet', name);
      expect(
        w.spec.template.spec.containers.map((c: { image: string }) => c.image),
        name,
      ).toEqual([`ghcr.io/dapr/${IMAGES[name]}:${tag}`]);
      expect(w.metadata.labels, name).toEqual({ app: name, ...daprLabels('1.16.19', COMPONENTS[name]!, tag) });
    }
    const injector = find(objs, 'Deployment', 'dapr-sidecar-injector').spec.template.spec.containers[0];
    expect(injector.env).toContainEqual({ name: 'SIDECAR_IMAGE', value: `ghcr.io/dapr/daprd:${tag}` });
    // With a registry too: <registry>/<name>:<tag>.
    const mirrored = await render('1.16.19', '--set', `global.tag=${tag}`, '--set', 'global.registry=mirror.example.com/dapr');
    expect(find(mirrored, 'StatefulSet', 'dapr-scheduler-server').spec.template.spec.containers[0].image).toBe(
      `mirror.example.com/dapr/scheduler:${tag}`,
    );
    expect(find(mirrored, 'Deployment', 'dapr-sidecar-injector').spec.template.spec.containers[0].env).toContainEqual({
      name: 'SIDECAR_IMAGE',
      value: `mirror.example.com/dapr/daprd:${tag}`,
    });
  });

  it('honours user values: webhook off, operator log level, registry, mTLS off', async () => {
    const objs = await render(
      '1.16.19',
      '--set',
      'dapr_sidecar_injector.webhook.enabled=false',
      '--set',
      'dapr_operator.logLevel=debug',
      '--set',
      'global.registry=registry.example.com/dapr',
      '--set',
      'global.mtls.enabled=false',
    );
    expect(objs.map((o) => o.kind)).not.toContain('MutatingWebhookConfiguration');
    find(objs, 'Deployment', 'dapr-sidecar-injector');
    const operator = find(objs, 'Deployment', 'dapr-operator').spec.template.spec.containers[0];
    expect(operator.args.slice(operator.args.indexOf('--log-level'), operator.args.indexOf('--log-level') + 2)).toEqual([
      '--log-level',
      'debug',
    ]);
    expect(operator.image).toBe('registry.example.com/dapr/operator:1.16.19');
    const injector = find(objs, 'Deployment', 'dapr-sidecar-injector').spec.template.spec.containers[0];
    expect(injector.env).toContainEqual({ name: 'SIDECAR_IMAGE', value: 'registry.example.com/dapr/daprd:1.16.19' });
    expect(find(objs, 'Configuration', 'daprsystem').spec.mtls.enabled).toBe(false);
  });

  it('renders the production knobs daprup check reads: priority class and its quota, watchdog, HA anti-affinity', async () => {
    const defaults = await render('1.16.19');
    const operatorArgs = (objs: K8sObject[]) => find(objs, 'Deployment', 'dapr-operator').spec.template.spec.containers[0].args.join(' ');
    expect(operatorArgs(defaults)).toContain('--watch-interval 0');
    expect(defaults.map((o) => o.kind)).not.toContain('ResourceQuota');
    expect(find(defaults, 'Deployment', 'dapr-operator').spec.template.spec.priorityClassName).toBeUndefined();
    expect(find(defaults, 'Deployment', 'dapr-operator').spec.template.spec.affinity).toBeUndefined();

    const tuned = await render(
      '1.16.19',
      '--set',
      'global.ha.enabled=true',
      '--set',
      'global.priorityClassName=system-cluster-critical',
      '--set',
      'dapr_operator.watchInterval=1m',
      '--set',
      'global.ha.topologyKey=kubernetes.io/hostname',
    );
    expect(operatorArgs(tuned)).toContain('--watch-interval 1m');
    for (const name of [...DEPLOYMENTS, ...STATEFULSETS]) {
      const spec = find(tuned, (DEPLOYMENTS as readonly string[]).includes(name) ? 'Deployment' : 'StatefulSet', name).spec.template.spec;
      expect(spec.priorityClassName, name).toBe('system-cluster-critical');
      expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm, name).toEqual({
        labelSelector: { matchLabels: { app: name } },
        topologyKey: 'kubernetes.io/hostname',
      });
    }
    expect(find(tuned, 'ResourceQuota', 'system-critical-quota').spec.scopeSelector.matchExpressions).toEqual([
      { operator: 'In', scopeName: 'PriorityClass', values: ['system-cluster-critical'] },
    ]);
    const required = await render(
      '1.16.19',
      '--set',
      'global.ha.enabled=true',
      '--set',
      'global.ha.podAntiAffinityPolicy=requiredDuringSchedulingIgnoredDuringExecution',
    );
    expect(
      find(required, 'Deployment', 'dapr-sentry').spec.template.spec.affinity.podAntiAffinity
        .requiredDuringSchedulingIgnoredDuringExecution,
    ).toEqual([{ labelSelector: { matchLabels: { app: 'dapr-sentry' } }, topologyKey: 'topology.kubernetes.io/zone' }]);
  });

  it('ships the CRDs of the real chart per version in crds/ of the pulled chart, with its schema changes and the Subscription conversion webhook', async () => {
    const crdsOf = async (version: string) => {
      const dest = join(home, `pull-${version}`);
      await helm(['pull', 'fixture/dapr', '--version', version, '--untar', '--untardir', dest]);
      const dir = join(dest, 'dapr', 'crds');
      const crds = new Map<string, any>();
      const files: string[] = [];
      for (const file of (await readdir(dir)).sort()) {
        files.push(file);
        const crd = parse(await readFile(join(dir, file), 'utf8'));
        expect(crd).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', spec: { group: 'dapr.io' } });
        expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.dapr.io`);
        expect(crd.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'dapr' });
        expect(crd.spec.versions.filter((v: any) => v.storage)).toHaveLength(1);
        for (const v of crd.spec.versions) assertStructural(v.schema.openAPIV3Schema, `${crd.metadata.name}/${v.name}`);
        crds.set(crd.metadata.name, crd);
      }
      return { files, crds };
    };
    const workflowFields = (crds: Map<string, any>) => {
      const workflow = crds.get('configurations.dapr.io').spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.workflow;
      return workflow ? Object.keys(workflow.properties).sort() : undefined;
    };

    // Files as in the real charts: five through 1.17 (no 1.17 chart has mcpservers), seven in 1.18.
    const base = ['components.yaml', 'configuration.yaml', 'httpendpoints.yaml', 'resiliency.yaml', 'subscription.yaml'];
    const v118Files = [...base, 'mcpservers.yaml', 'workflowaccesspolicy.yaml'].sort();
    const v15 = ['maxConcurrentActivityInvocations', 'maxConcurrentWorkflowInvocations'];
    const v17 = [...v15, 'stateRetentionPolicy'].sort();
    const v18 = [
      ...v17,
      'activityConcurrencyLimits',
      'globalMaxConcurrentActivityInvocations',
      'globalMaxConcurrentWorkflowInvocations',
      'workflowConcurrencyLimits',
    ].sort();
    const expected: Array<[string, string[], string[] | undefined]> = [
      ['1.14.5', base, undefined], // no spec.workflow before 1.15
      ['1.15.12', base, v15],
      ['1.16.19', base, v15],
      ['1.17.2', base, v17],
      ['1.17.13', base, v17],
      ['1.18.3', v118Files, v18],
    ];
    const byVersion = new Map<string, Map<string, any>>();
    for (const [version, files, workflow] of expected) {
      const got = await crdsOf(version);
      expect(got.files, version).toEqual(files);
      expect(workflowFields(got.crds), version).toEqual(workflow);
      byVersion.set(version, got.crds);
    }
    const v118 = byVersion.get('1.18.3')!;
    expect([...v118.keys()].sort()).toEqual([
      'components.dapr.io',
      'configurations.dapr.io',
      'httpendpoints.dapr.io',
      'mcpservers.dapr.io',
      'resiliencies.dapr.io',
      'subscriptions.dapr.io',
      'workflowaccesspolicies.dapr.io',
    ]);
    expect(v118.get('mcpservers.dapr.io').spec).toMatchObject({ names: { kind: 'MCPServer', plural: 'mcpservers' }, scope: 'Namespaced' });
    expect(v118.get('workflowaccesspolicies.dapr.io').spec).toMatchObject({
      names: { kind: 'WorkflowAccessPolicy', plural: 'workflowaccesspolicies' },
      scope: 'Namespaced',
    });

    // The Subscription CRD of every version: both versions served, v2alpha1 stored, converted by the operator's
    // webhook whose namespace the chart leaves as `replaceme` and whose caBundle it leaves out.
    for (const [version, crds] of byVersion) {
      const subscription = crds.get('subscriptions.dapr.io');
      expect(
        subscription.spec.versions.map((v: any) => [v.name, v.served, v.storage]),
        version,
      ).toEqual([
        ['v1alpha1', true, false],
        ['v2alpha1', true, true],
      ]);
      expect(subscription.spec.conversion, version).toEqual({
        strategy: 'Webhook',
        webhook: {
          clientConfig: { service: { namespace: 'replaceme', name: 'dapr-webhook', path: '/convert' } },
          conversionReviewVersions: ['v1', 'v2alpha1'],
        },
      });
    }
  });
});
