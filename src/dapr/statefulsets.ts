// StatefulSet fields Kubernetes will not patch: only replicas, ordinals, template, updateStrategy,
// persistentVolumeClaimRetentionPolicy and minReadySeconds may change. When the target chart changes any
// other field (HA adds placement's raft-log volume claim; 1.14.3 resized the scheduler's), `helm upgrade`
// fails with "updates to statefulset spec for fields other than ..." unless the StatefulSet is deleted first.
import type { K8sObject, PersistentVolumeClaim, StorageClass, VolumeClaimTemplate, Workload } from '../cluster/k8s-types.js';
import { sameQuantity } from './quantity.js';

export interface StatefulSetRecreation {
  name: string;
  namespace: string;
  /** Human-readable immutable changes, e.g. `volumeClaimTemplates: raft-log added (1Gi)`. */
  changes: string[];
  /** What happens to the claims already bound: they keep their size (the new StatefulSet reuses them by name). */
  claimNotes?: string[];
}

/** The claims a StatefulSet's template created: `<template>-<statefulset>-<ordinal>`. */
export function boundClaims(
  claims: readonly PersistentVolumeClaim[],
  template: string,
  statefulSet: string,
  namespace: string,
): PersistentVolumeClaim[] {
  const prefix = `${template}-${statefulSet}-`;
  return claims
    .filter(
      (c) => c.metadata.namespace === namespace && c.metadata.name.startsWith(prefix) && /^\d+$/.test(c.metadata.name.slice(prefix.length)),
    )
    .sort((a, b) => Number(a.metadata.name.slice(prefix.length)) - Number(b.metadata.name.slice(prefix.length)));
}

/** A claim's size: what it got (status.capacity), else what it asked for. */
export const claimSize = (c: PersistentVolumeClaim) => c.status?.capacity?.storage ?? c.spec.resources?.requests?.storage;

/** Whether the claim's StorageClass (or the default one) lets `kubectl patch pvc` grow it. */
export function expansionNote(claim: PersistentVolumeClaim, classes: readonly StorageClass[]): string {
  const isDefault = (s: K8sObject) => s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
  const cls = claim.spec.storageClassName ? classes.find((s) => s.metadata.name === claim.spec.storageClassName) : classes.find(isDefault);
  const name = claim.spec.storageClassName ?? cls?.metadata.name ?? '(default)';
  if (!cls) return `StorageClass ${name} not found: check that it allows volume expansion`;
  return cls.allowVolumeExpansion
    ? `StorageClass ${name} allows expansion`
    : `StorageClass ${name} does not allow expansion (allowVolumeExpansion: true is needed; otherwise move the data to new claims)`;
}

/** `kubectl patch pvc` that grows one claim in place. */
export const growClaimCommand = (c: PersistentVolumeClaim, size: string) =>
  `kubectl patch pvc ${c.metadata.name} -n ${c.metadata.namespace} -p '{"spec":{"resources":{"requests":{"storage":"${size}"}}}}'`;

/**
 * Kubernetes never resizes a claim from a StatefulSet's template: a recreated StatefulSet with a new size reuses
 * the bound claims at their old size. Says so, with the sizes and the commands that grow them.
 */
function notesOnBoundClaims(
  live: Workload,
  target: Workload,
  claims: readonly PersistentVolumeClaim[],
  classes: readonly StorageClass[],
): string[] {
  const notes: string[] = [];
  for (const t of target.spec.volumeClaimTemplates ?? []) {
    const l = live.spec.volumeClaimTemplates?.find((c) => c.metadata.name === t.metadata.name);
    const size = t.spec.resources?.requests?.storage;
    if (!l || !size || sameQuantity(l.spec.resources?.requests?.storage, size)) continue;
    const bound = boundClaims(claims, t.metadata.name, live.metadata.name, live.metadata.namespace ?? '').filter(
      (c) => !sameQuantity(claimSize(c), size),
    );
    if (!bound.length) continue;
    notes.push(
      `The bound claims keep their size: ${bound.map((c) => `${c.metadata.name} (${claimSize(c) ?? '?'})`).join(', ')}; only new replicas get ${size}. Grow them after the upgrade (${expansionNote(bound[0]!, classes)}): ${bound.map((c) => growClaimCommand(c, size)).join('; ')}`,
    );
  }
  return notes;
}

