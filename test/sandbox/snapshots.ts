// A stand-in for the CSI snapshot machinery (github kubernetes-csi/external-snapshotter: the snapshot-controller and
// the csi-snapshotter sidecar of a CSI driver), for what a Dapr upgrade does with it: snapshot the scheduler's claims
// and wait until each VolumeSnapshot is ready to use. Started by a test; it installs the CRDs itself, so without it
// no snapshot API exists in the sandbox.
//
// What it models, from kubernetes-csi/external-snapshotter:
// - client/config/crd: VolumeSnapshotClass (cluster-scoped, driver and deletionPolicy at the top level, short names
//   vsclass/vsclasses), VolumeSnapshot (namespaced, short name vs, status subresource) and VolumeSnapshotContent
//   (cluster-scoped, short names vsc/vscs, status subresource), served as snapshot.storage.k8s.io/v1 with their
//   printer columns. The schemas here are minimal structural ones that keep unknown fields; the real ones validate
//   every field (and make the sources immutable with CEL rules).
// - pkg/common-controller (the snapshot-controller), for dynamic snapshots (spec.source.persistentVolumeClaimName):
//   checkAndUpdateSnapshotClass first: a named class must exist ("Failed to get snapshot class with error ..."); no
//   class name takes the one default class (annotation snapshot.storage.kubernetes.io/is-default-class: "true") whose
//   driver is the volume's, written into spec.volumeSnapshotClassName. Then createSnapshotContent: the claim must
//   exist ("cannot get claim from snapshot") and be Bound to a PV that points back at it; it creates the
//   VolumeSnapshotContent snapcontent-<snapshot uid> with spec.volumeSnapshotRef (the snapshot's reference, uid
//   and resourceVersion included), spec.source.volumeHandle, driver and deletionPolicy from the class,
//   volumeSnapshotClassName and sourceVolumeMode (the PV's). updateSnapshotStatus copies the content's status into
//   the snapshot's through the status subresource: boundVolumeSnapshotContentName, readyToUse (false until the
//   content is ready), creationTime (from the content's nanoseconds), restoreSize (a binary-SI quantity of its
//   bytes) and error. Errors go to status.error {message, time} (readyToUse false where the real one sets it), and
//   the same message is not written twice.
// - pkg/sidecar-controller (the csi-snapshotter of the class's driver): cuts the snapshot of content.spec.source
//   .volumeHandle and writes the content's status: snapshotHandle, creationTime (Unix nanoseconds), readyToUse true
//   and restoreSize in bytes. Here the "cut" is instant and restoreSize is the claim's capacity; a content whose
//   driver is not the volume's fails (a CSI driver does not know another driver's volumes).
// - Both react to watch events; this one polls every intervalMs instead.
// The sandbox's volumes are kube-controller-manager's hostPath PVs, which the real controller refuses ("cannot find
// CSI PersistentVolumeSource for volume"): here a PV without spec.csi counts as a CSI volume of the driver named by
// its StorageClass's provisioner (kubernetes.io/host-path in the sandbox), with the PV's name as its volume handle,
// so a class for that driver snapshots it. Not modelled: finalizers (on snapshots, contents and source claims, so
// deleting anything never waits for this stand-in), deletion of contents by deletionPolicy, pre-provisioned
// snapshots (spec.source.volumeSnapshotContentName: left alone), group snapshots, secrets, events.
import { KubeApiError, type KubeApi } from './kube-api.js';
import { waitUntil } from './wait.js';

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_API = `/apis/${SNAPSHOT_GROUP}/v1`;
export const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';
const CRD_API = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface VolumeSnapshotClass {
  metadata: Meta;
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
}

export interface SnapshotError {
  message: string;
  time: string;
}

export interface VolumeSnapshotStatus {
  boundVolumeSnapshotContentName?: string;
  creationTime?: string;
  readyToUse?: boolean;
  restoreSize?: string;
  error?: SnapshotError | null;
}

export interface VolumeSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: { volumeSnapshotClassName?: string; source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string } };
  status?: VolumeSnapshotStatus;
}

export interface ContentStatus {
  snapshotHandle?: string;
  creationTime?: number;
  readyToUse?: boolean;
  restoreSize?: number;
  error?: SnapshotError | null;
}

