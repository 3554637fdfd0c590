// How discovery reads a cluster: a fixed handful of processes however many workloads there are, and the
// combined read of the cluster id, trust bundle and system Configuration falling back to one read each.
import { describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { inspectCluster } from '../../src/dapr/discovery.js';
import { app, appPod, controlPlanePods, controlPlaneWorkload, NS, trustBundlePems } from './check-fixtures.js';
import { FakeRunner } from './fake-runner.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

function cluster(apps: number) {
  const pems = trustBundlePems();
  const controlPlane = ['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector', 'dapr-placement-server', 'dapr-scheduler-server'];
  const workloads = [
    ...controlPlane.map((n) => controlPlaneWorkload(n)),
    ...Array.from({ length: apps }, (_, i) => app(`ns-${i % 7}`, `app-${i}`)),
  ];
  const pods = [
    ...controlPlane.flatMap((n) => controlPlanePods(n)),
    ...Array.from({ length: apps }, (_, i) => appPod(`ns-${i % 7}`, `app-${i}`)),
  ];
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'dapr-trust-bundle', namespace: NS },
    data: { 'ca.crt': b64(pems.rootCert), 'issuer.crt': b64(pems.issuerCert), 'issuer.key': b64(pems.issuerKey) },
  };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dapr-trust-bundle', namespace: NS },
    data: { 'ca.crt': pems.rootCert },
  };
  const configuration = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'daprsystem', namespace: NS },
    spec: { mtls: { enabled: true } },
  };
  const kubeSystem = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system', uid: 'uid-1' } };
  const runner = new FakeRunner()
    .on('helm', ['version'], 'v4.1.4+g1\n')
    .on('kubectl', ['version'], JSON.stringify({ clientVersion: { gitVersion: 'v1.33.9' }, serverVersion: { gitVersion: 'v1.33.13' } }))
    .on(
      'helm',
      ['list'],
      JSON.stringify([{ name: 'dapr', namespace: NS, revision: '3', status: 'deployed', chart: 'dapr-1.16.19', app_version: '1.16.19' }]),
    )
    .on('helm', ['get', 'values'], '{}')
    .on('kubectl', ['get', 'deployments'], list(workloads.filter((w) => w.kind === 'Deployment')))
    .on('kubectl', ['get', 'statefulsets,daemonsets,jobs.batch,cronjobs.batch'], list(workloads.filter((w) => w.kind !== 'Deployment')))
    .on('kubectl', ['get', 'pods'], list(pods))
    .on('kubectl', ['get', 'namespace/kube-system'], list([kubeSystem, secret, configMap, configuration]))
    .on('kubectl', ['get', 'namespace', 'kube-system'], JSON.stringify(kubeSystem))
    .on('kubectl', ['get', 'secret/dapr-trust-bundle'], list([secret, configMap]))
    .on('kubectl', ['get', 'configurations.dapr.io', 'daprsystem'], JSON.stringify(configuration));
  return { runner, tools: { helm: new Helm(runner, 'helm'), kubectl: new Kubectl(runner, 'kubectl') } };
}

