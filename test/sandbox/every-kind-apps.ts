// Workloads of every kind that can run daprd, as real clusters have them, in namespace `kinds`: the injector's
// annotation spelled as users spell it, a native sidecar, a paused Deployment, OnDelete StatefulSet and DaemonSet,
// a bare ReplicaSet, a running Job and a CronJob, bare Pods (applied and created), pods of another controller,
// daprd written into a pod template by hand, and (where the Argo Rollouts stand-in runs) a Rollout.
// Each entry says what daprup must do with it (`expect`), which the e2e test checks.
import { run } from './sample-apps.js';
import { KEEP_RUNNING_LABEL } from './sandbox.js';

export const KINDS_NAMESPACE = 'kinds';

export type Expectation =
  | 'restarted' // rolled by daprup: new pods with the target daprd
  | 'recreated-with-flag' // named as out of reach; replaced with --recreate-pods / --recreate-bare-pods
  | 'unreached' // named as out of reach, never touched
  | 'next-run'; // a CronJob: named, nothing to do

export interface KindApp {
  kind: string;
  name: string;
  expect: Expectation;
  /** The key daprup reports it under (kind/namespace/name). */
  key: string;
}

const dapr = (appId: string, enabled = 'true', extra: Record<string, string> = {}) => ({
  'dapr.io/enabled': enabled,
  'dapr.io/app-id': appId,
  ...extra,
});

function template(
  name: string,
  annotations: Record<string, string>,
  o: { labels?: Record<string, string>; containers?: unknown[]; restartPolicy?: string } = {},
) {
  return {
    metadata: { labels: { app: name, ...o.labels }, annotations },
    spec: {
      containers: o.containers ?? [{ name: 'app', image: `ghcr.io/example/${name}:1.0.0` }],
      ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
    },
  };
}

const deployment = (name: string, annotations: Record<string, string>, o: Parameters<typeof template>[2] = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: KINDS_NAMESPACE },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name, annotations, o) },
});

/** The objects, applied together; the bare Pod `created-pod` and the paused Deployment's pause come after. */
function manifests(o: { rollouts: boolean }): unknown[] {
  const ns = KINDS_NAMESPACE;
  const items: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    // Spellings Dapr's injector accepts (utils.IsTruthy): all get a sidecar and must be restarted.
    deployment('spelled-true', dapr('spelled-true', 'True')),
    deployment('spelled-yes', dapr('spelled-yes', 'yes')),
    deployment('spelled-on', dapr('spelled-on', 'ON')),
    deployment('spelled-1', dapr('spelled-1', '1')),
    deployment('native', dapr('native', 'true', { 'dapr.io/enable-native-sidecar': 'true' })),
    deployment('paused', dapr('paused')),
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'ondelete-sts', namespace: ns },
      spec: {
        replicas: 2,
        serviceName: 'ondelete-sts',
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: { app: 'ondelete-sts' } },
        template: template('ondelete-sts', dapr('ondelete-sts')),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'ondelete-ds', namespace: ns },
      spec: {
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: { app: 'ondelete-ds' } },
        template: template('ondelete-ds', dapr('ondelete-ds')),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'bare-rs', namespace: ns },
      spec: { replicas: 2, selector: { matchLabels: { app: 'bare-rs' } }, template: template('bare-rs', dapr('bare-rs')) },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'long-job', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: template('long-job', dapr('long-job'), { labels: { [KEEP_RUNNING_LABEL]: 'true' }, restartPolicy: 'Never' }),
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns },
      spec: {
        schedule: '0 3 1 1 *',
        suspend: true,
        jobTemplate: { spec: { template: template('nightly', dapr('nightly', 'y'), { restartPolicy: 'Never' }) } },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'applied-pod', namespace: ns, labels: { app: 'applied-pod' }, annotations: dapr('applied-pod') },
      spec: template('applied-pod', {}).spec,
    },
    // daprd written into the template by hand (no injector): a restart never changes its version.
    deployment(
      'handmade',
      {},
      {
        containers: [
          { name: 'app', image: 'ghcr.io/example/handmade:1.0.0' },
          { name: 'daprd', image: 'ghcr.io/dapr/daprd:1.17.13', args: ['./daprd', '--app-id', 'handmade'] },
        ],
      },
    ),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'custom-controller', namespace: ns } },
  ];
  if (o.rollouts) {
    items.push({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'canary' } },
        template: template('canary', dapr('canary')),
        strategy: { canary: {} },
      },
    });
  }
  return items;
}

export function kindApps(o: { rollouts: boolean }): KindApp[] {
  const ns = KINDS_NAMESPACE;
  const app = (kind: string, name: string, expect: Expectation): KindApp => ({ kind, name, expect, key: `${kind}/${ns}/${name}` });
  return [
    app('Deployment', 'spelled-true', 'restarted'),
    app('Deployment', 'spelled-yes', 'restarted'),
    app('Deployment', 'spelled-on', 'restarted'),
    app('Deployment', 'spelled-1', 'restarted'),
    app('Deployment', 'native', 'restarted'),
    app('Deployment', 'paused', 'unreached'),
    app('StatefulSet', 'ondelete-sts', 'recreated-with-flag'),
    app('DaemonSet', 'ondelete-ds', 'recreated-with-flag'),
    app('ReplicaSet', 'bare-rs', 'recreated-with-flag'),
    app('Job', 'long-job', 'unreached'),
    app('CronJob', 'nightly', 'next-run'),
    app('Pod', 'applied-pod', 'recreated-with-flag'),
    app('Pod', 'created-pod', 'unreached'),
    app('ConfigMap', 'custom-controller', 'unreached'),
    app('Deployment', 'handmade', 'unreached'),
    ...(o.rollouts ? [app('Rollout', 'canary', 'restarted')] : []),
  ];
}

export async function deployEveryKind(kubectl: string, kubeconfig: string, o: { rollouts: boolean }): Promise<KindApp[]> {
  const ns = KINDS_NAMESPACE;
  await run(kubectl, kubeconfig, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests(o) }));
  // `kubectl create` keeps no last-applied manifest: nothing can recreate this Pod as it was.
  await run(
    kubectl,
    kubeconfig,
    ['create', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'created-pod', namespace: ns, annotations: dapr('created-pod') },
      spec: template('created-pod', {}).spec,
    }),
  );
  // Pods of another controller: owned (controller: true) by an object of a kind daprup does not restart.
  const owner = JSON.parse(await run(kubectl, kubeconfig, ['get', 'configmap', 'custom-controller', '-n', ns, '-o', 'json'])) as {
    metadata: { uid: string };
  };
  await run(
    kubectl,
    kubeconfig,
    ['create', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'custom-controller-0',
        namespace: ns,
        annotations: dapr('custom'),
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'custom-controller', uid: owner.metadata.uid, controller: true }],
      },
      spec: template('custom', {}).spec,
    }),
  );
  const rolled = [
    'deployment/spelled-true',
    'deployment/spelled-yes',
    'deployment/spelled-on',
    'deployment/spelled-1',
    'deployment/native',
    'deployment/paused',
    'deployment/handmade',
  ];
  await Promise.all(rolled.map((r) => run(kubectl, kubeconfig, ['-n', ns, 'rollout', 'status', r, '--timeout=120s'])));
  await run(kubectl, kubeconfig, ['-n', ns, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s']);
  // Paused after its first rollout (a Deployment created paused never makes its ReplicaSet).
  await run(kubectl, kubeconfig, ['-n', ns, 'rollout', 'pause', 'deployment/paused']);
  return kindApps(o);
}