export interface VolumeSnapshotContent {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec: {
    volumeSnapshotRef: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string; resourceVersion?: string };
    source: { volumeHandle?: string; snapshotHandle?: string };
    driver: string;
    deletionPolicy: string;
    volumeSnapshotClassName?: string;
    sourceVolumeMode?: string;
  };
  status?: ContentStatus;
}

export interface Claim {
  metadata: Meta;
  spec: { volumeName?: string; storageClassName?: string };
  status?: { phase?: string; capacity?: { storage?: string } };
}

export interface Volume {
  metadata: Meta;
  spec: {
    csi?: { driver: string; volumeHandle: string };
    claimRef?: { name: string; namespace: string; uid?: string };
    storageClassName?: string;
    volumeMode?: string;
    capacity?: { storage?: string };
  };
}

export interface StorageClassLike {
  metadata: Meta;
  provisioner: string;
}

/** What one pass of the controller sees. */
export interface World {
  classes: VolumeSnapshotClass[];
  contents: VolumeSnapshotContent[];
  claims: Claim[];
  volumes: Volume[];
  storageClasses: StorageClassLike[];
}

/** What the snapshot-controller does next for one VolumeSnapshot. */
export type SnapshotAction =
  | { do: 'nothing' }
  | { do: 'set-class'; className: string }
  | { do: 'error'; message: string; readyToFalse: boolean }
  | { do: 'create-content'; content: VolumeSnapshotContent }
  | { do: 'status'; status: VolumeSnapshotStatus };

/** metav1.Time: RFC 3339 in whole seconds, UTC. */
const metaTime = (t: Date) => t.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** Go's %q of a plain string. */
const quoted = (s: string) => JSON.stringify(s);
const UPDATE_FAIL = 'snapshot controller failed to update';

const BINARY: [string, number][] = [
  ['Ei', 2 ** 60],
  ['Pi', 2 ** 50],
  ['Ti', 2 ** 40],
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
];
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity in bytes (`1Gi`, `500M`, `1073741824`), or undefined. */
export function quantityBytes(text: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(text ?? '');
  if (!m) return undefined;
  const unit = m[2] ? (BINARY.find(([s]) => s === m[2])?.[1] ?? DECIMAL[m[2]]!) : 1;
  return Math.round(Number(m[1]) * unit);
}

/** resource.NewQuantity(bytes, BinarySI).String(): the largest binary suffix that divides it exactly. */
export function binarySI(bytes: number): string {
  for (const [suffix, unit] of BINARY) if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  return String(bytes);
}

/** The CSI driver and volume handle of a PV (see the header for PVs without spec.csi). */
export function csiSource(pv: Volume, world: World): { driver: string; volumeHandle: string } | undefined {
  if (pv.spec.csi) return pv.spec.csi;
  const cls = world.storageClasses.find((s) => s.metadata.name === pv.spec.storageClassName);
  return cls ? { driver: cls.provisioner, volumeHandle: pv.metadata.name } : undefined;
}

/** getVolumeFromVolumeSnapshot: the Bound claim's PV, bound back to it. */
function volumeOf(vs: VolumeSnapshot, world: World): { claim: Claim; pv: Volume } | { error: string } {
  const name = vs.spec.source.persistentVolumeClaimName!;
  const claim = world.claims.find((c) => c.metadata.namespace === vs.metadata.namespace && c.metadata.name === name);
  if (!claim)
    return { error: `failed to retrieve PVC ${name} from the lister: ${quoted(`persistentvolumeclaim ${quoted(name)} not found`)}` };
  if (claim.status?.phase !== 'Bound') return { error: `the PVC ${name} is not yet bound to a PV, will not attempt to take a snapshot` };
  const pvName = claim.spec.volumeName ?? '';
  const pv = world.volumes.find((v) => v.metadata.name === pvName);
  if (!pv)
    return { error: `failed to retrieve PV ${pvName} from the API server: ${quoted(`persistentvolumes ${quoted(pvName)} not found`)}` };
  const ref = pv.spec.claimRef;
  if (!ref || ref.name !== name || ref.namespace !== vs.metadata.namespace || (ref.uid && ref.uid !== claim.metadata.uid))
    return { error: 'claim in dataSource not bound or invalid' };
  return { claim, pv };
}

