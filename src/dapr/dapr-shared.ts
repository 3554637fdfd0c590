// Dapr Shared (github dapr/dapr-shared, chart dapr-shared-chart): daprd run as its own DaemonSet or Deployment, one
// Helm release per app id, without the injector. Its runtime version is the release's shared.daprd.image.tag alone,
// so a restart never moves it: the release itself is upgraded, with its other values kept.
import { imageTag, runtimeVersionOfTag } from './chart.js';
import type { DataPlaneWorkload } from './data-plane.js';
import type { SharedReleaseFacts } from './discovery.js';

export const SHARED_TAG_VALUE = 'shared.daprd.image.tag';
/** The chart's published home (an OCI chart); --shared-chart points elsewhere (a mirror, a directory). */
export const DEFAULT_SHARED_CHART = 'oci://registry-1.docker.io/daprio/dapr-shared-chart';

export interface SharedDaprd extends SharedReleaseFacts {
  /** The DaemonSet or Deployment the release runs (undefined when it runs none). */
  workload?: DataPlaneWorkload;
  /** The daprd image tag of its pod template (variant suffix included), and the runtime version that is. */
  tag?: string;
  version?: string;
  /** --sentry-address of its daprd, and whether mTLS is on (--enable-mtls). */
  sentryAddress?: string;
  mtls?: boolean;
}

/** Each Dapr Shared release with the daprd it runs (found among the data plane by the release's annotation). */
export function sharedDaprd(releases: readonly SharedReleaseFacts[], dataPlane: readonly DataPlaneWorkload[]): SharedDaprd[] {
  return releases.map((r) => {
    const workload = dataPlane.find((w) => w.method === 'template' && w.namespace === r.namespace && w.helmRelease === r.name);
    const tag = imageTag(workload?.templateImage);
    return { ...r, workload, tag, version: runtimeVersionOfTag(tag), sentryAddress: workload?.sentryAddress, mtls: workload?.mtls };
  });
}

/** The tag that runs `target` in the release's variant (1.15.7-mariner → 1.17.13-mariner). */
export function sharedTagFor(current: string | undefined, target: string): string {
  const variant = current && runtimeVersionOfTag(current) !== current ? current.slice(runtimeVersionOfTag(current)!.length) : '';
  return `${target}${variant}`;
}

/** Dapr Shared releases whose daprd is not at `target` (pods or template), with the tag each moves to. */
export function sharedBehind(shared: readonly SharedDaprd[], target: string): (SharedDaprd & { targetTag: string })[] {
  return shared
    .filter((s) => s.workload && (s.version !== target || s.workload.sidecarVersions.some((v) => v !== target)))
    .map((s) => ({ ...s, targetTag: sharedTagFor(s.tag, target) }));
}

/** Dapr ≥ 1.14 serves Sentry on 443 only; dapr-shared's default address still says 80. */
export function sentryOnPort80(address: string | undefined): boolean {
  return !!address && /:80$/.test(address);
}
