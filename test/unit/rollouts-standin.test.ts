// The Argo Rollouts stand-in's rules (test/sandbox/rollouts.ts), checked against the real controller's
// (argoproj/argo-rollouts rollout/restart.go, utils/replicaset, utils/rollout): which pods a restart evicts and
// when, when restartedAt may be set, the phase a client waits on.
import { describe, expect, it } from 'vitest';
import {
  formatLabelSelector,
  maxUnavailable,
  needsRestart,
  planRestart,
  podTemplateHash,
  restartFinished,
  restartPatch,
  rolloutPhase,
  type Pod,
  type ReplicaSet,
  type Rollout,
  type RolloutStatus,
} from '../sandbox/rollouts.js';

const RESTART_AT = '2026-08-21T12:00:00Z';
const NOW = new Date('2026-08-21T12:00:05Z');
const BEFORE = '2026-08-21T11:00:00Z';
const AFTER = '2026-08-21T12:00:02Z';

function rollout(
  o: { replicas?: number; strategy?: Rollout['spec']['strategy']; restartAt?: string; status?: RolloutStatus; generation?: number } = {},
): Rollout {
  return {
    metadata: { name: 'web', namespace: 'apps', uid: 'ro-uid', generation: o.generation ?? 2 },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'example/web:1' }] } },
      strategy: o.strategy ?? { canary: {} },
      restartAt: 'restartAt' in o ? o.restartAt : RESTART_AT,
    },
    status: o.status ?? {},
  };
}

function pod(name: string, o: { created?: string; ready?: boolean; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'apps',
      uid: `${name}-uid`,
      creationTimestamp: o.created ?? BEFORE,
      ...(o.deleting ? { deletionTimestamp: AFTER } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true }],
    },
    status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: BEFORE }] },
  };
}

const rs = (replicas: number): ReplicaSet => ({ metadata: { name: 'web-abc', namespace: 'apps', uid: 'rs-uid' }, spec: { replicas } });
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('argo rollouts stand-in: kubectl argo rollouts restart', () => {
  it('sends restartAt as whole-second UTC RFC 3339', () => {
    expect(restartPatch(new Date('2026-08-21T12:34:56.789+02:00'))).toEqual({ spec: { restartAt: '2026-08-21T10:34:56Z' } });
  });
});

describe('argo rollouts stand-in: restart reconciler', () => {
  it('needs a restart only once restartAt has passed and until restartedAt equals it', () => {
    expect(needsRestart(rollout(), NOW)).toBe(true);
    expect(needsRestart(rollout({ restartAt: '2026-08-21T12:01:00Z' }), NOW)).toBe(false);
    expect(needsRestart(rollout({ status: { restartedAt: RESTART_AT } }), NOW)).toBe(false);
    expect(needsRestart(rollout({ status: { restartedAt: '2026-08-20T00:00:00Z' } }), NOW)).toBe(true);
    expect(needsRestart(rollout({ restartAt: undefined }), NOW)).toBe(false);
  });

  it('evicts one pod at a time with the default maxUnavailable, and none while a replacement is not available', () => {
    const pods = [pod('a'), pod('b'), pod('c')];
    expect(planRestart(rollout(), pods, [rs(3)], NOW)).toEqual({ evict: [pods[0]], needRestart: 3 });
    // a is being deleted (still counts), its replacement d is not Ready yet: wait.
    const during = [pod('a', { deleting: true }), pod('b'), pod('c'), pod('d', { created: AFTER, ready: false })];
    const plan = planRestart(rollout(), during, [rs(3)], NOW);
    expect(names(plan.evict)).toEqual([]);
    expect(plan.needRestart).toBe(3);
    // a is gone, d is available: next one.
    const next = planRestart(rollout(), [pod('b'), pod('c'), pod('d', { created: AFTER })], [rs(3)], NOW);
    expect(names(next.evict)).toEqual(['b']);
    expect(next.needRestart).toBe(2);
  });

  it('is done (restartedAt may be set) when no pod is older than restartAt; a pod created in that second is current', () => {
    const pods = [pod('d', { created: AFTER }), pod('e', { created: RESTART_AT }), pod('f', { created: AFTER })];
    expect(planRestart(rollout(), pods, [rs(3)], NOW)).toEqual({ evict: [], needRestart: 0 });
  });

  it('the last old pod evicted in a pass makes that pass done', () => {
    const plan = planRestart(rollout({ replicas: 1 }), [pod('a')], [rs(1)], NOW);
    expect(names(plan.evict)).toEqual(['a']);
    expect(plan.needRestart - plan.evict.length).toBe(0);
  });

  it('restarts maxUnavailable pods at once when it allows more than one', () => {
    const pods = ['a', 'b', 'c', 'd'].map((n) => pod(n));
    expect(names(planRestart(rollout({ replicas: 4, strategy: { canary: { maxUnavailable: 2 } } }), pods, [rs(4)], NOW).evict)).toEqual([
      'a',
      'b',
    ]);
    const eight = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => pod(n));
    expect(names(planRestart(rollout({ replicas: 8 }), eight, [rs(8)], NOW).evict)).toEqual(['a', 'b']); // 25% of 8
  });

  it('resolves maxUnavailable as utils/replicaset MaxUnavailable does', () => {
    const mu = (replicas: number, strategy: Rollout['spec']['strategy']) => maxUnavailable(rollout({ replicas, strategy }));
    expect(mu(3, { canary: {} })).toBe(0); // floor(25% of 3); surge ceil(0.75) = 1, so no fencepost fix
    expect(mu(8, { canary: {} })).toBe(2);
    expect(mu(3, { canary: { maxSurge: 0, maxUnavailable: 0 } })).toBe(1);
    expect(mu(4, { canary: { maxUnavailable: '50%' } })).toBe(2);
    expect(mu(4, { canary: { maxUnavailable: '50' } })).toBe(2); // the legacy parser: any string is a percentage
    expect(mu(2, { canary: { maxUnavailable: 5 } })).toBe(2);
    expect(mu(3, { blueGreen: {} })).toBe(0);
    expect(mu(4, { blueGreen: { maxUnavailable: 1 } })).toBe(1);
    expect(mu(0, { canary: {} })).toBe(0);
  });
});

