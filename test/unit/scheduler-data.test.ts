// Scheduler data across an upgrade: when a hop loses it (the version rules, a 1.14 HA change, a recreated StatefulSet
// that drops or deletes its claims), the VolumeSnapshots taken first (names, objects, class), the refusal without a
// class, and preflight's storage and node checks. Commands are asserted as the fake runner saw them.
import { describe, expect, it, vi } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import type { PersistentVolumeClaim, StorageClass, Workload } from '../../src/cluster/k8s-types.js';
import type { CheckObjects } from '../../src/dapr/check-objects.js';
import type { ClusterFacts } from '../../src/dapr/discovery.js';
import {
  antiAffinitySlots,
  chooseSnapshotClass,
  newSchedulerClaims,
  nodeFindings,
  nodeFits,
  recreationKeepsData,
  schedulerDataAtRisk,
  snapshotName,
  storageClassFinding,
  volumeSnapshot,
  type Node,
  type SchedulerHop,
  type VolumeSnapshotClass,
} from '../../src/dapr/scheduler-data.js';
import type { StatefulSetRecreation } from '../../src/dapr/statefulsets.js';
import { DaprupError, ExitCode } from '../../src/errors.js';
import { preflight } from '../../src/runbook/steps/preflight.js';
import { protectSchedulerData, refuseUnprotectedSchedulerLoss, runIdOf } from '../../src/runbook/steps/scheduler-data.js';
import type { RunContext, UpgradeOptions } from '../../src/runbook/types.js';
import { FakeRunner } from './fake-runner.js';

const NS = 'dapr-system';
const RUN_ID = '20260821T120000-abcd1234';
const CLAIM = (i: number) => `dapr-scheduler-data-dir-dapr-scheduler-server-${i}`;

interface SchedulerShape {
  replicas?: number;
  tag?: string;
  inMemory?: boolean;
  storageClassName?: string;
  antiAffinity?: 'required' | 'preferred';
  topologyKey?: string;
  whenDeleted?: string;
}

/** The dapr-scheduler-server StatefulSet as the real chart renders it (the fields these rules read). */
function scheduler(o: SchedulerShape = {}): Workload {
  const term = {
    labelSelector: { matchLabels: { app: 'dapr-scheduler-server' } },
    topologyKey: o.topologyKey ?? 'topology.kubernetes.io/zone',
  };
  const affinity =
    o.antiAffinity === 'required'
      ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
      : o.antiAffinity === 'preferred'
        ? { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } }
        : undefined;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'dapr-scheduler-server', namespace: NS },
    spec: {
      replicas: o.replicas ?? 1,
      serviceName: 'dapr-scheduler-server',
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'dapr-scheduler-server' } },
      ...(o.whenDeleted ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: o.whenDeleted } } : {}),
      volumeClaimTemplates: o.inMemory
        ? undefined
        : [
            {
              metadata: { name: 'dapr-scheduler-data-dir' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}),
                resources: { requests: { storage: '1Gi' } },
              },
            },
          ],
      template: {
        metadata: { labels: { app: 'dapr-scheduler-server' } },
        spec: {
          containers: [{ name: 'dapr-scheduler-server', image: `ghcr.io/dapr/scheduler:${o.tag ?? '1.15.13'}` }],
          ...(affinity ? { affinity } : {}),
          ...(o.inMemory ? { volumes: [{ name: 'dapr-scheduler-data-dir', emptyDir: { medium: 'Memory' } }] } : {}),
        } as Workload['spec']['template']['spec'],
      },
    },
  } as Workload;
}

