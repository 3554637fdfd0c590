// Proves the sandbox behaves like a real cluster in every way daprup relies on, using the real kubectl.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deploySampleApps, PINNED_SIDECAR_IMAGE } from '../sandbox/sample-apps.js';
import { makeTrustBundle } from '../support/certs.js';

const kubeconfig = inject('kubeconfig');
const kubectlBin = inject('kubectl');

const NS = 'sandbox-e2e';
const INJECTOR_NS = 'sandbox-e2e-dapr-system';
const OLD_SIDECAR = 'docker.io/daprio/daprd:1.14.4';
const NEW_SIDECAR = 'docker.io/daprio/daprd:1.15.0';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectlResult(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(kubectlBin, args, { env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectlResult(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { containers: { name: string; image: string }[] };
}

async function pods(namespace: string, selector: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

function daprdImage(pod: Pod): string | undefined {
  return pod.spec.containers.find((c) => c.name === 'daprd')?.image;
}

function deployment(name: string, opts: { replicas?: number; annotations?: Record<string, string>; namespace?: string } = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: opts.namespace ?? NS, labels: { app: name } },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: opts.annotations ?? {} },
        spec: { containers: [{ name: 'app', image: `example/${name}:1` }] },
      },
    },
  });
}

function statefulSet(storage: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: {
      serviceName: 'db',
      replicas: 2,
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'example/db:1' }] } },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } } },
      ],
    },
  });
}

beforeAll(async () => {
  await kubectl(['create', 'namespace', NS]);
});

afterAll(async () => {
  // Leave the shared sandbox as we found it: other e2e files install their own dapr-sidecar-injector.
  await kubectlResult(['delete', 'namespace', NS, INJECTOR_NS, 'apps-a', 'apps-b', 'apps-c', '--ignore-not-found', '--timeout=120s']);
});

