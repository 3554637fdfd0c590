// Facts about the Dapr Helm chart (github dapr/helm-charts), named as the chart names them.
export const DEFAULT_CHART = 'dapr/dapr';
export const DAPR_REPO = { name: 'dapr', url: 'https://dapr.github.io/helm-charts/' } as const;
export const DEFAULT_NAMESPACE = 'dapr-system';

export interface ControlPlaneComponent {
  name: string;
  kind: 'Deployment' | 'StatefulSet';
  component: string;
}

export const CONTROL_PLANE: readonly ControlPlaneComponent[] = [
  { name: 'dapr-operator', kind: 'Deployment', component: 'operator' },
  { name: 'dapr-sentry', kind: 'Deployment', component: 'sentry' },
  { name: 'dapr-sidecar-injector', kind: 'Deployment', component: 'sidecar-injector' },
  { name: 'dapr-placement-server', kind: 'StatefulSet', component: 'placement' },
  { name: 'dapr-scheduler-server', kind: 'StatefulSet', component: 'scheduler' },
];

/**
 * A control-plane component's Deployment or StatefulSet: its name and kind, and its namespace when one is given (an
 * app may reuse a name, or the kind: a DaemonSet called dapr-sentry is data plane).
 */
export function isControlPlaneWorkload(w: { kind: string; metadata: { name: string; namespace?: string } }, namespace?: string): boolean {
  if (namespace !== undefined && w.metadata.namespace !== namespace) return false;
  return CONTROL_PLANE.some((c) => c.name === w.metadata.name && c.kind === w.kind);
}

export const PART_OF_SELECTOR = 'app.kubernetes.io/part-of=dapr';
export const TRUST_BUNDLE = 'dapr-trust-bundle';
export const SYSTEM_CONFIGURATION = 'daprsystem';

/** The three values that make the chart render the trust bundle instead of letting Sentry make a new one. */
export const TLS_VALUES = {
  rootCert: 'dapr_sentry.tls.root.certPEM',
  issuerCert: 'dapr_sentry.tls.issuer.certPEM',
  issuerKey: 'dapr_sentry.tls.issuer.keyPEM',
} as const;

export const HA_VALUE = 'global.ha.enabled';
/** The image tag of every control-plane component (and the injector's SIDECAR_IMAGE); variants carry a suffix. */
export const TAG_VALUE = 'global.tag';

/** Custom resources backed up before an upgrade (group dapr.io). */
export const DAPR_RESOURCES = ['components', 'configurations', 'subscriptions', 'resiliencies', 'httpendpoints'] as const;

// Pod template annotations and labels of the data plane.
export const ANNOTATION_ENABLED = 'dapr.io/enabled';
export const ANNOTATION_SIDECAR_IMAGE = 'dapr.io/sidecar-image';
export const ANNOTATION_APP_ID = 'dapr.io/app-id';
export const SIDECAR_CONTAINER = 'daprd';

// Signs that a release belongs to a GitOps controller, which would undo or fight a manual upgrade.
export const GITOPS_MARKERS = [
  'argocd.argoproj.io/instance',
  'argocd.argoproj.io/tracking-id',
  'helm.toolkit.fluxcd.io/name',
  'kustomize.toolkit.fluxcd.io/name',
] as const;

/** The tag of an image reference (`ghcr.io/dapr/daprd:1.16.19` → `1.16.19`), ignoring digests. */
export function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : undefined;
}

/** `ghcr.io/dapr/daprd:1.16.19-mariner` runs runtime 1.16.19: image variants are not versions. */
export function runtimeVersionOfTag(tag: string | undefined): string | undefined {
  return tag?.replace(/-(mariner|stablecomponents|distroless)$/, '');
}
