import { describe, expect, it } from 'vitest';
import type { Workload } from '../../src/cluster/k8s-types.js';
import { parseKubeQuantity, sameQuantity } from '../../src/dapr/quantity.js';
import { immutableChanges, statefulSetsToRecreate } from '../../src/dapr/statefulsets.js';

function sts(name: string, claims: { name: string; size: string; cls?: string }[] = [], extra: Partial<Workload['spec']> = {}): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'dapr-system' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      serviceName: name,
      template: { spec: { containers: [{ name: 'x', image: 'ghcr.io/dapr/placement:1.16.19' }] } },
      volumeClaimTemplates: claims.map((c) => ({
        metadata: { name: c.name },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: c.cls, resources: { requests: { storage: c.size } } },
      })),
      ...extra,
    },
  };
}

describe('immutable StatefulSet fields', () => {
  it('enabling HA adds placement raft-log: a recreation', () => {
    const live = [sts('dapr-placement-server'), sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '1Gi' }])];
    const target = [
      sts('dapr-placement-server', [{ name: 'raft-log', size: '1Gi' }], { replicas: 3 }),
      sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '1024Mi' }], { replicas: 3 }),
    ];
    const r = statefulSetsToRecreate(live, target, 'dapr-system');
    expect(r).toEqual([
      { name: 'dapr-placement-server', namespace: 'dapr-system', changes: ['volumeClaimTemplates: raft-log (1Gi) added'] },
    ]);
  });

  it('a scheduler storage resize (the 1.14.3 recall) is a recreation; replicas and template are not', () => {
    const live = sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '1Gi' }]);
    expect(immutableChanges(live, sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '16Gi' }]))).toEqual([
      'volumeClaimTemplates: dapr-scheduler-data-dir storage 1Gi → 16Gi',
    ]);
    const onlyMutable = sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '1Gi' }], {
      replicas: 3,
      template: { spec: { containers: [{ name: 'x', image: 'other:2' }] } },
    });
    expect(immutableChanges(live, onlyMutable)).toEqual([]);
  });

  it('notices storage class, selector and pod management policy changes', () => {
    const live = sts('s', [{ name: 'd', size: '1Gi' }]);
    const target = sts('s', [{ name: 'd', size: '1Gi', cls: 'fast' }], {
      selector: { matchLabels: { app: 'other' } },
      podManagementPolicy: 'Parallel',
    });
    expect(immutableChanges(live, target)).toEqual([
      'volumeClaimTemplates: d storageClassName (default) → fast',
      'selector changed',
      'podManagementPolicy OrderedReady → Parallel',
    ]);
  });

  it('compares storage quantities by size', () => {
    expect(sameQuantity('1Gi', '1024Mi')).toBe(true);
    expect(parseKubeQuantity('1G')).toBe(1e9);
    expect(sameQuantity('16Gi', '1Gi')).toBe(false);
    expect(sameQuantity('1Gx', '1Gx')).toBe(false);
    expect(sameQuantity(undefined, undefined)).toBe(true);
    expect(sameQuantity(undefined, '1Gi')).toBe(false);
  });

  // Regression: the plan promised the new size; the recreated StatefulSet reuses the 1Gi claims.
  it('says that bound claims keep their size when a recreation changes the claim template, with the commands to grow them', () => {
    const live = [sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '1Gi' }])];
    const target = [sts('dapr-scheduler-server', [{ name: 'dapr-scheduler-data-dir', size: '16Gi' }])];
    const claim = (i: number) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `dapr-scheduler-data-dir-dapr-scheduler-server-${i}`, namespace: 'dapr-system' },
      spec: { storageClassName: 'fast' },
      status: { capacity: { storage: '1Gi' } },
    });
    const other = { ...claim(0), metadata: { name: 'dapr-scheduler-data-dir-dapr-scheduler-server-0', namespace: 'elsewhere' } };
    const [r] = statefulSetsToRecreate(live, target, 'dapr-system', {
      claims: [claim(1), claim(0), other],
      classes: [{ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, allowVolumeExpansion: true }],
    });
    expect(r!.claimNotes).toEqual([
      'The bound claims keep their size: dapr-scheduler-data-dir-dapr-scheduler-server-0 (1Gi), dapr-scheduler-data-dir-dapr-scheduler-server-1 (1Gi); only new replicas get 16Gi. ' +
        'Grow them after the upgrade (StorageClass fast allows expansion): ' +
        `kubectl patch pvc dapr-scheduler-data-dir-dapr-scheduler-server-0 -n dapr-system -p '{"spec":{"resources":{"requests":{"storage":"16Gi"}}}}'; ` +
        `kubectl patch pvc dapr-scheduler-data-dir-dapr-scheduler-server-1 -n dapr-system -p '{"spec":{"resources":{"requests":{"storage":"16Gi"}}}}'`,
    ]);
  });
});
