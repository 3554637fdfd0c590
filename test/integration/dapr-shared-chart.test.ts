// The fixture Dapr Shared chart (test/fixtures/dapr-shared-chart) with real helm 3 and helm 4: what the
// loopback repository serves and what `helm template` renders for both strategies is what daprup will meet in
// a cluster running the real chart (oci://registry-1.docker.io/daprio/dapr-shared-chart). The expectations
// below were read from github.com/dapr/dapr-shared at tag v0.0.16 (commit 81d6f7dcf9c566da18f34d93eccbdc1c10214120;
// main at a4e3e0a5907fc13779693b965fa61c1ef30f9e66 has the same templates and values) and checked by rendering
// that chart, packaged as its release workflow does (`helm package --version 0.0.16`), beside this fixture with
// helm 3.17 and 4.1, both strategies, defaults and overrides: the same objects field for field, except the
// real chart's pre-delete hooks (ServiceAccount/Role/RoleBinding cm-remover-<release>, Pod
// delete-cm-task-<release>), which the fixture leaves out: a hook Pod never completes under kwok.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { DAPR_SHARED_CHART, DAPR_SHARED_CHART_SOURCE } from '../support/fixture-charts.js';
import { HELM_FLAVOURS, helmHomeEnv, runTool } from '../support/tools.js';

// Loose shape of a rendered Kubernetes object: tests read fields they assert on.
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

/**
 * Defaults of the real chart an upgrade tool reads or changes, as in github.com/dapr/dapr-shared
 * chart/dapr-shared/values.yaml at v0.0.16 (81d6f7dcf9c566da18f34d93eccbdc1c10214120). The Sentry port 80 is
 * the trap: Dapr >= 1.14 serves Sentry on 443 only.
 */