/** checkAndUpdateSnapshotClass: the class a snapshot uses, or the error status it gets. */
function classCheck(vs: VolumeSnapshot, world: World): SnapshotAction | undefined {
  const named = vs.spec.volumeSnapshotClassName;
  if (named) {
    if (world.classes.some((c) => c.metadata.name === named)) return undefined;
    return {
      do: 'error',
      message: `Failed to get snapshot class with error volumesnapshotclass.${SNAPSHOT_GROUP} ${quoted(named)} not found`,
      readyToFalse: false,
    };
  }
  const fail = (e: string): SnapshotAction => ({
    do: 'error',
    message: `Failed to set default snapshot class with error ${e}`,
    readyToFalse: false,
  });
  const found = volumeOf(vs, world);
  if ('error' in found) return fail(found.error);
  const source = csiSource(found.pv, world);
  if (!source) return fail(`snapshotting non-CSI volumes is not supported, snapshot:${vs.metadata.namespace}/${vs.metadata.name}`);
  const defaults = world.classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' && c.driver === source.driver);
  if (defaults.length === 0) return fail('cannot find default snapshot class');
  if (defaults.length > 1) return fail(`${defaults.length} default snapshot classes were found`);
  return { do: 'set-class', className: defaults[0]!.metadata.name };
}

/** updateSnapshotStatus: the snapshot's status from its content's. */
export function statusFromContent(content: VolumeSnapshotContent): VolumeSnapshotStatus {
  const s = content.status;
  return {
    boundVolumeSnapshotContentName: content.metadata.name,
    readyToUse: s?.readyToUse ?? false,
    ...(s?.creationTime !== undefined ? { creationTime: metaTime(new Date(Math.floor(s.creationTime / 1e6))) } : {}),
    ...(s?.restoreSize !== undefined ? { restoreSize: binarySI(s.restoreSize) } : {}),
    // A ready snapshot has its error cleared (null removes it in a merge patch).
    ...(s?.error ? { error: s.error } : s?.readyToUse ? { error: null } : {}),
  };
}

const sameStatus = (current: VolumeSnapshotStatus | undefined, next: VolumeSnapshotStatus) =>
  Object.entries(next).every(([k, v]) =>
    v === null
      ? current?.[k as keyof VolumeSnapshotStatus] === undefined
      : JSON.stringify(current?.[k as keyof VolumeSnapshotStatus]) === JSON.stringify(v),
  );

/** The snapshot-controller's next move for one VolumeSnapshot (see the header). */
export function syncSnapshot(vs: VolumeSnapshot, world: World): SnapshotAction {
  if (vs.metadata.deletionTimestamp) return { do: 'nothing' };
  const { persistentVolumeClaimName: claimName, volumeSnapshotContentName: contentName } = vs.spec.source;
  if (!claimName === !contentName)
    return {
      do: 'error',
      message: 'Exactly one of PersistentVolumeClaimName and VolumeSnapshotContentName should be specified',
      readyToFalse: true,
    };
  if (contentName) return { do: 'nothing' }; // pre-provisioned: not modelled
  const classAction = classCheck(vs, world);
  if (classAction) return classAction;
  const content = world.contents.find((c) => c.metadata.name === `snapcontent-${vs.metadata.uid}`);
  if (vs.status?.readyToUse && vs.status.boundVolumeSnapshotContentName) {
    if (!world.contents.some((c) => c.metadata.name === vs.status!.boundVolumeSnapshotContentName))
      return { do: 'error', message: 'VolumeSnapshotContent is missing', readyToFalse: true };
    return { do: 'nothing' };
  }
  if (content) {
    const status = statusFromContent(content);
    return sameStatus(vs.status, status) ? { do: 'nothing' } : { do: 'status', status };
  }
  const failed = (e: string): SnapshotAction => ({
    do: 'error',
    message: `Failed to create snapshot content with error ${e}`,
    readyToFalse: true,
  });
  // ensurePVCFinalizer reads the claim before anything else.
  if (!world.claims.some((c) => c.metadata.namespace === vs.metadata.namespace && c.metadata.name === claimName))
    return failed(`${UPDATE_FAIL} ${vs.metadata.name} on API server: cannot get claim from snapshot`);
  const found = volumeOf(vs, world);
  if ('error' in found) return failed(`failed to get input parameters to create snapshot ${vs.metadata.name}: ${quoted(found.error)}`);
  const source = csiSource(found.pv, world);
  if (!source) return failed(`cannot find CSI PersistentVolumeSource for volume ${found.pv.metadata.name}`);
  const cls = world.classes.find((c) => c.metadata.name === vs.spec.volumeSnapshotClassName)!;
  return {
    do: 'create-content',
    content: {
      apiVersion: `${SNAPSHOT_GROUP}/v1`,
      kind: 'VolumeSnapshotContent',
      metadata: { name: `snapcontent-${vs.metadata.uid}` },
      spec: {
        volumeSnapshotRef: {
          apiVersion: `${SNAPSHOT_GROUP}/v1`,
          kind: 'VolumeSnapshot',
          name: vs.metadata.name,
          namespace: vs.metadata.namespace!,
          uid: vs.metadata.uid,
          resourceVersion: vs.metadata.resourceVersion,
        },
        source: { volumeHandle: source.volumeHandle },
        driver: cls.driver,
        deletionPolicy: cls.deletionPolicy,
        volumeSnapshotClassName: cls.metadata.name,
        ...(found.pv.spec.volumeMode ? { sourceVolumeMode: found.pv.spec.volumeMode } : {}),
      },
    },
  };
}

