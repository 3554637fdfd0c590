// The few fields of Kubernetes objects daprup reads. Parsed from `kubectl get -o json`.
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  restartPolicy?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  priorityClassName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { seccompProfile?: { type?: string } };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface VolumeClaimTemplate {
  metadata: { name: string };
  spec: {
    accessModes?: string[];
    storageClassName?: string;
    resources?: { requests?: { storage?: string } };
  };
}

/** A bound (or pending) claim: its size is its own once created, whatever the StatefulSet's template says later. */
export interface PersistentVolumeClaim extends K8sObject {
  spec: VolumeClaimTemplate['spec'];
  status?: { phase?: string; capacity?: { storage?: string } };
}

export interface StorageClass extends K8sObject {
  provisioner?: string;
  allowVolumeExpansion?: boolean;
}

/** What rolls pods from a template: the apps/v1 kinds, and Argo Rollouts (argoproj.io/v1alpha1) where installed. */
export interface Workload extends K8sObject {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout';
  spec: {
    replicas?: number;
    /** Deployment: `rollout restart` is rejected while paused. Rollout: paused too. */
    paused?: boolean;
    /** StatefulSet and DaemonSet: OnDelete ones never roll by themselves. */
    updateStrategy?: { type?: string };
    /** Argo Rollout: pods created before this time are restarted by the Rollouts controller. */
    restartAt?: string;
    selector: LabelSelector;
    template: PodTemplate;
    serviceName?: string;
    podManagementPolicy?: string;
    volumeClaimTemplates?: VolumeClaimTemplate[];
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    /** Argo Rollout: the restartAt it finished, and Healthy/Progressing/Paused/Degraded. */
    restartedAt?: string;
    phase?: string;
  };
}

/** A Job (its pods run to completion) or a CronJob (which makes Jobs from a template). */
export interface BatchObject extends K8sObject {
  kind: 'Job' | 'CronJob';
  spec: {
    template?: PodTemplate;
    jobTemplate?: { spec: { template: PodTemplate } };
  };
}

export interface Pod extends K8sObject {
  kind: 'Pod';
  spec: PodSpec & { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export const podReady = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export interface Secret extends K8sObject {
  data?: Record<string, string>;
}

export interface ConfigMap extends K8sObject {
  data?: Record<string, string>;
}

export interface List<T> {
  items: T[];
}

/** Does a pod's label set match a workload's selector? */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(value!))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(value!)) return false;
  }
  return true;
}

export const workloadKey = (w: { kind: string; metadata: ObjectMeta }) => `${w.kind}/${w.metadata.namespace}/${w.metadata.name}`;