function describeClaim(c: VolumeClaimTemplate): string {
  return `${c.metadata.name} (${c.spec.resources?.requests?.storage ?? '?'}${c.spec.storageClassName ? `, class ${c.spec.storageClassName}` : ''})`;
}

function claimChanges(live: VolumeClaimTemplate[] = [], target: VolumeClaimTemplate[] = []): string[] {
  const changes: string[] = [];
  const liveByName = new Map(live.map((c) => [c.metadata.name, c]));
  const targetByName = new Map(target.map((c) => [c.metadata.name, c]));
  for (const [name, t] of targetByName) {
    const l = liveByName.get(name);
    if (!l) {
      changes.push(`volumeClaimTemplates: ${describeClaim(t)} added`);
      continue;
    }
    const [ls, ts] = [l.spec.resources?.requests?.storage, t.spec.resources?.requests?.storage];
    if (!sameQuantity(ls, ts)) changes.push(`volumeClaimTemplates: ${name} storage ${ls} → ${ts}`);
    if ((l.spec.storageClassName ?? '') !== (t.spec.storageClassName ?? '')) {
      changes.push(
        `volumeClaimTemplates: ${name} storageClassName ${l.spec.storageClassName ?? '(default)'} → ${t.spec.storageClassName ?? '(default)'}`,
      );
    }
    const modes = (c: VolumeClaimTemplate) => [...(c.spec.accessModes ?? [])].sort().join(',');
    if (modes(l) !== modes(t)) changes.push(`volumeClaimTemplates: ${name} accessModes ${modes(l)} → ${modes(t)}`);
  }
  for (const name of liveByName.keys()) if (!targetByName.has(name)) changes.push(`volumeClaimTemplates: ${name} removed`);
  return changes;
}

const canonical = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x,
  );

export function immutableChanges(live: Workload, target: Workload): string[] {
  const changes = claimChanges(live.spec.volumeClaimTemplates, target.spec.volumeClaimTemplates);
  if (canonical(live.spec.selector) !== canonical(target.spec.selector)) changes.push('selector changed');
  if ((live.spec.serviceName ?? '') !== (target.spec.serviceName ?? ''))
    changes.push(`serviceName ${live.spec.serviceName} → ${target.spec.serviceName}`);
  const policy = (w: Workload) => w.spec.podManagementPolicy ?? 'OrderedReady';
  if (policy(live) !== policy(target)) changes.push(`podManagementPolicy ${policy(live)} → ${policy(target)}`);
  return changes;
}

/** Every live StatefulSet that the rendered target chart changes immutably (with what happens to its bound claims). */
export function statefulSetsToRecreate(
  live: readonly Workload[],
  rendered: readonly Workload[],
  namespace: string,
  storage: { claims?: readonly PersistentVolumeClaim[]; classes?: readonly StorageClass[] } = {},
): StatefulSetRecreation[] {
  const result: StatefulSetRecreation[] = [];
  for (const t of rendered) {
    if (t.kind !== 'StatefulSet') continue;
    const l = live.find((x) => x.kind === 'StatefulSet' && x.metadata.name === t.metadata.name && x.metadata.namespace === namespace);
    if (!l) continue;
    const changes = immutableChanges(l, t);
    const claimNotes = changes.length ? notesOnBoundClaims(l, t, storage.claims ?? [], storage.classes ?? []) : [];
    if (changes.length) result.push({ name: t.metadata.name, namespace, changes, ...(claimNotes.length ? { claimNotes } : {}) });
  }
  return result;
}