const claim = (i: number, o: { phase?: string; storageClassName?: string } = {}): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: CLAIM(i), namespace: NS },
  spec: { accessModes: ['ReadWriteOnce'], ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}) },
  status: { phase: o.phase ?? 'Bound', capacity: { storage: '1Gi' } },
});
const storageClass = (name: string, provisioner: string, isDefault = false): StorageClass => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name, ...(isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
  provisioner,
});
const snapshotClass = (name: string, driver: string, isDefault = false): VolumeSnapshotClass => ({
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshotClass',
  metadata: { name, ...(isDefault ? { annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } } : {}) },
  driver,
  deletionPolicy: 'Delete',
});
const node = (name: string, o: { zone?: string; ready?: boolean; unschedulable?: boolean; taint?: string } = {}): Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': name, ...(o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {}) },
  },
  spec: { unschedulable: o.unschedulable, taints: o.taint ? [{ key: o.taint, effect: 'NoSchedule' }] : [] },
  status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const shown = (commands: string[][]) => commands.map((c) => c.join(' '));
const recreated = (changes: string[]): StatefulSetRecreation[] => [{ name: 'dapr-scheduler-server', namespace: NS, changes }];

const hop = (
  from: string,
  to: string,
  live: Workload[],
  rendered: Workload[],
  recreations: StatefulSetRecreation[] = [],
): SchedulerHop => ({
  from,
  to,
  namespace: NS,
  live,
  rendered,
  recreations,
});

describe('scheduler data at risk', () => {
  it('1.14 → 1.15 loses it: the 1.15 scheduler starts etcd afresh in dapr-0.1', () => {
    const risk = schedulerDataAtRisk(hop('1.14.4', '1.15.13', [scheduler({ tag: '1.14.4' })], [scheduler({ replicas: 3 })]));
    expect(risk?.lost).toContain('jobs');
    expect(risk?.lost).toContain('reminders');
    expect(risk?.why).toBe('the 1.15.13 scheduler starts etcd afresh in <data dir>/dapr-0.1 and never reads the 1.14.4 data');
    expect(risk?.inMemory).toBeUndefined();
  });

  it('1.15 → 1.16 and a first install lose nothing', () => {
    const s = scheduler({ replicas: 3 });
    expect(schedulerDataAtRisk(hop('1.15.13', '1.16.19', [s], [s]))).toBeUndefined();
    expect(schedulerDataAtRisk(hop('1.13.6', '1.14.4', [], [scheduler({ tag: '1.14.4' })]))).toBeUndefined();
  });

  it('a recreated StatefulSet keeps the data: its new pods mount the same claims', () => {
    const h = hop(
      '1.16.19',
      '1.17.13',
      [scheduler({ replicas: 3, tag: '1.16.19' })],
      [scheduler({ replicas: 3, tag: '1.17.13' })],
      recreated(['volumeClaimTemplates: dapr-scheduler-data-dir storage 1Gi → 16Gi']),
    );
    expect(schedulerDataAtRisk(h)).toBeUndefined();
    expect(recreationKeepsData(h)).toContain('dapr-scheduler-data-dir-dapr-scheduler-server-<ordinal>');
    expect(recreationKeepsData({ ...h, recreations: [] })).toBeUndefined();
  });

  it('a recreation loses it where deleting the StatefulSet deletes the claims, or the new one keeps data in memory', () => {
    const changes = recreated(['volumeClaimTemplates: dapr-scheduler-data-dir storage 1Gi → 16Gi']);
    const deleting = hop('1.16.19', '1.17.13', [scheduler({ replicas: 3, whenDeleted: 'Delete' })], [scheduler({ replicas: 3 })], changes);
    expect(schedulerDataAtRisk(deleting)?.why).toContain('whenDeleted: Delete');
    const toMemory = hop(
      '1.14.4',
      '1.14.5',
      [scheduler({ tag: '1.14.4' })],
      [scheduler({ tag: '1.14.5', inMemory: true })],
      recreated(['volumeClaimTemplates: dapr-scheduler-data-dir removed']),
    );
    expect(schedulerDataAtRisk(toMemory)?.why).toContain('no longer mounts the claims');
  });

  it('an HA change within 1.14 loses it (etcd membership), both ways', () => {
    const up = schedulerDataAtRisk(hop('1.14.4', '1.14.5', [scheduler({ tag: '1.14.4' })], [scheduler({ replicas: 3, tag: '1.14.5' })]));
    expect(up?.why).toContain('grows from 1 to 3 members');
    expect(up?.lost).toContain('SchedulerReminders');
    const down = schedulerDataAtRisk(hop('1.14.4', '1.14.5', [scheduler({ replicas: 3, tag: '1.14.4' })], [scheduler({ tag: '1.14.5' })]));
    expect(down?.why).toContain('no quorum');
  });

  it('an in-memory scheduler loses it when its pods are replaced, and cannot be snapshotted', () => {
    const live = scheduler({ tag: '1.14.4', inMemory: true });
    const risk = schedulerDataAtRisk(hop('1.14.4', '1.14.5', [live], [scheduler({ tag: '1.14.5', inMemory: true })]));
    expect(risk).toMatchObject({ inMemory: true });
    expect(risk?.why).toContain('in memory');
    expect(schedulerDataAtRisk(hop('1.14.4', '1.14.4', [live], [live]))).toBeUndefined();
  });
});

