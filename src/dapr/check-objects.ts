// What the production checks read beyond discovery: disruption budgets, Components, Configurations, namespaces,
// claims and StorageClasses. Discovery folds them into its own `kubectl get -A` when asked (plan, check), so they
// cost no process of their own; readCheckObjects reads them alone.
import type { K8sObject, LabelSelector, PersistentVolumeClaim, StorageClass } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';

export interface PodDisruptionBudget extends K8sObject {
  spec: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
}

export interface ComponentMetadataItem {
  name: string;
  value?: unknown;
  secretKeyRef?: { name: string; key?: string };
  envRef?: string;
}

export interface DaprComponent extends K8sObject {
  spec?: { type?: string; version?: string; metadata?: ComponentMetadataItem[] };
  auth?: { secretStore?: string };
  scopes?: string[];
}

export interface DaprConfiguration extends K8sObject {
  spec?: {
    mtls?: { enabled?: boolean };
    tracing?: { samplingRate?: string; otel?: { endpointAddress?: string }; zipkin?: { endpointAddress?: string } };
    metric?: { enabled?: boolean };
  };
}

export type Namespace = K8sObject;

/** The objects the checks read beyond what discovery already has. */
export interface CheckObjects {
  pdbs: PodDisruptionBudget[];
  components: DaprComponent[];
  configurations: DaprConfiguration[];
  namespaces: Namespace[];
  /** Bound claims (the scheduler's hold its data; their size is theirs, not the StatefulSet template's). */
  claims: PersistentVolumeClaim[];
  storageClasses: StorageClass[];
  unreadable: string[];
}

export const EXTRA: readonly { key: keyof Omit<CheckObjects, 'unreadable'>; resource: string; kind: string; name: string }[] = [
  { key: 'pdbs', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', name: 'poddisruptionbudgets' },
  { key: 'components', resource: 'components.dapr.io', kind: 'Component', name: 'components' },
  { key: 'configurations', resource: 'configurations.dapr.io', kind: 'Configuration', name: 'configurations' },
  { key: 'namespaces', resource: 'namespaces', kind: 'Namespace', name: 'namespaces' },
  { key: 'claims', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', name: 'persistentvolumeclaims' },
  { key: 'storageClasses', resource: 'storageclasses', kind: 'StorageClass', name: 'storageclasses' },
];

/**
 * One `kubectl get poddisruptionbudgets,components.dapr.io,configurations.dapr.io,namespaces,persistentvolumeclaims,storageclasses -A`. When that fails
 * (a missing permission or CRD fails the whole call) each kind is read alone, so one gap does not hide the rest.
 */
export async function readCheckObjects(kubectl: Kubectl): Promise<CheckObjects> {
  const out: CheckObjects = {
    pdbs: [],
    components: [],
    configurations: [],
    namespaces: [],
    claims: [],
    storageClasses: [],
    unreadable: [],
  };
  const assign = (items: K8sObject[]) => {
    for (const e of EXTRA) (out[e.key] as K8sObject[]).push(...items.filter((i) => i.kind === e.kind));
  };
  try {
    assign(await kubectl.list<K8sObject>(EXTRA.map((e) => e.resource).join(','), { allNamespaces: true }));
  } catch {
    await Promise.all(
      EXTRA.map(async (e) => {
        try {
          assign(await kubectl.list<K8sObject>(e.resource, { allNamespaces: true }));
        } catch {
          out.unreadable.push(e.name);
        }
      }),
    );
  }
  return out;
}

/** The check objects among the items of a combined `kubectl get` (kinds not listed are left out). */
export function checkObjectsIn(items: readonly K8sObject[]): CheckObjects {
  const out: CheckObjects = {
    pdbs: [],
    components: [],
    configurations: [],
    namespaces: [],
    claims: [],
    storageClasses: [],
    unreadable: [],
  };
  for (const e of EXTRA) (out[e.key] as K8sObject[]).push(...items.filter((i) => i.kind === e.kind));
  return out;
}

/** The resources of the combined read, as kubectl takes them. */
export const CHECK_RESOURCES = EXTRA.map((e) => e.resource).join(',');
