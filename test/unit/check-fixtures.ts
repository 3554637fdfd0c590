// Objects for the production checks: a tuned Dapr cluster (every check ok) that tests break one field at a time.
import type { PersistentVolumeClaim, Pod, Workload } from '../../src/cluster/k8s-types.js';
import { CONTROL_PLANE } from '../../src/dapr/chart.js';
import type { CheckInput, DaprComponent, DaprConfiguration, PodDisruptionBudget } from '../../src/dapr/checks/types.js';
import { controlPlaneStatus } from '../../src/dapr/control-plane.js';
import { makeTrustBundle } from '../support/certs.js';

export const NS = 'dapr-system';
export const VERSION = '1.16.19';
const IMAGE: Record<string, string> = {
  'dapr-operator': 'operator',
  'dapr-sentry': 'sentry',
  'dapr-sidecar-injector': 'injector',
  'dapr-placement-server': 'placement',
  'dapr-scheduler-server': 'scheduler',
};

export const TUNED_ANNOTATIONS: Record<string, string> = {
  'dapr.io/enabled': 'true',
  'dapr.io/sidecar-cpu-request': '100m',
  'dapr.io/sidecar-cpu-limit': '300m',
  'dapr.io/sidecar-memory-request': '250Mi',
  'dapr.io/sidecar-memory-limit': '1000Mi',
  'dapr.io/env': 'GOMEMLIMIT=900MiB',
  'dapr.io/api-token-secret': 'dapr-api-token',
};

export function controlPlaneWorkload(name: string, version = VERSION): Workload {
  const c = CONTROL_PLANE.find((x) => x.name === name)!;
  const args = name === 'dapr-operator' ? ['--watch-interval', '1m', '--log-level', 'info', '--enable-metrics'] : ['--log-level', 'info'];
  return {
    apiVersion: 'apps/v1',
    kind: c.kind,
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'app.kubernetes.io/part-of': 'dapr' } },
        spec: {
          priorityClassName: 'system-cluster-critical',
          containers: [
            { name, image: `ghcr.io/dapr/${IMAGE[name]}:${version}`, args, resources: { requests: { cpu: '100m', memory: '100Mi' } } },
          ],
        },
      },
      ...(name === 'dapr-scheduler-server'
        ? {
            volumeClaimTemplates: [
              { metadata: { name: 'dapr-scheduler-data-dir' }, spec: { resources: { requests: { storage: '16Gi' } } } },
            ],
          }
        : {}),
    },
    status: { replicas: 3, readyReplicas: 3 },
  };
}

export function pod(namespace: string, app: string, node: string | undefined, i: number, containers: Pod['spec']['containers']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-${i}`, namespace, labels: { app } },
    spec: { nodeName: node, containers },
  };
}

export function controlPlanePods(name: string, nodes = ['node-a', 'node-b', 'node-c'], version = VERSION): Pod[] {
  return nodes.map((node, i) => pod(NS, name, node, i, [{ name, image: `ghcr.io/dapr/${IMAGE[name]}:${version}` }]));
}

export function app(
  namespace: string,
  name: string,
  annotations: Record<string, string> = TUNED_ANNOTATIONS,
  spec: Partial<Workload['spec']['template']['spec']> = { automountServiceAccountToken: false },
): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { 'dapr.io/app-id': name, ...annotations } },
        spec: { containers: [{ name, image: `example/${name}:1` }], ...spec },
      },
    },
  };
}

export const appPod = (namespace: string, name: string, daprd = VERSION) =>
  pod(namespace, name, 'node-a', 0, [
    { name, image: `example/${name}:1` },
    { name: 'daprd', image: `ghcr.io/dapr/daprd:${daprd}` },
  ]);

export function component(
  namespace: string,
  name: string,
  metadata: NonNullable<DaprComponent['spec']>['metadata'],
  scopes?: string[],
): DaprComponent {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace },
    spec: { type: 'state.redis', version: 'v1', metadata },
    ...(scopes ? { scopes } : {}),
  };
}

const pdb = (name: string): PodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: `${name}-disruption-budget`, namespace: NS },
  spec: { maxUnavailable: '25%', selector: { matchLabels: { app: name } } },
});

const configuration = (namespace: string, name: string, spec: DaprConfiguration['spec']): DaprConfiguration => ({
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Configuration',
  metadata: { name, namespace },
  spec,
});

let bundle: ReturnType<typeof makeTrustBundle> | undefined;
export const trustBundlePems = () => (bundle ??= makeTrustBundle());

/** A cluster that follows every guideline. */
/** A scheduler replica's bound claim, as the StatefulSet's template created it. */
export function schedulerClaim(ordinal: number, size: string): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `dapr-scheduler-data-dir-dapr-scheduler-server-${ordinal}`, namespace: NS },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
    status: { phase: 'Bound', capacity: { storage: size } },
  };
}

export function tunedInput(): CheckInput {
  const controlPlaneWorkloads = CONTROL_PLANE.map((c) => controlPlaneWorkload(c.name));
  const cpPods = CONTROL_PLANE.flatMap((c) => controlPlanePods(c.name));
  const pems = trustBundlePems();
  return {
    release: { name: 'dapr', namespace: NS, chartVersion: VERSION, version: VERSION, revision: 3, status: 'deployed' },
    controlPlaneWorkloads,
    controlPlane: controlPlaneStatus(controlPlaneWorkloads, cpPods),
    haEnabled: true,
    workloads: [app('shop', 'orders'), app('shop', 'cart'), app('shop', 'web-no-dapr', {}, {})],
    pods: [...cpPods, appPod('shop', 'orders'), appPod('shop', 'cart')],
    trustBundle: { rootCert: pems.rootCert, issuerCert: pems.issuerCert, issuerKey: pems.issuerKey, configMapRootCert: pems.rootCert },
    mtlsEnabled: true,
    values: { global: { prometheus: { enabled: true, port: 9090 }, ha: { enabled: true } }, dapr_operator: { watchInterval: '1m' } },
    pdbs: CONTROL_PLANE.map((c) => pdb(c.name)),
    components: [
      component(
        'shop',
        'statestore',
        [
          { name: 'redisHost', value: 'redis:6379' },
          { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
        ],
        ['orders', 'cart'],
      ),
    ],
    configurations: [
      configuration(NS, 'daprsystem', { mtls: { enabled: true } }),
      configuration('shop', 'tracing', { tracing: { samplingRate: '1', otel: { endpointAddress: 'otel:4317' } } }),
    ],
    namespaces: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    ],
    claims: [0, 1, 2].map((i) => schedulerClaim(i, '16Gi')),
    storageClasses: [
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'kubernetes.io/host-path',
      },
    ],
    supported: { minors: ['1.18', '1.17', '1.16'], source: 'test index' },
    certWarnDays: 30,
  };
}

/** Replaces the control plane with copies changed by `edit`, keeping the derived status in step. */
export function editControlPlane(input: CheckInput, edit: (w: Workload) => void, pods = input.pods): CheckInput {
  const controlPlaneWorkloads = input.controlPlaneWorkloads.map((w) => {
    const copy = structuredClone(w);
    edit(copy);
    return copy;
  });
  return { ...input, controlPlaneWorkloads, pods, controlPlane: controlPlaneStatus(controlPlaneWorkloads, pods) };
}