describe('scheduler snapshots', () => {
  it('are named <claim>-before-<target>-<run id>: DNS-1123, at most 253 characters, the run id always kept', () => {
    expect(snapshotName(CLAIM(0), '1.15.13', RUN_ID)).toBe(`${CLAIM(0)}-before-1-15-13-20260821t120000-abcd1234`);
    const long = snapshotName(`a${'b'.repeat(260)}`, '1.16.20-rc.2', RUN_ID);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long.endsWith('-before-1-16-20-rc-2-20260821t120000-abcd1234')).toBe(true);
    for (const name of [snapshotName(CLAIM(2), '1.15.13', RUN_ID), long])
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
  });

  it('are snapshot.storage.k8s.io/v1 VolumeSnapshots of one claim, with the class and the run labels', () => {
    expect(volumeSnapshot({ name: 'n', namespace: NS, claim: CLAIM(0), className: 'csi-snap', runId: RUN_ID })).toEqual({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'n', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'daprup', 'daprup.io/run-id': RUN_ID } },
      spec: { volumeSnapshotClassName: 'csi-snap', source: { persistentVolumeClaimName: CLAIM(0) } },
    });
  });

  it("take the class of the claim's driver: its default, else the only one, else the first by name", () => {
    const classes = [
      snapshotClass('b-other', 'other.csi', true),
      snapshotClass('z-ebs', 'ebs.csi.aws.com'),
      snapshotClass('a-ebs', 'ebs.csi.aws.com'),
    ];
    expect(chooseSnapshotClass(classes, 'ebs.csi.aws.com')).toMatchObject({ class: { metadata: { name: 'a-ebs' } } });
    expect(chooseSnapshotClass(classes, 'ebs.csi.aws.com').why).toContain('none is marked default');
    expect(chooseSnapshotClass([...classes, snapshotClass('m-ebs', 'ebs.csi.aws.com', true)], 'ebs.csi.aws.com').why).toBe(
      'm-ebs, the default VolumeSnapshotClass for driver ebs.csi.aws.com',
    );
    expect(chooseSnapshotClass([classes[1]!], 'ebs.csi.aws.com').why).toBe(
      'z-ebs, the only VolumeSnapshotClass for driver ebs.csi.aws.com',
    );
    // A default class of another driver cannot snapshot these volumes.
    expect(chooseSnapshotClass([classes[0]!], 'ebs.csi.aws.com')).toEqual({
      why: 'no VolumeSnapshotClass has driver ebs.csi.aws.com (there is b-other: other.csi)',
    });
    expect(chooseSnapshotClass(classes, undefined).class?.metadata.name).toBe('b-other');
    expect(chooseSnapshotClass([], 'ebs.csi.aws.com')).toEqual({ why: 'no VolumeSnapshotClass exists' });
  });
});