describe('argo rollouts stand-in: phase and the waiting rule', () => {
  const healthy: RolloutStatus = {
    observedGeneration: '2',
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    currentPodHash: 'abc',
    stableRS: 'abc',
    restartedAt: RESTART_AT,
  };

  it('is Progressing while restarting, then while replacements become available, then Healthy', () => {
    expect(rolloutPhase(rollout().spec, { ...healthy, restartedAt: undefined })).toEqual({
      phase: 'Progressing',
      message: 'rollout is restarting',
    });
    expect(rolloutPhase(rollout().spec, { ...healthy, availableReplicas: 2 })).toEqual({
      phase: 'Progressing',
      message: 'updated replicas are still becoming available',
    });
    expect(rolloutPhase(rollout().spec, { ...healthy, replicas: 4 })).toEqual({
      phase: 'Progressing',
      message: 'old replicas are pending termination',
    });
    expect(rolloutPhase(rollout().spec, { ...healthy, updatedReplicas: 2 })).toEqual({
      phase: 'Progressing',
      message: 'more replicas need to be updated',
    });
    expect(rolloutPhase(rollout().spec, { ...healthy, stableRS: 'old' })).toEqual({
      phase: 'Progressing',
      message: 'waiting for all steps to complete',
    });
    expect(rolloutPhase(rollout().spec, healthy)).toEqual({ phase: 'Healthy', message: '' });
    expect(rolloutPhase({ ...rollout().spec, paused: true }, healthy).phase).toBe('Paused');
    expect(rolloutPhase({ ...rollout().spec, strategy: {} }, healthy).phase).toBe('Degraded');
  });

  it('a restartAt with a fraction of a second never equals the whole-second restartedAt the controller writes', () => {
    expect(rolloutPhase(rollout({ restartAt: '2026-08-21T12:00:00.500Z' }).spec, healthy).message).toBe('rollout is restarting');
  });

  it('a blue-green Rollout is Healthy once the active selector is the current hash', () => {
    const spec = rollout({ strategy: { blueGreen: {} } }).spec;
    expect(rolloutPhase(spec, healthy).message).toBe('active service cutover pending');
    expect(rolloutPhase(spec, { ...healthy, blueGreen: { activeSelector: 'abc' } }).phase).toBe('Healthy');
  });

  it('restartFinished: observed generation (a string) and Healthy and restartedAt == restartAt', () => {
    const done = rollout({ status: { ...healthy, phase: 'Healthy' } });
    expect(restartFinished(done)).toBe(true);
    expect(restartFinished({ ...done, metadata: { ...done.metadata, generation: 3 } })).toBe(false); // spec just patched
    expect(restartFinished(rollout({ status: { ...healthy, phase: 'Progressing' } }))).toBe(false);
    expect(restartFinished(rollout({ status: { ...healthy, phase: 'Healthy', restartedAt: '2026-08-20T00:00:00Z' } }))).toBe(false);
  });
});

describe('argo rollouts stand-in: ReplicaSets', () => {
  it('hashes the pod template stably, safe-encoded, and differently after a change or a collision', () => {
    const t = rollout().spec.template!;
    const h = podTemplateHash(t);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash(structuredClone(t))).toBe(h);
    expect(podTemplateHash({ ...t, metadata: { labels: { app: 'web' }, annotations: { 'dapr.io/enabled': 'true' } } })).not.toBe(h);
    expect(podTemplateHash(t, 1)).not.toBe(h);
  });

  it('formats selectors as metav1.FormatLabelSelector', () => {
    expect(
      formatLabelSelector({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['b', 'a'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier in (a,b),!canary');
  });
});