describe('inspectCluster', () => {
  it('starts the same 8 processes, and never asks about Argo Rollouts when no pod says one exists, for 10 workloads as for 1,000, Deployments and pods read raw', async () => {
    for (const apps of [10, 1000]) {
      const { runner, tools } = cluster(apps);
      const facts = await inspectCluster(tools, {});
      expect(facts.workloads.filter((w) => w.metadata.name.startsWith('app-'))).toHaveLength(apps);
      expect(facts.pods.filter((p) => p.metadata.namespace?.startsWith('ns-'))).toHaveLength(apps);
      expect(facts).toMatchObject({ clusterId: 'uid-1', mtlsEnabled: true });
      expect(facts.trustBundle?.rootCert).toBe(trustBundlePems().rootCert);
      expect(runner.commandLines().sort()).toEqual([
        'helm get values dapr --namespace dapr-system -o json',
        'helm list --all-namespaces --deployed --failed --pending -o json',
        'helm version --short',
        'kubectl get --raw /api/v1/pods',
        'kubectl get --raw /apis/apps/v1/deployments',
        'kubectl get namespace/kube-system secret/dapr-trust-bundle configmap/dapr-trust-bundle configurations.dapr.io/daprsystem -o json --namespace dapr-system --ignore-not-found',
        'kubectl get statefulsets,daemonsets,jobs.batch,cronjobs.batch -o json --all-namespaces',
        'kubectl version -o json --request-timeout=15s',
      ]);
    }
  });

  it('reads the cluster id, trust bundle and Configuration one by one when their combined read fails (no Configuration CRD)', async () => {
    const { runner, tools } = cluster(3);
    runner.on('kubectl', ['get', 'namespace/kube-system'], {
      exitCode: 1,
      stderr: 'error: the server doesn\'t have a resource type "configurations"',
    });
    runner.on('kubectl', ['get', 'configurations.dapr.io', 'daprsystem'], {
      exitCode: 1,
      stderr: 'error: the server doesn\'t have a resource type "configurations"',
    });
    const facts = await inspectCluster(tools, {});
    expect(facts.clusterId).toBe('uid-1');
    expect(facts.trustBundle?.issuerCert).toBe(trustBundlePems().issuerCert);
    expect(facts.mtlsEnabled).toBeUndefined();
    expect(runner.commandLines().filter((l) => /kube-system|trust-bundle|daprsystem/.test(l))).toHaveLength(4);
  });
});

describe('Kubectl.diffChanges', () => {
  it('tells objects a server-side apply would create from those it would update', async () => {
    const diff = [
      'diff -u -N /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io',
      '--- /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io\t2026-01-01',
      '+++ /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io\t2026-01-01',
      '@@ -12,7 +12,7 @@',
      '-  description: old',
      '+  description: new',
      '@@ -0,0 +40,2 @@',
      'diff -u -N /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..mcpservers.dapr.io /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..mcpservers.dapr.io',
      '--- /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..mcpservers.dapr.io\t2026-01-01',
      '+++ /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..mcpservers.dapr.io\t2026-01-01',
      '@@ -0,0 +1,86 @@',
      '+apiVersion: apiextensions.k8s.io/v1',
      '',
    ].join('\n');
    const runner = new FakeRunner().on('kubectl', ['diff'], { stdout: diff, exitCode: 1 });
    const changes = await new Kubectl(runner, 'kubectl').diffChanges('/chart/crds');
    expect(Object.fromEntries(changes)).toEqual({ 'components.dapr.io': 'update', 'mcpservers.dapr.io': 'create' });
  });

  it('reads Argo Rollouts only when a pod carries their template-hash label, and takes a 404 as no Rollouts', async () => {
    const { runner, tools } = cluster(3);
    const rolloutPod = {
      ...appPod('shop', 'canary'),
      metadata: { ...appPod('shop', 'canary').metadata, labels: { app: 'canary', 'rollouts-pod-template-hash': 'abc' } },
    };
    const rollout = { ...app('shop', 'canary'), apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' };
    runner.on('kubectl', ['get', 'pods'], list([rolloutPod]));
    runner.on('kubectl', ['get', 'rollouts'], list([rollout]));
    const facts = await inspectCluster(tools, {});
    expect(runner.commandLines()).toContain('kubectl get --raw /apis/argoproj.io/v1alpha1/rollouts');
    expect(facts.workloads.filter((w) => w.kind === 'Rollout').map((w) => w.metadata.name)).toEqual(['canary']);

    const without = cluster(3);
    without.runner.on('kubectl', ['get', 'pods'], list([rolloutPod])); // a stale label, no CRD: the API answers 404
    expect((await inspectCluster(without.tools, {})).workloads.some((w) => w.kind === 'Rollout')).toBe(false);
  });
});