function context(o: {
  runner: FakeRunner;
  options?: Partial<UpgradeOptions>;
  live?: Workload[];
  rendered?: Workload[];
  from?: string;
  to?: string;
}) {
  const target = { kubeconfig: '/kc' };
  const recorded: string[][] = [];
  let snapshots: string[] = [];
  const journal = {
    data: {
      runId: RUN_ID,
      get schedulerSnapshots() {
        return snapshots;
      },
    },
    setSchedulerSnapshots: vi.fn(async (names: readonly string[]) => {
      snapshots = [...names];
      recorded.push([...names]);
    }),
  };
  const checkObjects: CheckObjects = {
    pdbs: [],
    components: [],
    configurations: [],
    namespaces: [],
    claims: [claim(0)],
    storageClasses: [storageClass('fast', 'ebs.csi.aws.com', true)],
    unreadable: [],
  };
  const ctx = {
    tools: { helm: new Helm(o.runner, 'helm', target), kubectl: new Kubectl(o.runner, 'kubectl', target) },
    options: {
      target: o.to ?? '1.15.13',
      chart: 'dapr/dapr',
      valuesFiles: [],
      set: [],
      timeout: '5m',
      concurrency: 4,
      overrides: {},
      certWarnDays: 30,
      ...o.options,
    },
    facts: {
      helmVersion: { raw: 'v3.17.2', major: 3, minor: 17, patch: 2 },
      kubectlVersion: 'v1.33.0',
      serverVersion: 'v1.33.0',
      release: { name: 'dapr', namespace: NS, chartVersion: '1.14.4', version: '1.14.4', revision: 3, status: 'deployed' },
      haEnabled: false,
      controlPlaneWorkloads: o.live ?? [scheduler({ tag: '1.14.4' })],
      workloads: [],
      jobs: [],
      sharedReleases: [],
      pods: [],
    } as unknown as ClusterFacts,
    verdict: { current: o.from ?? '1.14.4', target: o.to ?? '1.15.13', change: 'minor', warnings: [] },
    workDir: `/state/runs/${RUN_ID}`,
    chartDir: '/run/chart/dapr',
    targetChart: { name: 'dapr', version: o.to ?? '1.15.13', appVersion: o.to ?? '1.15.13' },
    installedChartVersion: o.from ?? '1.14.4',
    haAfter: false,
    userOverrides: {},
    userTrustBundle: false,
    rendered: o.rendered ?? [scheduler({ replicas: 3, antiAffinity: 'preferred' })],
    renderedConfig: {},
    crdFiles: [],
    crds: [],
    checkObjects,
    journal: journal as unknown as RunContext['journal'],
    log: () => {},
  } satisfies RunContext;
  return { ctx: ctx as RunContext, journal, recorded };
}

const SNAPSHOT = `${CLAIM(0)}-before-1-15-13-20260821t120000-abcd1234`;
const ready = (name: string, readyToUse: boolean, message?: string) => ({
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshot',
  metadata: { name, namespace: NS },
  spec: { source: { persistentVolumeClaimName: CLAIM(0) } },
  status: { readyToUse, ...(message ? { error: { message } } : {}) },
});
const K = ['--kubeconfig', '/kc'];
const NOT_SERVED = { exitCode: 1, stderr: `error: the server doesn't have a resource type "volumesnapshotclasses"` };