/**
 * The csi-snapshotter's status for a content it has not cut yet (undefined when there is nothing to do): ready at
 * once with the claim's capacity, or an error when the volume is not the driver's (or is gone).
 */
export function cutSnapshot(content: VolumeSnapshotContent, world: World, now: Date): ContentStatus | undefined {
  if (content.metadata.deletionTimestamp || content.status?.readyToUse || content.status?.error) return undefined;
  const handle = content.spec.source.volumeHandle;
  if (!handle) return undefined; // pre-provisioned
  const pv = world.volumes.find((v) => csiSource(v, world)?.volumeHandle === handle);
  const error = (message: string): ContentStatus => ({ error: { message, time: metaTime(now) }, readyToUse: false });
  const failure = `Failed to check and update snapshot content: failed to take snapshot of the volume ${handle}`;
  if (!pv) return error(`${failure}: ${quoted(`rpc error: code = NotFound desc = volume ${handle} not found`)}`);
  const driver = csiSource(pv, world)!.driver;
  if (driver !== content.spec.driver)
    return error(
      `${failure}: ${quoted(`rpc error: code = NotFound desc = volume ${handle} is a ${driver} volume, not ${content.spec.driver}'s`)}`,
    );
  const claim = world.claims.find(
    (c) => c.metadata.name === pv.spec.claimRef?.name && c.metadata.namespace === pv.spec.claimRef?.namespace,
  );
  const size = quantityBytes(claim?.status?.capacity?.storage ?? pv.spec.capacity?.storage);
  return {
    snapshotHandle: `snapshot-${content.metadata.uid ?? content.metadata.name}`,
    creationTime: now.getTime() * 1e6,
    readyToUse: true,
    ...(size !== undefined ? { restoreSize: size } : {}),
  };
}

export interface SnapshotControllerOptions {
  api: KubeApi;
  /** How often snapshots and contents are reconciled. Default 250 ms. */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface SnapshotControllerHandle {
  stop(): Promise<void>;
}

type Api = Pick<KubeApi, 'get' | 'raw'>;

/** One pass over every VolumeSnapshot and VolumeSnapshotContent; exported for unit tests with a fake API. */
export class SnapshotController {
  readonly #api: Api;
  readonly #log: (line: string) => void;

  constructor(api: Api, log: (line: string) => void = () => {}) {
    this.#api = api;
    this.#log = log;
  }