const REAL_DEFAULTS = {
  strategy: 'daemonset',
  remotePort: 0,
  deployment: { replicas: 1 },
  scheduler: { address: 'dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.local:50006' },
  controlPlane: {
    namespace: 'dapr-system',
    trustDomain: 'cluster.local',
    operator: { address: 'dapr-api.dapr-system.svc.cluster.local', port: 80 },
    sentry: { address: 'dapr-sentry.dapr-system.svc.cluster.local', port: 80 },
    placementServer: { address: 'dapr-placement-server.dapr-system.svc.cluster.local', port: 50005 },
  },
  initContainer: { image: { registry: 'docker.io/daprio', name: 'dapr-shared', tag: '0.0.15', pullPolicy: 'Always' } },
  daprd: {
    serviceAccountIdentityToken: { audience: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry' },
    image: { registry: 'docker.io/daprio', name: 'daprd', tag: '1.15.7', pullPolicy: 'Always' },
    mtls: { enabled: false },
  },
};

const NS = 'apps';
const RELEASE = 'orders-shared';
const APP_ID = 'orders';
const FULLNAME = `${RELEASE}-dapr-shared-chart`;
const REQUIRED = ['--set', `shared.appId=${APP_ID}`, '--set', `shared.remoteURL=${APP_ID}.${NS}.svc.cluster.local`];

/** Labels on the workload, Service and ServiceAccount: no app.kubernetes.io/version, the chart has no appVersion. */
const CHART_LABELS = {
  'helm.sh/chart': `dapr-shared-chart-${DAPR_SHARED_CHART.version}`,
  'app.kubernetes.io/name': 'dapr-shared-chart',
  'app.kubernetes.io/instance': RELEASE,
  'app.kubernetes.io/managed-by': 'Helm',
};
const SELECTOR = { 'app.kubernetes.io/name': 'dapr-shared-chart', 'app.kubernetes.io/instance': RELEASE };

function find(objs: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered; got ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

const arg = (args: readonly string[], flag: string) => args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

describe.each(HELM_FLAVOURS)('fixture Dapr Shared chart through $name', (flavour) => {
  let repo: ChartRepo;
  let home: string;
  const helm = (args: string[]) => runTool(flavour.helm, args, { env: helmHomeEnv(home) });

  async function render(...args: string[]): Promise<K8sObject[]> {
    const out = await helm([
      'template',
      RELEASE,
      'fixture/dapr-shared-chart',
      '--version',
      DAPR_SHARED_CHART.version,
      '--namespace',
      NS,
      ...args,
    ]);
    return parseAllDocuments(out)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  }

  /** The pod template every strategy renders, checked in full where daprup reads it. */
  function expectPodTemplate(template: any, daprdTag: string): void {
    expect(template.metadata.labels).toEqual({ 'dapr.io/app-id': APP_ID, ...SELECTOR });
    // Dapr Shared runs daprd itself: no dapr.io/enabled, so the injector and an annotation scan never see it.
    expect(template.metadata.annotations).toEqual({ 'dapr.io/app-id': APP_ID });
    const spec = template.spec;
    expect(spec.serviceAccountName).toBe(FULLNAME);
    // At pod start shared-init copies the trust bundle (Secret dapr-trust-bundle in dapr-system) into <release>-shared-cm.
    expect(spec.initContainers).toEqual([
      { name: 'shared-init-container', image: 'docker.io/daprio/dapr-shared:0.0.15', args: ['init', `--config-map=${RELEASE}-shared-cm`] },
    ]);
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['daprd']);
    const daprd = spec.containers[0];
    expect(daprd.image).toBe(`docker.io/daprio/daprd:${daprdTag}`);
    expect(daprd.args[0]).toBe('/daprd');
    expect(arg(daprd.args, '--mode')).toBe('kubernetes');
    expect(arg(daprd.args, '--app-id')).toBe(APP_ID);
    expect(arg(daprd.args, '--app-channel-address')).toBe(`${APP_ID}.${NS}.svc.cluster.local`);
    expect(arg(daprd.args, '--control-plane-address')).toBe('dapr-api.dapr-system.svc.cluster.local:80');
    expect(arg(daprd.args, '--placement-host-address')).toBe('dapr-placement-server.dapr-system.svc.cluster.local:50005');
    // The root reaches daprd through an env var, read when the container starts: a new root needs a pod restart.
    expect(daprd.env).toContainEqual({
      name: 'DAPR_TRUST_ANCHORS',
      valueFrom: { configMapKeyRef: { name: `${RELEASE}-shared-cm`, key: 'dapr-trust-anchors' } },
    });
    expect(daprd.env).toContainEqual({ name: 'DAPR_CONTROLPLANE_NAMESPACE', value: 'dapr-system' });
    expect(daprd.env).toContainEqual({ name: 'DAPR_API_TOKEN', valueFrom: { secretKeyRef: { name: FULLNAME, key: 'dapr-api-token' } } });
    expect(daprd.volumeMounts).toEqual([
      { mountPath: '/var/run/secrets/dapr.io/sentrytoken', name: 'dapr-identity-token', readOnly: true },
    ]);
    expect(spec.volumes[0].projected.sources[0].serviceAccountToken.audience).toBe('spiffe://cluster.local/ns/dapr-system/dapr-sentry');
  }

  beforeAll(async () => {
    // One Dapr version beside it, to show both are served from one repository.
    [repo, home] = await Promise.all([
      startChartRepo({ helm: flavour.helm, versions: ['1.16.19'], daprShared: true }),
      mkdtemp(join(tmpdir(), `daprup-shared-${flavour.name}-`)),
    ]);
    await helm(['repo', 'add', 'fixture', repo.url]);
  });

  afterAll(async () => {
    await repo?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('is served by the loopback repository as dapr-shared-chart, one version, no app version', async () => {
    expect((await helm(['version', '--short'])).trim()).toMatch(new RegExp(`^v${flavour.major}\\.`));
    const rows = JSON.parse(await helm(['search', 'repo', 'fixture/dapr-shared-chart', '--versions', '-o', 'json'])) as Array<
      Record<string, string>
    >;
    expect(rows).toEqual([
      {
        name: 'fixture/dapr-shared-chart',
        version: DAPR_SHARED_CHART.version,
        app_version: '',
        description: 'Helm Chart For Dapr Shared Apps',
      },
    ]);
    // Search matches by substring: `<repo>/dapr` lists Dapr Shared too, so only an exact name tells them apart.
    const both = JSON.parse(await helm(['search', 'repo', 'fixture/dapr', '--versions', '-o', 'json'])) as Array<Record<string, string>>;
    expect(both.map((r) => r.name).sort()).toEqual(['fixture/dapr', 'fixture/dapr-shared-chart']);

    const dest = join(home, 'pull');
    await helm(['pull', 'fixture/dapr-shared-chart', '--version', DAPR_SHARED_CHART.version, '--untar', '--untardir', dest]);
    const chart = parse(await readFile(join(dest, 'dapr-shared-chart', 'Chart.yaml'), 'utf8'));
    expect(chart).toEqual({
      apiVersion: 'v2',
      name: 'dapr-shared-chart',
      description: 'Helm Chart For Dapr Shared Apps',
      version: DAPR_SHARED_CHART.version,
    });

    // Opt-in: the default repository serves the Dapr chart only.
    const plain = await startChartRepo({ helm: flavour.helm, versions: ['1.16.19'] });
    try {
      expect(Object.keys(parse(await readFile(join(plain.dir, 'index.yaml'), 'utf8')).entries)).toEqual(['dapr']);
    } finally {
      await plain.stop();
    }
  });

  it('has the real chart defaults: daprd 1.15.7, Sentry on port 80, mTLS off, no app id', async () => {
    const values = parse(await helm(['show', 'values', 'fixture/dapr-shared-chart', '--version', DAPR_SHARED_CHART.version]));
    expect(values.shared).toMatchObject(REAL_DEFAULTS);
    expect(values.shared.appId).toBeUndefined();
    expect(values.shared.remoteURL).toBeUndefined();
    expect(DAPR_SHARED_CHART).toEqual({ name: 'dapr-shared-chart', version: '0.0.16', daprdTag: REAL_DEFAULTS.daprd.image.tag });
  });

  it('renders a DaemonSet by default, with daprd, the trust-anchor init container and the release labels', async () => {
    const objs = await render(...REQUIRED);
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      `ClusterRole/${FULLNAME}-configmap-creator`,
      `ClusterRole/${FULLNAME}-secret-reader`,
      `ClusterRoleBinding/${FULLNAME}-configmap-creator`,
      `ClusterRoleBinding/${FULLNAME}-secret-reader`,
      `DaemonSet/${FULLNAME}`,
      `Secret/${FULLNAME}`,
      `Service/${APP_ID}-dapr`,
      `ServiceAccount/${FULLNAME}`,
    ]);
    const ds = find(objs, 'DaemonSet', FULLNAME);
    expect(ds.apiVersion).toBe('apps/v1');
    expect(ds.metadata.labels).toEqual(CHART_LABELS);
    expect(ds.spec.selector).toEqual({ matchLabels: SELECTOR });
    expect(ds.spec.replicas).toBeUndefined();
    expect(ds.spec.updateStrategy).toBeUndefined();
    expectPodTemplate(ds.spec.template, DAPR_SHARED_CHART.daprdTag);
    const daprd = ds.spec.template.spec.containers[0];
    expect(arg(daprd.args, '--sentry-address')).toBe('dapr-sentry.dapr-system.svc.cluster.local:80');
    expect(arg(daprd.args, '--enable-mtls')).toBe('false');
    expect(ds.spec.template.spec.tolerations.map((t: { key: string }) => t.key)).toEqual([
      'node-role.kubernetes.io/control-plane',
      'node-role.kubernetes.io/master',
    ]);

    const service = find(objs, 'Service', `${APP_ID}-dapr`);
    expect(service.metadata.labels).toEqual(CHART_LABELS);
    expect(service.spec.selector).toEqual(SELECTOR);
    expect(service.spec.ports.map((p: { port: number }) => p.port)).toEqual([3500, 50001, 50002, 9090]);
    expect(find(objs, 'ServiceAccount', FULLNAME).metadata.labels).toEqual(CHART_LABELS);
    expect(find(objs, 'Secret', FULLNAME)).toMatchObject({ metadata: { labels: { app: FULLNAME } }, data: { 'dapr-api-token': '' } });
  });

  it('renders a Deployment with shared.strategy=deployment, the same pod template and the replicas asked for', async () => {
    const objs = await render(...REQUIRED, '--set', 'shared.strategy=deployment', '--set', 'shared.deployment.replicas=3');
    expect(objs.map((o) => o.kind)).not.toContain('DaemonSet');
    const deployment = find(objs, 'Deployment', FULLNAME);
    expect(deployment.metadata.labels).toEqual(CHART_LABELS);
    expect(deployment.spec.selector).toEqual({ matchLabels: SELECTOR });
    expect(deployment.spec.replicas).toBe(3);
    expectPodTemplate(deployment.spec.template, DAPR_SHARED_CHART.daprdTag);
    // One replica unless told.
    expect(find(await render(...REQUIRED, '--set', 'shared.strategy=deployment'), 'Deployment', FULLNAME).spec.replicas).toBe(1);
  });

  it('takes the daprd version from shared.daprd.image.tag, and the Sentry port and mTLS from their values', async () => {
    const objs = await render(
      ...REQUIRED,
      '--set',
      'shared.daprd.image.tag=1.16.2',
      '--set',
      'shared.controlPlane.sentry.port=443',
      '--set',
      'shared.daprd.mtls.enabled=true',
    );
    const ds = find(objs, 'DaemonSet', FULLNAME);
    expectPodTemplate(ds.spec.template, '1.16.2');
    const daprd = ds.spec.template.spec.containers[0];
    expect(arg(daprd.args, '--sentry-address')).toBe('dapr-sentry.dapr-system.svc.cluster.local:443');
    expect(arg(daprd.args, '--enable-mtls')).toBe('true');
    // A mirror: <registry>/<name>:<tag>.
    const mirrored = await render(...REQUIRED, '--set', 'shared.daprd.image.registry=mirror.example.com/daprio');
    expect(find(mirrored, 'DaemonSet', FULLNAME).spec.template.spec.containers[0].image).toBe(
      `mirror.example.com/daprio/daprd:${DAPR_SHARED_CHART.daprdTag}`,
    );
  });

  it('requires shared.appId, as the real chart', async () => {
    await expect(render()).rejects.toThrow('.Values.shared.appId is required');
  });

  it('passes helm lint, from the source and as served', async () => {
    const dest = join(home, 'lint');
    await helm(['pull', 'fixture/dapr-shared-chart', '--version', DAPR_SHARED_CHART.version, '--untar', '--untardir', dest]);
    for (const dir of [DAPR_SHARED_CHART_SOURCE, join(dest, 'dapr-shared-chart')]) {
      expect(await helm(['lint', '--strict', dir, ...REQUIRED])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });
});