describe('protect-scheduler-data', () => {
  const withClass = (classes = [snapshotClass('ebs-snap', 'ebs.csi.aws.com')]) =>
    new FakeRunner()
      .on('kubectl', [...K, 'get', 'volumesnapshotclasses.snapshot.storage.k8s.io'], list(classes))
      .on('kubectl', [...K, 'get', 'persistentvolumeclaims'], list([claim(0)]))
      .on('kubectl', [...K, 'apply'], '')
      .on('kubectl', [...K, 'wait'], '');

  it('plans the very commands apply runs: the reads, one apply per claim, one wait per snapshot', async () => {
    const runner = withClass();
    const { ctx, journal } = context({ runner });
    const plan = await protectSchedulerData.plan(ctx);
    const planned = shown(plan.commands);
    const before = runner.calls.length;
    await protectSchedulerData.apply(ctx, () => {});
    expect(runner.commandLines().slice(before)).toEqual(planned);
    expect(planned).toEqual([
      'kubectl --kubeconfig /kc get volumesnapshotclasses.snapshot.storage.k8s.io -o json',
      'kubectl --kubeconfig /kc get persistentvolumeclaims -o json --namespace dapr-system',
      'kubectl --kubeconfig /kc apply --server-side --force-conflicts --field-manager daprup -f -',
      `kubectl --kubeconfig /kc wait volumesnapshots.snapshot.storage.k8s.io/${SNAPSHOT} --namespace dapr-system --for=jsonpath={.status.readyToUse}=true --timeout=5m`,
    ]);
    expect(plan.destructive).toBe(false);
    expect(plan.skip).toBeUndefined();
    expect(plan.summary).toContain('jobs');
    expect(plan.summary).toContain(CLAIM(0));
    expect(plan.details).toEqual([
      `VolumeSnapshot ${SNAPSHOT} of ${CLAIM(0)}: class ebs-snap, the only VolumeSnapshotClass for driver ebs.csi.aws.com`,
    ]);
    const applied = JSON.parse(runner.calls.find((c) => c.args.includes('apply'))!.input!);
    expect(applied).toMatchObject({
      kind: 'VolumeSnapshot',
      metadata: { name: SNAPSHOT, namespace: NS },
      spec: { volumeSnapshotClassName: 'ebs-snap' },
    });
    expect(journal.setSchedulerSnapshots).toHaveBeenCalledWith([`${NS}/${SNAPSHOT}`]);
  });

  it('is done once the snapshots this hop recorded are ready to use (another hop’s do not count)', async () => {
    const runner = withClass();
    const { ctx } = context({ runner });
    expect(await protectSchedulerData.isDone(ctx)).toBe(false); // nothing recorded
    await ctx.journal!.setSchedulerSnapshots([`${NS}/${CLAIM(0)}-before-1-14-5-20260821t120000-abcd1234`]);
    expect(await protectSchedulerData.isDone(ctx)).toBe(false);
    await ctx.journal!.setSchedulerSnapshots([`${NS}/${SNAPSHOT}`]);
    runner.on('kubectl', [...K, 'get', 'volumesnapshots.snapshot.storage.k8s.io'], list([ready(SNAPSHOT, false)]));
    expect(await protectSchedulerData.isDone(ctx)).toBe(false);
    await expect(protectSchedulerData.verify(ctx)).rejects.toThrow(`${NS}/${SNAPSHOT} is not ready to use`);
    runner.on('kubectl', [...K, 'get', 'volumesnapshots.snapshot.storage.k8s.io'], list([ready(SNAPSHOT, true)]));
    expect(await protectSchedulerData.isDone(ctx)).toBe(true);
    await protectSchedulerData.verify(ctx);
  });

  it("fails a snapshot that never gets ready with the snapshot-controller's error, and records nothing", async () => {
    const runner = withClass()
      .on('kubectl', [...K, 'wait'], { exitCode: 1, stderr: 'error: timed out waiting for the condition' })
      .on(
        'kubectl',
        [...K, 'get', 'volumesnapshots.snapshot.storage.k8s.io'],
        list([ready(SNAPSHOT, false, 'cannot find CSI PersistentVolumeSource')]),
      );
    const { ctx, journal } = context({ runner });
    await expect(protectSchedulerData.apply(ctx, () => {})).rejects.toThrow(
      `VolumeSnapshot ${NS}/${SNAPSHOT} of ${CLAIM(0)} did not become ready to use within 5m: ${NS}/${SNAPSHOT} is not ready to use (cannot find CSI PersistentVolumeSource).`,
    );
    expect(journal.setSchedulerSnapshots).not.toHaveBeenCalled();
  });

  it('skips when nothing is lost (1.15 → 1.16), saying why', async () => {
    const runner = new FakeRunner();
    const s = scheduler({ replicas: 3 });
    const { ctx } = context({ runner, live: [s], rendered: [s], from: '1.15.13', to: '1.16.19' });
    expect((await protectSchedulerData.plan(ctx)).skip).toBe('this upgrade loses no scheduler data');
    expect(runner.calls).toEqual([]);
  });

  it('refuses without a VolumeSnapshotClass: one sentence naming what is lost, a hint naming the flag and the class to install', async () => {
    for (const runner of [
      withClass([]),
      withClass().on('kubectl', [...K, 'get', 'volumesnapshotclasses.snapshot.storage.k8s.io'], NOT_SERVED),
    ]) {
      const { ctx } = context({ runner });
      const err = (await refuseUnprotectedSchedulerLoss(ctx).catch((e: unknown) => e)) as DaprupError;
      expect(err).toBeInstanceOf(DaprupError);
      expect(err.exitCode).toBe(ExitCode.refused);
      expect(err.message).toBe(
        "Upgrading 1.14.4 → 1.15.13 loses the scheduler's jobs, and the actor reminders and workflows kept in the scheduler (SchedulerReminders preview feature), because the 1.15.13 scheduler starts etcd afresh in <data dir>/dapr-0.1 and never reads the 1.14.4 data; it cannot be snapshotted first: no VolumeSnapshotClass exists.",
      );
      expect(err.hint).toContain('--accept-scheduler-data-loss');
      expect(err.hint).toContain('VolumeSnapshotClass for driver ebs.csi.aws.com');
      expect((await protectSchedulerData.plan(ctx)).summary).toContain('refused:');
    }
  });

  it('refuses when no class has the claims’ driver, and an in-memory scheduler whatever the classes', async () => {
    const { ctx } = context({ runner: withClass([snapshotClass('other', 'other.csi', true)]) });
    await expect(refuseUnprotectedSchedulerLoss(ctx)).rejects.toThrow('no VolumeSnapshotClass has driver ebs.csi.aws.com');
    const memory = context({
      runner: withClass(),
      live: [scheduler({ tag: '1.14.4', inMemory: true })],
      rendered: [scheduler({ tag: '1.14.5', inMemory: true })],
      to: '1.14.5',
    });
    const err = (await refuseUnprotectedSchedulerLoss(memory.ctx).catch((e: unknown) => e)) as DaprupError;
    expect(err.message).toContain('keeps its data in memory');
    expect(err.hint).toBe('Accept the loss with --accept-scheduler-data-loss.');
  });

  it('skips, saying the loss was accepted, with --accept-scheduler-data-loss and no class', async () => {
    const runner = withClass([]);
    const { ctx, journal } = context({ runner, options: { acceptSchedulerDataLoss: true } });
    await refuseUnprotectedSchedulerLoss(ctx);
    const plan = await protectSchedulerData.plan(ctx);
    expect(plan.skip).toMatch(
      /^the loss of the scheduler's jobs.* was accepted \(--accept-scheduler-data-loss\): no VolumeSnapshotClass exists$/,
    );
    const reports: string[] = [];
    await protectSchedulerData.apply(ctx, (m) => reports.push(m));
    expect(reports[0]).toContain('was accepted');
    expect(runner.commandLines().some((c) => c.includes(' apply '))).toBe(false);
    expect(journal.setSchedulerSnapshots).not.toHaveBeenCalled();
  });

  it('names its snapshots after the run: the journal’s id, else the run directory, else a placeholder (daprup plan)', () => {
    const { ctx } = context({ runner: new FakeRunner() });
    expect(runIdOf(ctx)).toBe(RUN_ID);
    expect(runIdOf({ ...ctx, journal: undefined })).toBe(RUN_ID);
    expect(runIdOf({ ...ctx, journal: undefined, workDir: '/tmp/daprup-plan-x1y2z3' })).toBe('run-id');
  });
});

