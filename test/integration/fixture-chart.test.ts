// The fixture chart and the loopback repository, with real helm 3 and helm 4: what `helm search`,
// `helm template` and `helm pull` show is what daprup will see from a real Dapr chart repository.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { makeTrustBundle, type TrustBundlePems } from '../support/certs.js';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { FIXTURE_VERSIONS, writeFixtureChart } from '../support/fixture-charts.js';
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

  beforeAll(async () => {
    [repo, home] = await Promise.all([startChartRepo({ helm: flavour.helm }), mkdtemp(join(tmpdir(), `daprup-${flavour.name}-`))]);
    await helm(['repo', 'add', 'fixture', repo.url]);
    bundle = makeTrustBundle();
    const files = { 'ca.crt': bundle.rootCert, 'issuer.crt': bundle.issuerCert, 'issuer.key': bundle.issuerKey };
    for (const [name, pem] of Object.entries(files)) await writeFile(join(home, name), pem, { mode: 0o600 });
    tlsArgs.push(
      '--set-file', `dapr_sentry.tls.root.certPEM=${join(home, 'ca.crt')}`,
      '--set-file', `dapr_sentry.tls.issuer.certPEM=${join(home, 'issuer.crt')}`,
      '--set-file', `dapr_sentry.tls.issuer.keyPEM=${join(home, 'issuer.key')}`,
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
    // Without --versions only the newest.
    const latest = JSON.parse(await helm(['search', 'repo', 'fixture/dapr', '-o', 'json'])) as Array<Record<string, string>>;
    expect(latest.map((r) => r.version)).toEqual(['1.17.2']);
  });

  it.each(FIXTURE_VERSIONS)('renders %s: workloads, images, labels and the given trust bundle', async (version) => {
    const objs = await render(version, ...tlsArgs);

    const secret = find(objs, 'Secret', 'dapr-trust-bundle');
    expect(secret.metadata.namespace).toBe(NS);
    expect(secret.data).toEqual({ 'ca.crt': b64(bundle.rootCert), 'issuer.crt': b64(bundle.issuerCert), 'issuer.key': b64(bundle.issuerKey) });
    // Byte for byte the same root as the Secret: Sentry regenerates the CA when they differ.
    expect(find(objs, 'ConfigMap', 'dapr-trust-bundle').data).toEqual({ 'ca.crt': bundle.rootCert });

    for (const name of [...DEPLOYMENTS, ...STATEFULSETS]) {
      const kind = (DEPLOYMENTS as readonly string[]).includes(name) ? 'Deployment' : 'StatefulSet';
      const w = find(objs, kind, name);
      expect(w.spec.replicas, name).toBe(name === 'dapr-scheduler-server' ? 3 : 1);
      expect(w.spec.selector.matchLabels).toEqual({ app: name });
      expect(w.spec.template.metadata.labels).toMatchObject({ app: name, 'app.kubernetes.io/version': version });
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
    expect(kinds).not.toContain('PodDisruptionBudget');
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
    expect(schedulerClaims.map((c: K8sObject) => [c.metadata.name, c.spec.resources.requests.storage])).toEqual([['dapr-scheduler-data-dir', '1Gi']]);
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
    expect(ha.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.spec.selector.matchLabels.app).sort()).toEqual(
      [...DEPLOYMENTS, ...STATEFULSETS].sort(),
    );

    // Placement-only HA, its storage class, and the in-memory log that needs no claim.
    const placementHa = await render('1.16.19', '--set', 'dapr_placement.ha=true', '--set', 'dapr_placement.volumeclaims.storageClassName=fast');
    const p = find(placementHa, 'StatefulSet', 'dapr-placement-server');
    expect(p.spec.replicas).toBe(3);
    expect(p.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast');
    expect(find(placementHa, 'Deployment', 'dapr-operator').spec.replicas).toBe(1);
    const inMemory = await render('1.16.19', '--set', 'global.ha.enabled=true', '--set', 'dapr_placement.cluster.forceInMemoryLog=true');
    expect(find(inMemory, 'StatefulSet', 'dapr-placement-server').spec.volumeClaimTemplates).toBeUndefined();
  });

  it('follows the scheduler rules: 3 replicas from 1.15, data-dir size, in-memory storage', async () => {
    // 1.14 is not in the repository (1.14.3 was recalled): render it from a chart directory.
    const v114 = `dir:${await writeFixtureChart('1.14.3', join(home, 'chart-1.14.3'))}`;
    const older = await render(v114);
    expect(find(older, 'StatefulSet', 'dapr-scheduler-server').spec.replicas).toBe(1);
    expect(find(older, 'Deployment', 'dapr-operator').spec.template.spec.containers[0].image).toBe('ghcr.io/dapr/operator:1.14.3');
    const olderHa = await render(v114, '--set', 'global.ha.enabled=true');
    expect(find(olderHa, 'StatefulSet', 'dapr-scheduler-server').spec.replicas).toBe(3);

    const bigger = find(await render('1.16.19', '--set', 'dapr_scheduler.cluster.storageSize=16Gi'), 'StatefulSet', 'dapr-scheduler-server');
    expect(bigger.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('16Gi');
    const memory = find(await render('1.16.19', '--set', 'dapr_scheduler.cluster.inMemoryStorage=true'), 'StatefulSet', 'dapr-scheduler-server');
    expect(memory.spec.volumeClaimTemplates).toBeUndefined();
    expect(memory.spec.template.spec.volumes).toContainEqual({ name: 'dapr-scheduler-data-dir', emptyDir: { medium: 'Memory' } });
  });

  it('honours user values: webhook off, operator log level, registry, mTLS off', async () => {
    const objs = await render(
      '1.16.19',
      '--set', 'dapr_sidecar_injector.webhook.enabled=false',
      '--set', 'dapr_operator.logLevel=debug',
      '--set', 'global.registry=registry.example.com/dapr',
      '--set', 'global.mtls.enabled=false',
    );
    expect(objs.map((o) => o.kind)).not.toContain('MutatingWebhookConfiguration');
    find(objs, 'Deployment', 'dapr-sidecar-injector');
    const operator = find(objs, 'Deployment', 'dapr-operator').spec.template.spec.containers[0];
    expect(operator.args.slice(operator.args.indexOf('--log-level'), operator.args.indexOf('--log-level') + 2)).toEqual(['--log-level', 'debug']);
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

    const tuned = await render('1.16.19', '--set', 'global.ha.enabled=true', '--set', 'global.priorityClassName=system-cluster-critical',
      '--set', 'dapr_operator.watchInterval=1m', '--set', 'global.ha.topologyKey=kubernetes.io/hostname');
    expect(operatorArgs(tuned)).toContain('--watch-interval 1m');
    for (const name of [...DEPLOYMENTS, ...STATEFULSETS]) {
      const spec = find(tuned, (DEPLOYMENTS as readonly string[]).includes(name) ? 'Deployment' : 'StatefulSet', name).spec.template.spec;
      expect(spec.priorityClassName, name).toBe('system-cluster-critical');
      expect(spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm, name).toEqual({ labelSelector: { matchLabels: { app: name } }, topologyKey: 'kubernetes.io/hostname' });
    }
    expect(find(tuned, 'ResourceQuota', 'system-critical-quota').spec.scopeSelector.matchExpressions).toEqual([{ operator: 'In', scopeName: 'PriorityClass', values: ['system-cluster-critical'] }]);
    const required = await render('1.16.19', '--set', 'global.ha.enabled=true', '--set', 'global.ha.podAntiAffinityPolicy=requiredDuringSchedulingIgnoredDuringExecution');
    expect(find(required, 'Deployment', 'dapr-sentry').spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([{ labelSelector: { matchLabels: { app: 'dapr-sentry' } }, topologyKey: 'topology.kubernetes.io/zone' }]);
  });

  it('ships the CRDs in crds/ of the pulled chart, with 1.17 adding a CRD and a Configuration field', async () => {
    const crdsOf = async (version: string) => {
      const dest = join(home, `pull-${version}`);
      await helm(['pull', 'fixture/dapr', '--version', version, '--untar', '--untardir', dest]);
      const dir = join(dest, 'dapr', 'crds');
      const crds = new Map<string, any>();
      for (const file of (await readdir(dir)).sort()) {
        const crd = parse(await readFile(join(dir, file), 'utf8'));
        expect(crd).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', spec: { group: 'dapr.io' } });
        expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.dapr.io`);
        expect(crd.spec.versions.filter((v: any) => v.storage)).toHaveLength(1);
        for (const v of crd.spec.versions) assertStructural(v.schema.openAPIV3Schema, `${crd.metadata.name}/${v.name}`);
        crds.set(crd.metadata.name, crd);
      }
      return crds;
    };
    const workflowFields = (crds: Map<string, any>) =>
      Object.keys(crds.get('configurations.dapr.io').spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.workflow.properties).sort();

    const base = ['components.dapr.io', 'configurations.dapr.io', 'httpendpoints.dapr.io', 'resiliencies.dapr.io', 'subscriptions.dapr.io'];
    const v116 = await crdsOf('1.16.19');
    expect([...v116.keys()].sort()).toEqual(base);
    expect(v116.get('subscriptions.dapr.io').spec.versions.map((v: any) => [v.name, v.served, v.storage])).toEqual([
      ['v1alpha1', true, false],
      ['v2alpha1', true, true],
    ]);
    expect(workflowFields(v116)).toEqual(['maxConcurrentActivityInvocations', 'maxConcurrentWorkflowInvocations']);

    const v117 = await crdsOf('1.17.2');
    expect([...v117.keys()].sort()).toEqual([...base, 'mcpservers.dapr.io'].sort());
    expect(workflowFields(v117)).toEqual(['maxConcurrentActivityInvocations', 'maxConcurrentWorkflowInvocations', 'stateRetentionPolicy']);
    expect(v117.get('subscriptions.dapr.io').spec.versions.map((v: any) => v.name)).toEqual(['v1alpha1', 'v2alpha1']);
  });
});
