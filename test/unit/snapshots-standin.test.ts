// The CSI snapshot stand-in's rules (test/sandbox/snapshots.ts), checked against the real snapshot-controller and
// csi-snapshotter (kubernetes-csi/external-snapshotter pkg/common-controller, pkg/sidecar-controller): which class a
// snapshot gets, the VolumeSnapshotContent it creates, the status it ends with, and the errors that keep it unready.
// The controller's passes run against an in-memory API (paths, merge patches, the status subresource).
import { describe, expect, it } from 'vitest';
import {
  binarySI,
  cutSnapshot,
  quantityBytes,
  SNAPSHOT_API,
  SnapshotController,
  snapshotCrds,
  syncSnapshot,
  type Claim,
  type Volume,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
  type World,
} from '../sandbox/snapshots.js';

const NS = 'dapr-system';
const NOW = new Date('2026-08-21T12:00:05.123Z');
const HOSTPATH = 'kubernetes.io/host-path';

const cls = (name: string, driver = HOSTPATH, isDefault = false): VolumeSnapshotClass => ({
  metadata: { name, ...(isDefault ? { annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } } : {}) },
  driver,
  deletionPolicy: 'Retain',
});
const claim = (name: string, o: { phase?: string; volume?: string } = {}): Claim => ({
  metadata: { name, namespace: NS, uid: `${name}-uid` },
  spec: { volumeName: o.volume ?? `pv-${name}`, storageClassName: 'standard' },
  status: { phase: o.phase ?? 'Bound', capacity: { storage: '1Gi' } },
});
const volume = (claimName: string, csi?: { driver: string; volumeHandle: string }): Volume => ({
  metadata: { name: `pv-${claimName}` },
  spec: {
    ...(csi ? { csi } : {}),
    claimRef: { name: claimName, namespace: NS, uid: `${claimName}-uid` },
    storageClassName: 'standard',
    volumeMode: 'Filesystem',
    capacity: { storage: '1Gi' },
  },
});
const snapshot = (name: string, source: string, className?: string): VolumeSnapshot => ({
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshot',
  metadata: { name, namespace: NS, uid: `${name}-uid`, resourceVersion: '7' },
  spec: { ...(className ? { volumeSnapshotClassName: className } : {}), source: { persistentVolumeClaimName: source } },
});
const world = (o: Partial<World> = {}): World => ({
  classes: [cls('hostpath-snap')],
  contents: [],
  claims: [claim('data-0')],
  volumes: [volume('data-0')],
  storageClasses: [{ metadata: { name: 'standard' }, provisioner: HOSTPATH }],
  ...o,
});

describe('snapshot stand-in: quantities', () => {
  it('restoreSize is a binary-SI quantity of bytes, as resource.NewQuantity(n, BinarySI) prints it', () => {
    expect(binarySI(2 ** 30)).toBe('1Gi');
    expect(binarySI(16 * 2 ** 30)).toBe('16Gi');
    expect(binarySI(1536 * 2 ** 20)).toBe('1536Mi');
    expect(binarySI(1500)).toBe('1500');
    expect(quantityBytes('1Gi')).toBe(2 ** 30);
    expect(quantityBytes('500M')).toBe(5e8);
    expect(quantityBytes('12')).toBe(12);
    expect(quantityBytes('lots')).toBeUndefined();
  });
});