describe('preflight: what the hop needs of the cluster', () => {
  const live114 = [scheduler({ tag: '1.14.4' })];
  const rendered115 = [scheduler({ replicas: 3 })];

  it('new scheduler claims: a first scheduler, 1.15 raising 1 to 3 replicas; none where they exist', () => {
    const h = { live: live114, rendered: rendered115, namespace: NS };
    expect(newSchedulerClaims(h, [claim(0)])).toEqual([CLAIM(1), CLAIM(2)]);
    expect(newSchedulerClaims(h)).toEqual([CLAIM(1), CLAIM(2)]); // claims unread: beyond the live replicas
    expect(newSchedulerClaims({ ...h, live: [] }, [])).toEqual([CLAIM(0), CLAIM(1), CLAIM(2)]);
    expect(newSchedulerClaims({ ...h, live: rendered115 }, [claim(0), claim(1), claim(2)])).toEqual([]);
    expect(newSchedulerClaims({ ...h, rendered: [scheduler({ inMemory: true })] }, [])).toEqual([]);
  });

  it('new claims need a default StorageClass, or the one dapr_scheduler.cluster.storageClassName names', () => {
    const h = { live: live114, rendered: rendered115, namespace: NS };
    expect(storageClassFinding(h, [claim(0)], [storageClass('fast', 'x', true)])).toBeUndefined();
    const none = storageClassFinding(h, [claim(0)], [storageClass('slow', 'x')]);
    expect(none).toMatchObject({ severity: 'refuse' });
    expect(none?.message).toBe(
      `The upgrade creates the scheduler claims ${CLAIM(1)}, ${CLAIM(2)}, but the cluster has no default StorageClass and dapr_scheduler.cluster.storageClassName is not set: they would stay Pending and the scheduler would never start.`,
    );
    expect(none?.hint).toContain('--set dapr_scheduler.cluster.storageClassName=<class> (StorageClasses: slow)');
    const named = { ...h, rendered: [scheduler({ replicas: 3, storageClassName: 'gp3' })] };
    expect(storageClassFinding(named, [claim(0)], [storageClass('gp3', 'x')])).toBeUndefined();
    expect(storageClassFinding(named, [claim(0)], [storageClass('fast', 'x', true)])?.message).toContain(
      'of StorageClass gp3 (dapr_scheduler.cluster.storageClassName), which does not exist',
    );
    expect(storageClassFinding(h, [claim(0)], undefined)).toMatchObject({ severity: 'warn' });
    expect(storageClassFinding({ ...h, live: rendered115 }, [claim(0), claim(1), claim(2)], [])).toBeUndefined();
  });

  it('nodes that fit: Ready, schedulable, taints tolerated, node selection met', () => {
    expect(nodeFits(node('a'), {})).toBe(true);
    expect(nodeFits(node('a', { ready: false }), {})).toBe(false);
    expect(nodeFits(node('a', { unschedulable: true }), {})).toBe(false);
    expect(nodeFits(node('a', { taint: 'dedicated' }), {})).toBe(false);
    expect(nodeFits(node('a', { taint: 'dedicated' }), { tolerations: [{ key: 'dedicated', operator: 'Exists' }] })).toBe(true);
    expect(nodeFits(node('a'), { nodeSelector: { 'kubernetes.io/os': 'windows' } })).toBe(false);
    const arm = {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }],
          },
        },
      },
    };
    expect(nodeFits(node('a'), arm)).toBe(false);
  });

  it('required anti-affinity: one replica per topology value; a node without the label holds any number', () => {
    expect(
      antiAffinitySlots([node('a', { zone: 'z1' }), node('b', { zone: 'z1' }), node('c', { zone: 'z2' })], 'topology.kubernetes.io/zone'),
    ).toBe(2);
    expect(antiAffinitySlots([node('a', { zone: 'z1' }), node('b')], 'topology.kubernetes.io/zone')).toBe(Number.POSITIVE_INFINITY);
    const required = [scheduler({ replicas: 3, antiAffinity: 'required' })];
    const [refused] = nodeFindings(required, [
      node('a', { zone: 'z1' }),
      node('b', { zone: 'z2' }),
      node('c', { zone: 'z2', ready: false }),
    ]);
    expect(refused).toMatchObject({ severity: 'refuse' });
    expect(refused?.message).toBe(
      'dapr-scheduler-server needs 3 replicas on different topology.kubernetes.io/zone values (required pod anti-affinity), but the 2 nodes it may run on offer 2: 1 would stay Pending and the upgrade would time out.',
    );
    expect(refused?.hint).toContain('global.ha.podAntiAffinityPolicy=preferredDuringSchedulingIgnoredDuringExecution');
    expect(nodeFindings(required, [node('a', { zone: 'z1' }), node('b', { zone: 'z2' }), node('c', { zone: 'z3' })])).toEqual([]);
  });

  it('preferred anti-affinity: fewer nodes than replicas is a warning, none at all a refusal', () => {
    const preferred = [scheduler({ replicas: 3, antiAffinity: 'preferred' })];
    const [warning] = nodeFindings(preferred, [node('a'), node('b', { unschedulable: true })]);
    expect(warning).toMatchObject({ severity: 'warn' });
    expect(warning?.message).toContain('dapr-scheduler-server (3 replicas, 1 node)');
    expect(nodeFindings(preferred, [node('a'), node('b'), node('c')])).toEqual([]);
    expect(nodeFindings(preferred, [node('a', { taint: 'x' })])[0]).toMatchObject({ severity: 'refuse' });
    expect(nodeFindings([scheduler({ replicas: 1, antiAffinity: 'required' })], [])).toEqual([]);
  });

  it('preflight reads the nodes when replicas grow, plans that read, and refuses before anything changes', async () => {
    const runner = new FakeRunner()
      .on('kubectl', [...K, 'auth', 'can-i'], 'yes\n')
      .on('kubectl', [...K, 'get', 'nodes'], list([node('a', { zone: 'z1' }), node('b', { zone: 'z2' })]));
    const { ctx } = context({ runner, rendered: [scheduler({ replicas: 3, antiAffinity: 'required' })] });
    const plan = await preflight.plan(ctx);
    expect(shown(plan.commands)).toContain('kubectl --kubeconfig /kc get nodes -o json');
    expect(plan.details?.some((d) => d.startsWith('Refused: dapr-scheduler-server needs 3 replicas'))).toBe(true);
    const before = runner.calls.length;
    await expect(preflight.apply(ctx, () => {})).rejects.toMatchObject({ exitCode: ExitCode.refused });
    expect(runner.commandLines().slice(before)).toEqual(shown(plan.commands.slice(1)));
    expect(runner.commandLines().every((c) => /^kubectl --kubeconfig \/kc (get|auth can-i) /.test(c))).toBe(true); // reads only
  });

  it('preflight refuses new scheduler claims without a default StorageClass', async () => {
    const runner = new FakeRunner()
      .on('kubectl', [...K, 'auth', 'can-i'], 'yes\n')
      .on('kubectl', [...K, 'get', 'nodes'], list([node('a'), node('b'), node('c')]));
    const { ctx } = context({ runner });
    ctx.checkObjects = { ...ctx.checkObjects!, storageClasses: [storageClass('slow', 'x')] };
    await expect(preflight.apply(ctx, () => {})).rejects.toThrow('the cluster has no default StorageClass');
  });
});