describe('sandbox control plane', () => {
  it('has three Ready, untainted nodes', async () => {
    await kubectl(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
    const nodes = await getJson<{ items: { spec: { taints?: unknown[] } }[] }>(['get', 'nodes']);
    expect(nodes.items).toHaveLength(3);
    expect(nodes.items.every((n) => !n.spec.taints?.length)).toBe(true);
    expect(await kubectl(['version', '-o', 'json'])).toContain('"gitVersion": "v1.33.13"');
  });

  it('rolls out a Deployment, and rollout restart completes with a new ReplicaSet', async () => {
    await kubectl(['apply', '-f', '-'], deployment('web'));
    await kubectl(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
    const before = await getJson<{ items: { metadata: { name: string } }[] }>(['-n', NS, 'get', 'rs', '-l', 'app=web']);
    const oldPods = (await pods(NS, 'app=web')).map((p) => p.metadata.name);
    expect(before.items).toHaveLength(1);
    expect(oldPods).toHaveLength(2);

    await kubectl(['-n', NS, 'rollout', 'restart', 'deployment/web']);
    await kubectl(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=60s']);

    type Rs = { metadata: { name: string }; status: { replicas: number; readyReplicas?: number } };
    const after = await getJson<{ items: Rs[] }>(['-n', NS, 'get', 'rs', '-l', 'app=web']);
    expect(after.items).toHaveLength(2);
    const fresh = after.items.find((rs) => rs.metadata.name !== before.items[0]!.metadata.name)!;
    expect(fresh.status.readyReplicas).toBe(2);
    // Old pods are really gone (kwok's pod-delete stage stands in for the kubelet).
    await kubectl(['-n', NS, 'wait', '--for=delete', ...oldPods.map((p) => `pod/${p}`), '--timeout=60s']);
    const now = (await pods(NS, 'app=web')).map((p) => p.metadata.name);
    expect(now).toHaveLength(2);
    expect(now.some((p) => oldPods.includes(p))).toBe(false);
  });

  describe('StatefulSet with a volumeClaimTemplate', () => {
    it('becomes ready with Bound PVCs from the default StorageClass', async () => {
      await kubectl(['apply', '-f', '-'], statefulSet('1Gi'));
      await kubectl(['-n', NS, 'rollout', 'status', 'statefulset/db', '--timeout=60s']);
      type Pvc = { metadata: { name: string }; spec: { storageClassName: string }; status: { phase: string } };
      const pvcs = await getJson<{ items: Pvc[] }>(['-n', NS, 'get', 'pvc']);
      expect(pvcs.items.map((p) => [p.metadata.name, p.spec.storageClassName, p.status.phase]).sort()).toEqual([
        ['data-db-0', 'standard', 'Bound'],
        ['data-db-1', 'standard', 'Bound'],
      ]);
    });

    it('rejects a change to volumeClaimTemplates, as a real apiserver does', async () => {
      const r = await kubectlResult(['apply', '-f', '-'], statefulSet('2Gi'));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('updates to statefulset spec for fields other than');
    });

    it('deleting it with the default cascade removes its pods (PVCs stay)', async () => {
      expect(await pods(NS, 'app=db')).toHaveLength(2);
      await kubectl(['-n', NS, 'delete', 'statefulset', 'db']);
      await kubectl(['-n', NS, 'wait', '--for=delete', 'pod', '-l', 'app=db', '--timeout=60s']);
      expect(await pods(NS, 'app=db')).toHaveLength(0);
      expect(await kubectl(['-n', NS, 'get', 'pvc', '-o', 'name'])).toContain('data-db-0');
    });
  });

  describe('sidecar injector stand-in', () => {
    const enabled = { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'x', 'dapr.io/app-port': '8080' };

    beforeAll(async () => {
      // The sandbox is shared by all e2e files: a Dapr install left by an earlier file would decide the image.
      const found = await getJson<{ items: { metadata: { namespace: string } }[] }>([
        'get',
        'deployments',
        '-A',
        '--field-selector=metadata.name=dapr-sidecar-injector',
      ]);
      for (const d of found.items) {
        await kubectl(['-n', d.metadata.namespace, 'delete', 'deployment', 'dapr-sidecar-injector', '--wait']);
      }
      await sleep(300); // the injector caches its Deployment lookup for 250 ms
    });

    it('injects nothing while no dapr-sidecar-injector Deployment exists', async () => {
      await kubectl(['apply', '-f', '-'], deployment('early', { replicas: 1, annotations: enabled }));
      await kubectl(['-n', NS, 'rollout', 'status', 'deployment/early', '--timeout=60s']);
      expect((await pods(NS, 'app=early')).map(daprdImage)).toEqual([undefined]);
    });

    it('adds daprd with the injector’s SIDECAR_IMAGE to annotated pods only', async () => {
      await kubectl(['create', 'namespace', INJECTOR_NS]);
      await kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'dapr-sidecar-injector', namespace: INJECTOR_NS, labels: { app: 'dapr-sidecar-injector' } },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'dapr-sidecar-injector' } },
            template: {
              metadata: { labels: { app: 'dapr-sidecar-injector' } },
              spec: {
                containers: [
                  {
                    name: 'dapr-sidecar-injector',
                    image: 'docker.io/daprio/dapr:1.14.4',
                    env: [{ name: 'SIDECAR_IMAGE', value: OLD_SIDECAR }],
                  },
                ],
              },
            },
          },
        }),
      );
      await kubectl(['-n', INJECTOR_NS, 'rollout', 'status', 'deployment/dapr-sidecar-injector', '--timeout=60s']);
      for (const name of ['restarted', 'untouched']) await kubectl(['apply', '-f', '-'], deployment(name, { annotations: enabled }));
      await kubectl(['apply', '-f', '-'], deployment('plain'));
      for (const name of ['restarted', 'untouched', 'plain']) {
        await kubectl(['-n', NS, 'rollout', 'status', `deployment/${name}`, '--timeout=60s']);
      }

      for (const name of ['restarted', 'untouched']) {
        const ps = await pods(NS, `app=${name}`);
        expect(ps.map(daprdImage)).toEqual([OLD_SIDECAR, OLD_SIDECAR]);
        expect(ps.every((p) => p.metadata.labels?.['dapr.io/sidecar-injected'] === 'true')).toBe(true);
      }
      const plain = await pods(NS, 'app=plain');
      expect(plain.map((p) => p.spec.containers.map((c) => c.name))).toEqual([['app'], ['app']]);
      expect(plain.some((p) => p.metadata.labels?.['dapr.io/sidecar-injected'])).toBe(false);
    });

    it('after SIDECAR_IMAGE changes, restarted pods get the new image and untouched pods keep the old one', async () => {
      const untouchedBefore = (await pods(NS, 'app=untouched')).map((p) => p.metadata.name).sort();
      const restartedBefore = (await pods(NS, 'app=restarted')).map((p) => `pod/${p.metadata.name}`);
      await kubectl(['-n', INJECTOR_NS, 'set', 'env', 'deployment/dapr-sidecar-injector', `SIDECAR_IMAGE=${NEW_SIDECAR}`]);
      await kubectl(['-n', INJECTOR_NS, 'rollout', 'status', 'deployment/dapr-sidecar-injector', '--timeout=60s']);
      await sleep(300); // the injector caches its Deployment lookup for 250 ms
      await kubectl(['-n', NS, 'rollout', 'restart', 'deployment/restarted']);
      await kubectl(['-n', NS, 'rollout', 'status', 'deployment/restarted', '--timeout=60s']);
      // rollout status can return while the old pods are still Terminating.
      await kubectl(['-n', NS, 'wait', '--for=delete', ...restartedBefore, '--timeout=60s']);

      const restarted = await pods(NS, 'app=restarted');
      expect(restarted.map(daprdImage)).toEqual([NEW_SIDECAR, NEW_SIDECAR]);
      const untouched = await pods(NS, 'app=untouched');
      expect(untouched.map((p) => p.metadata.name).sort()).toEqual(untouchedBefore);
      expect(untouched.map(daprdImage)).toEqual([OLD_SIDECAR, OLD_SIDECAR]);
    });

    it('deploys the sample apps with sidecars where a real cluster would have them', async () => {
      // Fresh pods only: an earlier e2e file may have left the sample apps with another sidecar.
      await kubectl(['delete', 'namespace', 'apps-a', 'apps-b', 'apps-c', '--ignore-not-found', '--timeout=120s']);
      const apps = await deploySampleApps(kubectlBin, kubeconfig);
      expect(apps.namespaces).toEqual(['apps-a', 'apps-b', 'apps-c']);
      expect(new Set(apps.workloads.map((w) => w.kind))).toEqual(new Set(['Deployment', 'StatefulSet', 'DaemonSet']));
      for (const w of apps.workloads) {
        const ps = await pods(w.namespace, `app=${w.name}`);
        expect(ps.length, `${w.kind} ${w.namespace}/${w.name}`).toBeGreaterThan(0);
        const expected = w.appId === undefined ? undefined : (w.pinnedSidecarImage ?? NEW_SIDECAR);
        expect(new Set(ps.map(daprdImage)), `${w.kind} ${w.namespace}/${w.name}`).toEqual(new Set([expected]));
      }
      expect(apps.workloads.find((w) => w.name === 'payments-legacy')?.pinnedSidecarImage).toBe(PINNED_SIDECAR_IMAGE);
      expect((await pods('apps-c', 'app=node-agent')).length).toBe(3); // one per node
    });
  });
});