describe('snapshot stand-in: snapshot-controller', () => {
  it('creates snapcontent-<uid> with the reference, the volume handle and the class driver and deletion policy', () => {
    const action = syncSnapshot(snapshot('s', 'data-0', 'hostpath-snap'), world());
    expect(action).toEqual({
      do: 'create-content',
      content: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotContent',
        metadata: { name: 'snapcontent-s-uid' },
        spec: {
          volumeSnapshotRef: {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshot',
            name: 's',
            namespace: NS,
            uid: 's-uid',
            resourceVersion: '7',
          },
          // A hostPath PV stands in for a CSI volume of its StorageClass's provisioner, handle = PV name.
          source: { volumeHandle: 'pv-data-0' },
          driver: HOSTPATH,
          deletionPolicy: 'Retain',
          volumeSnapshotClassName: 'hostpath-snap',
          sourceVolumeMode: 'Filesystem',
        },
      },
    });
    const csi = world({
      volumes: [volume('data-0', { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc' })],
      classes: [cls('ebs', 'ebs.csi.aws.com')],
    });
    expect(syncSnapshot(snapshot('s', 'data-0', 'ebs'), csi)).toMatchObject({
      content: { spec: { source: { volumeHandle: 'vol-0abc' }, driver: 'ebs.csi.aws.com' } },
    });
  });

  it('keeps a snapshot unready with the real error when its claim or class is missing, or the claim is not bound', () => {
    expect(syncSnapshot(snapshot('s', 'gone', 'hostpath-snap'), world())).toEqual({
      do: 'error',
      message:
        'Failed to create snapshot content with error snapshot controller failed to update s on API server: cannot get claim from snapshot',
      readyToFalse: true,
    });
    expect(syncSnapshot(snapshot('s', 'data-0', 'nope'), world())).toEqual({
      do: 'error',
      message: 'Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "nope" not found',
      readyToFalse: false,
    });
    expect(syncSnapshot(snapshot('s', 'data-0', 'hostpath-snap'), world({ claims: [claim('data-0', { phase: 'Pending' })] }))).toEqual({
      do: 'error',
      message:
        'Failed to create snapshot content with error failed to get input parameters to create snapshot s: "the PVC data-0 is not yet bound to a PV, will not attempt to take a snapshot"',
      readyToFalse: true,
    });
  });

  it('without a class name takes the one default class of the volume’s driver', () => {
    const classes = [cls('other', 'ebs.csi.aws.com', true), cls('hp', HOSTPATH, true)];
    expect(syncSnapshot(snapshot('s', 'data-0'), world({ classes }))).toEqual({ do: 'set-class', className: 'hp' });
    expect(syncSnapshot(snapshot('s', 'data-0'), world({ classes: [cls('hp')] }))).toMatchObject({
      message: 'Failed to set default snapshot class with error cannot find default snapshot class',
    });
    expect(syncSnapshot(snapshot('s', 'data-0'), world({ classes: [cls('a', HOSTPATH, true), cls('b', HOSTPATH, true)] }))).toMatchObject({
      message: 'Failed to set default snapshot class with error 2 default snapshot classes were found',
    });
  });

  it('copies the content status: bound and unready first, then ready with creationTime and restoreSize', () => {
    const content: VolumeSnapshotContent = {
      metadata: { name: 'snapcontent-s-uid' },
      spec: {
        volumeSnapshotRef: { apiVersion: 'v', kind: 'VolumeSnapshot', name: 's', namespace: NS },
        source: { volumeHandle: 'pv-data-0' },
        driver: HOSTPATH,
        deletionPolicy: 'Retain',
      },
    };
    const vs = snapshot('s', 'data-0', 'hostpath-snap');
    expect(syncSnapshot(vs, world({ contents: [content] }))).toEqual({
      do: 'status',
      status: { boundVolumeSnapshotContentName: 'snapcontent-s-uid', readyToUse: false },
    });
    content.status = cutSnapshot(content, world(), NOW);
    expect(syncSnapshot(vs, world({ contents: [content] }))).toEqual({
      do: 'status',
      status: {
        boundVolumeSnapshotContentName: 'snapcontent-s-uid',
        readyToUse: true,
        creationTime: '2026-08-21T12:00:05Z',
        restoreSize: '1Gi',
        error: null,
      },
    });
    vs.status = {
      boundVolumeSnapshotContentName: 'snapcontent-s-uid',
      readyToUse: true,
      creationTime: '2026-08-21T12:00:05Z',
      restoreSize: '1Gi',
    };
    expect(syncSnapshot(vs, world({ contents: [content] }))).toEqual({ do: 'nothing' });
    expect(syncSnapshot(vs, world())).toEqual({ do: 'error', message: 'VolumeSnapshotContent is missing', readyToFalse: true });
  });
});

describe('snapshot stand-in: csi-snapshotter', () => {
  const content = (driver: string): VolumeSnapshotContent => ({
    metadata: { name: 'snapcontent-s-uid', uid: 'c-uid' },
    spec: {
      volumeSnapshotRef: { apiVersion: 'v', kind: 'VolumeSnapshot', name: 's', namespace: NS },
      source: { volumeHandle: 'pv-data-0' },
      driver,
      deletionPolicy: 'Retain',
    },
  });

  it('cuts the snapshot: handle, creation time in Unix nanoseconds, ready, the claim capacity in bytes', () => {
    expect(cutSnapshot(content(HOSTPATH), world(), NOW)).toEqual({
      snapshotHandle: 'snapshot-c-uid',
      creationTime: NOW.getTime() * 1e6,
      readyToUse: true,
      restoreSize: 2 ** 30,
    });
    expect(cutSnapshot({ ...content(HOSTPATH), status: { readyToUse: true } }, world(), NOW)).toBeUndefined();
  });

  it("fails a content whose driver is not the volume's, which then never becomes ready", () => {
    const failed = cutSnapshot(content('ebs.csi.aws.com'), world(), NOW);
    expect(failed?.readyToUse).toBe(false);
    expect(failed?.error?.message).toContain('failed to take snapshot of the volume pv-data-0');
    expect(cutSnapshot({ ...content('ebs.csi.aws.com'), status: failed }, world(), NOW)).toBeUndefined();
  });
});

describe('snapshot stand-in: CRDs', () => {
  it('serves the three kinds as snapshot.storage.k8s.io/v1, with the status subresource where the real CRDs have it', () => {
    const crds = snapshotCrds() as {
      metadata: { name: string };
      spec: { scope: string; names: { shortNames: string[] }; versions: { subresources: object }[] };
    }[];
    expect(crds.map((c) => [c.metadata.name, c.spec.scope, c.spec.names.shortNames, c.spec.versions[0]!.subresources])).toEqual([
      ['volumesnapshotclasses.snapshot.storage.k8s.io', 'Cluster', ['vsclass', 'vsclasses'], {}],
      ['volumesnapshots.snapshot.storage.k8s.io', 'Namespaced', ['vs'], { status: {} }],
      ['volumesnapshotcontents.snapshot.storage.k8s.io', 'Cluster', ['vsc', 'vscs'], { status: {} }],
    ]);
  });
});

/** Just enough of the API server: lists by path, POST of contents, merge patches (status only through /status). */
class FakeApi {
  uid = 0;
  constructor(readonly objects: { snapshots: VolumeSnapshot[]; contents: VolumeSnapshotContent[]; world: World }) {}

  async get<T>(path: string): Promise<T> {
    const { snapshots, contents, world } = this.objects;
    const lists: Record<string, unknown[]> = {
      [`${SNAPSHOT_API}/volumesnapshots`]: snapshots,
      [`${SNAPSHOT_API}/volumesnapshotcontents`]: contents,
      [`${SNAPSHOT_API}/volumesnapshotclasses`]: world.classes,
      '/api/v1/persistentvolumeclaims': world.claims,
      '/api/v1/persistentvolumes': world.volumes,
      '/apis/storage.k8s.io/v1/storageclasses': world.storageClasses,
    };
    if (!lists[path]) throw new Error(`GET ${path}`);
    return { items: structuredClone(lists[path]) } as T;
  }

  async raw(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const { snapshots, contents } = this.objects;
    if (method === 'POST' && path === `${SNAPSHOT_API}/volumesnapshotcontents`) {
      const c = structuredClone(body) as VolumeSnapshotContent;
      if (contents.some((x) => x.metadata.name === c.metadata.name)) return { status: 409, body: '' };
      c.metadata.uid = `uid-${++this.uid}`;
      delete c.status; // the status subresource ignores status on create
      contents.push(c);
      return { status: 201, body: JSON.stringify(c) };
    }
    const m =
      /^\/apis\/snapshot\.storage\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?(volumesnapshots|volumesnapshotcontents)\/([^/]+)(\/status)?$/.exec(
        path,
      );
    if (method !== 'PATCH' || !m) throw new Error(`${method} ${path}`);
    const [, ns, kind, name, status] = m;
    const target = (kind === 'volumesnapshots' ? snapshots : contents).find(
      (o: { metadata: { name: string; namespace?: string } }) => o.metadata.name === name && o.metadata.namespace === ns,
    ) as Record<string, unknown> | undefined;
    if (!target) return { status: 404, body: '' };
    const patch = body as Record<string, unknown>;
    if (status) target.status = merge(target.status, patch.status);
    else for (const [k, v] of Object.entries(patch)) if (k !== 'status') target[k] = merge(target[k], v);
    return { status: 200, body: JSON.stringify(target) };
  }
}

/** RFC 7386 merge patch. */
function merge(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

describe('snapshot stand-in: controller passes', () => {
  it('takes a snapshot of a bound claim to ready, and leaves one of a missing claim with its error, never ready', async () => {
    const w = world();
    const good = snapshot('good', 'data-0', 'hostpath-snap');
    const bad = snapshot('bad', 'missing', 'hostpath-snap');
    const noClass = snapshot('noclass', 'data-0', 'gone');
    const api = new FakeApi({ snapshots: [good, bad, noClass], contents: [], world: w });
    const controller = new SnapshotController(api);
    for (let i = 0; i < 4; i++) await controller.reconcileAll(NOW);
    const { snapshots, contents } = api.objects;
    expect(snapshots[0]!.status).toEqual({
      boundVolumeSnapshotContentName: 'snapcontent-good-uid',
      readyToUse: true,
      creationTime: '2026-08-21T12:00:05Z',
      restoreSize: '1Gi',
    });
    expect(contents).toHaveLength(1);
    expect(contents[0]).toMatchObject({
      metadata: { name: 'snapcontent-good-uid' },
      spec: {
        driver: HOSTPATH,
        deletionPolicy: 'Retain',
        source: { volumeHandle: 'pv-data-0' },
        volumeSnapshotRef: { name: 'good', namespace: NS, uid: 'good-uid' },
      },
      status: { readyToUse: true, restoreSize: 2 ** 30, snapshotHandle: 'snapshot-uid-1' },
    });
    expect(snapshots[1]!.status).toMatchObject({
      readyToUse: false,
      error: { message: expect.stringContaining('cannot get claim from snapshot') },
    });
    expect(snapshots[2]!.status?.readyToUse).toBeUndefined();
    expect(snapshots[2]!.status?.error?.message).toContain('"gone" not found');
    // The claim appears: the next passes take the snapshot, and ready clears the error.
    w.claims.push(claim('missing'));
    w.volumes.push(volume('missing'));
    for (let i = 0; i < 3; i++) await controller.reconcileAll(NOW);
    expect(snapshots[1]!.status).toMatchObject({ readyToUse: true, boundVolumeSnapshotContentName: 'snapcontent-bad-uid' });
    expect(snapshots[1]!.status?.error).toBeUndefined();
  });

  it('writes the default class into a snapshot that names none, then takes it', async () => {
    const w = world({ classes: [cls('hp', HOSTPATH, true)] });
    const api = new FakeApi({ snapshots: [snapshot('s', 'data-0')], contents: [], world: w });
    const controller = new SnapshotController(api);
    for (let i = 0; i < 4; i++) await controller.reconcileAll(NOW);
    expect(api.objects.snapshots[0]).toMatchObject({ spec: { volumeSnapshotClassName: 'hp' }, status: { readyToUse: true } });
  });
});