  async reconcileAll(now: Date = new Date()): Promise<void> {
    const list = async <T>(path: string) => (await this.#api.get<{ items?: T[] }>(path)).items ?? [];
    const [snapshots, contents] = await Promise.all([
      list<VolumeSnapshot>(`${SNAPSHOT_API}/volumesnapshots`),
      list<VolumeSnapshotContent>(`${SNAPSHOT_API}/volumesnapshotcontents`),
    ]);
    if (!snapshots.length && !contents.length) return;
    const [classes, claims, volumes, storageClasses] = await Promise.all([
      list<VolumeSnapshotClass>(`${SNAPSHOT_API}/volumesnapshotclasses`),
      list<Claim>('/api/v1/persistentvolumeclaims'),
      list<Volume>('/api/v1/persistentvolumes'),
      list<StorageClassLike>('/apis/storage.k8s.io/v1/storageclasses'),
    ]);
    const world: World = { classes, contents, claims, volumes, storageClasses };
    // The sidecar first, so a snapshot whose content was cut in this pass reads its status below.
    for (const content of contents) {
      const status = cutSnapshot(content, world, now);
      if (!status) continue;
      await this.#mergePatch(`${SNAPSHOT_API}/volumesnapshotcontents/${content.metadata.name}/status`, { status });
      content.status = { ...content.status, ...status };
      this.#log(`snapshots: content ${content.metadata.name} ${status.readyToUse ? 'ready' : `failed: ${status.error?.message}`}`);
    }
    for (const vs of snapshots) {
      try {
        await this.#sync(vs, world);
      } catch (err) {
        this.#log(`snapshots ${vs.metadata.namespace}/${vs.metadata.name}: ${String(err)}`);
      }
    }
  }

  async #sync(vs: VolumeSnapshot, world: World): Promise<void> {
    const path = `${SNAPSHOT_API}/namespaces/${vs.metadata.namespace}/volumesnapshots/${vs.metadata.name}`;
    const action = syncSnapshot(vs, world);
    switch (action.do) {
      case 'nothing':
        return;
      case 'set-class':
        await this.#mergePatch(path, { spec: { volumeSnapshotClassName: action.className } });
        this.#log(`snapshots ${vs.metadata.namespace}/${vs.metadata.name}: default class ${action.className}`);
        return;
      case 'error':
        if (vs.status?.error?.message === action.message) return;
        await this.#mergePatch(`${path}/status`, {
          status: { error: { message: action.message, time: metaTime(new Date()) }, ...(action.readyToFalse ? { readyToUse: false } : {}) },
        });
        this.#log(`snapshots ${vs.metadata.namespace}/${vs.metadata.name}: ${action.message}`);
        return;
      case 'create-content': {
        const res = await this.#api.raw('POST', `${SNAPSHOT_API}/volumesnapshotcontents`, action.content);
        if (res.status !== 409 && (res.status < 200 || res.status >= 300))
          throw new KubeApiError('POST', 'volumesnapshotcontents', res.status, res.body);
        world.contents.push(action.content);
        await this.#mergePatch(`${path}/status`, { status: statusFromContent(action.content) });
        this.#log(`snapshots ${vs.metadata.namespace}/${vs.metadata.name}: created ${action.content.metadata.name}`);
        return;
      }
      case 'status':
        await this.#mergePatch(`${path}/status`, { status: action.status });
        if (action.status.readyToUse) this.#log(`snapshots ${vs.metadata.namespace}/${vs.metadata.name}: ready to use`);
        return;
    }
  }

  async #mergePatch(path: string, body: unknown): Promise<void> {
    const res = await this.#api.raw('PATCH', path, body, 5_000, 'application/merge-patch+json');
    if (res.status < 200 || res.status >= 300) throw new KubeApiError('PATCH', path, res.status, res.body);
  }
}

/** Installs the three CRDs (if absent) and runs the controller until stop(). */
export async function startSnapshotController(opts: SnapshotControllerOptions): Promise<SnapshotControllerHandle> {
  const log = opts.log ?? (() => {});
  await installSnapshotCrds(opts.api);
  const controller = new SnapshotController(opts.api, log);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick = controller
        .reconcileAll()
        .catch((err: unknown) => log(`snapshots: ${String(err)}`)) // the apiserver may be down for a moment
        .finally(schedule);
    }, opts.intervalMs ?? 250);
    timer.unref(); // never keeps a test process alive on its own
  };
  schedule();
  log('snapshots: snapshot-controller stand-in running');
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await tick;
    },
  };
}

/** A VolumeSnapshotClass (the CRDs installed first when absent); `default` sets the default-class annotation. */
export async function installSnapshotClass(
  api: KubeApi,
  o: { name: string; driver: string; default?: boolean; deletionPolicy?: 'Delete' | 'Retain' },
): Promise<void> {
  await installSnapshotCrds(api);
  await api.create(`${SNAPSHOT_API}/volumesnapshotclasses`, {
    apiVersion: `${SNAPSHOT_GROUP}/v1`,
    kind: 'VolumeSnapshotClass',
    metadata: { name: o.name, ...(o.default ? { annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } } : {}) },
    driver: o.driver,
    deletionPolicy: o.deletionPolicy ?? 'Delete',
  });
}

const column = (name: string, jsonPath: string, type: string, priority?: number) => ({
  name,
  jsonPath,
  type,
  ...(priority ? { priority } : {}),
});
const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