// The operator stand-in (test/sandbox/operator.ts) behaves as dapr/dapr's operator does to the Subscription CRD:
// patched when an operator pod starts, not watched afterwards, patched again by the next pod or new trust anchors.
describe('operator stand-in', () => {
  const OPERATOR_NS = 'sandbox-e2e-operator';
  const CRD = 'subscriptions.dapr.io';
  // Real certificates: the apiserver rejects a caBundle that is not PEM.
  const ROOT_A = makeTrustBundle().rootCert;
  const ROOT_B = makeTrustBundle().rootCert;
  type ClientConfig = { service?: { namespace?: string; name?: string }; caBundle?: string };

  /** The project's own minimal Subscription CRD with the chart's conversion webhook placeholder. */
  function subscriptionCrd(): string {
    const version = (name: string, storage: boolean) => ({
      name,
      served: true,
      storage,
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    });
    return JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: CRD },
      spec: {
        group: 'dapr.io',
        names: { kind: 'Subscription', listKind: 'SubscriptionList', plural: 'subscriptions', singular: 'subscription' },
        scope: 'Namespaced',
        conversion: {
          strategy: 'Webhook',
          webhook: {
            clientConfig: { service: { namespace: 'replaceme', name: 'dapr-webhook', path: '/convert' } },
            conversionReviewVersions: ['v1', 'v2alpha1'],
          },
        },
        versions: [version('v1alpha1', false), version('v2alpha1', true)],
      },
    });
  }

  const trustBundle = (caCrt: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dapr-trust-bundle', namespace: OPERATOR_NS },
      data: { 'ca.crt': caCrt },
    });

  const operatorDeployment = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dapr-operator', namespace: OPERATOR_NS, labels: { app: 'dapr-operator' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'dapr-operator' } },
      template: {
        metadata: { labels: { app: 'dapr-operator' } },
        spec: { containers: [{ name: 'dapr-operator', image: 'docker.io/daprio/operator:1.16.19' }] },
      },
    },
  });

  async function clientConfig(): Promise<ClientConfig> {
    const crd = await getJson<{ spec: { conversion: { webhook: { clientConfig: ClientConfig } } } }>(['get', 'crd', CRD]);
    return crd.spec.conversion.webhook.clientConfig;
  }

  async function waitForClientConfig(namespace: string, caCrt: string): Promise<void> {
    const want = { namespace, caBundle: Buffer.from(caCrt).toString('base64') };
    const deadline = Date.now() + 30_000;
    let last: ClientConfig = {};
    while (Date.now() < deadline) {
      last = await clientConfig();
      if (last.service?.namespace === want.namespace && last.caBundle === want.caBundle) return;
      await sleep(250);
    }
    expect({ namespace: last.service?.namespace, caBundle: last.caBundle }).toEqual(want);
  }

  /** Re-applies the CRD as an upgrade tool would (server-side, forcing conflicts). */
  const reapplyCrd = () =>
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'sandbox-e2e', '-f', '-'], subscriptionCrd());

  beforeAll(async () => {
    // An earlier file may have left a Dapr operator or a Subscription CRD in the shared sandbox.
    const found = await getJson<{ items: { metadata: { namespace: string; name: string } }[] }>([
      'get',
      'deployments',
      '-A',
      '-l',
      'app=dapr-operator',
    ]);
    for (const d of found.items) await kubectl(['-n', d.metadata.namespace, 'delete', 'deployment', d.metadata.name, '--wait']);
    await kubectl(['delete', 'crd', CRD, '--ignore-not-found', '--wait']);
    await kubectl(['create', 'namespace', OPERATOR_NS]);
    await kubectl(['apply', '-f', '-'], trustBundle(ROOT_A));
    await reapplyCrd();
  });

  afterAll(async () => {
    await kubectlResult(['delete', 'namespace', OPERATOR_NS, '--ignore-not-found', '--timeout=120s']);
    await kubectlResult(['delete', 'crd', CRD, '--ignore-not-found']);
  });

  it('leaves `replaceme` alone while no operator pod runs', async () => {
    await sleep(1_500); // three polls
    expect((await clientConfig()).service?.namespace).toBe('replaceme');
  });

  it('patches namespace and caBundle once an operator pod is Running and Ready', async () => {
    await kubectl(['apply', '-f', '-'], operatorDeployment);
    await kubectl(['-n', OPERATOR_NS, 'rollout', 'status', 'deployment/dapr-operator', '--timeout=60s']);
    await waitForClientConfig(OPERATOR_NS, ROOT_A);
    const crd = await getJson<{ metadata: { managedFields: { manager: string; operation: string }[] } }>([
      'get',
      'crd',
      CRD,
      '--show-managed-fields',
    ]);
    expect(crd.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: 'operator', operation: 'Update' }));
  });

  it('does not watch the CRD: re-applied with `replaceme` while the operator runs, it stays broken', async () => {
    await reapplyCrd();
    expect((await clientConfig()).service?.namespace).toBe('replaceme');
    await sleep(3_000); // six polls
    expect((await clientConfig()).service?.namespace).toBe('replaceme');
  });

  it('patches again when the operator pod is recreated', async () => {
    const [old] = await pods(OPERATOR_NS, 'app=dapr-operator');
    await kubectl(['-n', OPERATOR_NS, 'delete', 'pod', old!.metadata.name, '--wait']);
    await kubectl(['-n', OPERATOR_NS, 'rollout', 'status', 'deployment/dapr-operator', '--timeout=60s']);
    await waitForClientConfig(OPERATOR_NS, ROOT_A);
  });

  it('patches again when the trust anchors change while the operator runs', async () => {
    await kubectl(['apply', '-f', '-'], trustBundle(ROOT_B));
    await waitForClientConfig(OPERATOR_NS, ROOT_B);
  });
});
