import { describe, expect, it } from 'vitest';
import type { Pod, Workload } from '../../src/cluster/k8s-types.js';
import { discoverDataPlane, restartDecision } from '../../src/dapr/data-plane.js';

function deploy(
  ns: string,
  name: string,
  annotations: Record<string, string> = { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name },
): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    },
  };
}

function pod(ns: string, app: string, daprd?: string, native = false): Pod {
  const sidecar = daprd ? [{ name: 'daprd', image: `ghcr.io/dapr/daprd:${daprd}`, ...(native ? { restartPolicy: 'Always' } : {}) }] : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${app}-x`, namespace: ns, labels: { app } },
    spec: native ? { containers: [{ name: 'app' }], initContainers: sidecar } : { containers: [{ name: 'app' }, ...sidecar] },
  };
}

describe('data plane discovery', () => {
  it('finds Dapr-enabled workloads and their sidecar versions, in containers or as native sidecars', () => {
    const workloads = [
      deploy('a', 'orders'),
      deploy('a', 'cart'),
      deploy('b', 'web', {}),
      deploy('b', 'pinned', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-image': 'ghcr.io/dapr/daprd:1.14.4-custom' }),
    ];
    const pods = [
      pod('a', 'orders', '1.16.18'),
      pod('a', 'orders', '1.16.19'),
      pod('a', 'cart', '1.16.19-mariner', true),
      pod('b', 'web'),
      pod('b', 'pinned', '1.14.4-custom'),
    ];
    const found = discoverDataPlane({ workloads, pods });
    expect(found.map((w) => w.key)).toEqual(['Deployment/a/orders', 'Deployment/a/cart', 'Deployment/b/pinned']);
    expect(found[0]!.sidecarVersions).toEqual(['1.16.18', '1.16.19']);
    expect(found[1]!.sidecarVersions).toEqual(['1.16.19']);
    expect(found.map((w) => restartDecision(w, '1.16.19'))).toEqual(['restart', 'current', 'pinned']);
  });

  it('reports an annotated workload whose pods have no sidecar instead of restarting it', () => {
    const [w] = discoverDataPlane({ workloads: [deploy('a', 'late')], pods: [pod('a', 'late')] });
    expect(restartDecision(w!, '1.16.19')).toBe('no-sidecar');
  });

  it('ignores terminating pods and pods of other namespaces', () => {
    const terminating = { ...pod('a', 'orders', '1.16.18'), metadata: { ...pod('a', 'orders').metadata, deletionTimestamp: 'now' } };
    const [w] = discoverDataPlane({
      workloads: [deploy('a', 'orders')],
      pods: [terminating, pod('a', 'orders', '1.16.19'), pod('b', 'orders', '1.15.0')],
    });
    expect(w!.sidecarVersions).toEqual(['1.16.19']);
  });
});