/** The three CRDs as client/config/crd declares them (names, scope, subresources, columns; minimal schemas). */
export function snapshotCrds(): object[] {
  const crd = (
    kind: string,
    plural: string,
    shortNames: string[],
    scope: string,
    o: { status: boolean; columns: object[]; schema: object },
  ) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    // *.k8s.io groups are protected: the real CRDs carry this approval (external-snapshotter client/config/crd).
    metadata: {
      name: `${plural}.${SNAPSHOT_GROUP}`,
      annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/665' },
    },
    spec: {
      group: SNAPSHOT_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      scope,
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          additionalPrinterColumns: o.columns,
          schema: { openAPIV3Schema: o.schema },
          subresources: o.status ? { status: {} } : {},
        },
      ],
    },
  });
  const base = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
  return [
    crd('VolumeSnapshotClass', 'volumesnapshotclasses', ['vsclass', 'vsclasses'], 'Cluster', {
      status: false,
      columns: [
        column('Driver', '.driver', 'string'),
        column('DeletionPolicy', '.deletionPolicy', 'string'),
        column('Age', '.metadata.creationTimestamp', 'date'),
      ],
      schema: {
        type: 'object',
        required: ['deletionPolicy', 'driver'],
        properties: {
          ...base,
          driver: { type: 'string' },
          deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] },
          parameters: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    }),
    crd('VolumeSnapshot', 'volumesnapshots', ['vs'], 'Namespaced', {
      status: true,
      columns: [
        column('ReadyToUse', '.status.readyToUse', 'boolean'),
        column('SourcePVC', '.spec.source.persistentVolumeClaimName', 'string'),
        column('SourceSnapshotContent', '.spec.source.volumeSnapshotContentName', 'string'),
        column('RestoreSize', '.status.restoreSize', 'string'),
        column('SnapshotClass', '.spec.volumeSnapshotClassName', 'string'),
        column('SnapshotContent', '.status.boundVolumeSnapshotContentName', 'string'),
        column('CreationTime', '.status.creationTime', 'date'),
        column('Age', '.metadata.creationTimestamp', 'date'),
      ],
      schema: {
        type: 'object',
        required: ['spec'],
        properties: {
          ...base,
          spec: { ...open, required: ['source'], properties: { source: open, volumeSnapshotClassName: { type: 'string' } } },
          status: open,
        },
      },
    }),
    crd('VolumeSnapshotContent', 'volumesnapshotcontents', ['vsc', 'vscs'], 'Cluster', {
      status: true,
      columns: [
        column('ReadyToUse', '.status.readyToUse', 'boolean'),
        column('RestoreSize', '.status.restoreSize', 'integer'),
        column('DeletionPolicy', '.spec.deletionPolicy', 'string'),
        column('Driver', '.spec.driver', 'string'),
        column('VolumeSnapshotClass', '.spec.volumeSnapshotClassName', 'string'),
        column('VolumeSnapshot', '.spec.volumeSnapshotRef.name', 'string'),
        column('VolumeSnapshotNamespace', '.spec.volumeSnapshotRef.namespace', 'string'),
        column('Age', '.metadata.creationTimestamp', 'date'),
      ],
      schema: {
        type: 'object',
        required: ['spec'],
        properties: {
          ...base,
          spec: { ...open, required: ['deletionPolicy', 'driver', 'source', 'volumeSnapshotRef'] },
          status: {
            ...open,
            properties: { creationTime: { type: 'integer', format: 'int64' }, restoreSize: { type: 'integer', format: 'int64' } },
          },
        },
      },
    }),
  ];
}

/** Creates the CRDs (409 is fine: a second stand-in or a re-run) and waits until the apiserver serves all three. */
export async function installSnapshotCrds(api: KubeApi): Promise<void> {
  for (const crd of snapshotCrds()) await api.create(CRD_API, crd);
  await waitUntil(
    async () => {
      for (const plural of ['volumesnapshotclasses', 'volumesnapshots', 'volumesnapshotcontents']) {
        const crd = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `${CRD_API}/${plural}.${SNAPSHOT_GROUP}`,
        );
        if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return false;
        if ((await api.raw('GET', `${SNAPSHOT_API}/${plural}?limit=1`)).status !== 200) return false;
      }
      return true;
    },
    30_000,
    'the snapshot.storage.k8s.io CRDs were never established',
  );
}
