// Every daprd in the cluster: the injector's annotation rule, every owner kind, what daprup can reach and what it
// names instead, and Dapr Shared releases.
import { describe, expect, it } from 'vitest';
import type { BatchObject, Pod, Workload } from '../../src/cluster/k8s-types.js';
import { decisionNote, discoverDataPlane, isTruthy, restartDecision, type DataPlaneWorkload } from '../../src/dapr/data-plane.js';
import { sentryOnPort80, sharedBehind, sharedDaprd, sharedTagFor } from '../../src/dapr/dapr-shared.js';
import { sharedReleasesOf } from '../../src/dapr/discovery.js';

const T = '1.17.13';
const OLD = '1.16.19';

function workload(
  kind: Workload['kind'],
  ns: string,
  name: string,
  o: {
    enabled?: string;
    spec?: Partial<Workload['spec']>;
    containers?: Workload['spec']['template']['spec']['containers'];
    annotations?: Record<string, string>;
  } = {},
): Workload {
  return {
    apiVersion: kind === 'Rollout' ? 'argoproj.io/v1alpha1' : 'apps/v1',
    kind,
    metadata: { name, namespace: ns, uid: `uid-${name}`, annotations: o.annotations },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: o.enabled === undefined ? {} : { 'dapr.io/enabled': o.enabled } },
        spec: { containers: o.containers ?? [{ name: 'app' }] },
      },
      ...o.spec,
    },
  };
}

function pod(
  ns: string,
  name: string,
  o: {
    app?: string;
    daprd?: string;
    native?: boolean;
    owner?: { kind: string; name: string };
    ready?: boolean;
    manifest?: string;
    phase?: string;
  } = {},
): Pod {
  const daprd = o.daprd
    ? [{ name: 'daprd', image: `ghcr.io/dapr/daprd:${o.daprd}`, ...(o.native ? { restartPolicy: 'Always' } : {}) }]
    : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${name}`,
      labels: o.app ? { app: o.app } : {},
      annotations: o.manifest ? { 'kubectl.kubernetes.io/last-applied-configuration': o.manifest } : {},
      ownerReferences: o.owner ? [{ ...o.owner, uid: `uid-${o.owner.name}`, controller: true }] : undefined,
    },
    spec: o.native ? { containers: [{ name: 'app' }], initContainers: daprd } : { containers: [{ name: 'app' }, ...daprd] },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

const byKey = (found: DataPlaneWorkload[]) => Object.fromEntries(found.map((w) => [w.key, w]));

describe('which workloads run daprd', () => {
  it("uses the injector's truthy rule for dapr.io/enabled: y, yes, true, t, on, 1 in any case", () => {
    for (const v of ['y', 'YES', 'True', 't', 'On', '1', ' true ']) expect(isTruthy(v)).toBe(true);
    for (const v of ['false', 'no', '0', 'enabled', '', undefined]) expect(isTruthy(v)).toBe(false);
    const spellings = ['True', 'yes', 'ON', '1', 'y', 't'];
    const workloads = spellings.map((s, i) => workload('Deployment', 'a', `app-${i}`, { enabled: s }));
    const found = discoverDataPlane({ workloads, pods: [] });
    expect(found.map((w) => w.name)).toEqual(spellings.map((_, i) => `app-${i}`));
  });

  it('counts a workload whose pods run daprd whatever its annotations say, and leaves out one whose pods do not', () => {
    const found = discoverDataPlane({
      workloads: [workload('Deployment', 'a', 'injected', { enabled: 'false' }), workload('Deployment', 'a', 'plain')],
      pods: [pod('a', 'injected-1', { app: 'injected', daprd: OLD }), pod('a', 'plain-1', { app: 'plain' })],
    });
    expect(found.map((w) => w.key)).toEqual(['Deployment/a/injected']);
    expect(restartDecision(found[0]!, T)).toBe('restart');
  });

  it('sees daprd as a native sidecar (an init container with restartPolicy Always)', () => {
    const [w] = discoverDataPlane({
      workloads: [workload('Deployment', 'a', 'native', { enabled: 'true' })],
      pods: [pod('a', 'native-1', { app: 'native', daprd: T, native: true })],
    });
    expect(w).toMatchObject({ podsWithSidecar: 1, nativeSidecars: 1, sidecarVersions: [T] });
    expect(restartDecision(w!, T)).toBe('current');
  });
});

describe('what daprup reaches, by owner kind', () => {
  const workloads = [
    workload('Deployment', 'a', 'web', { enabled: 'true' }),
    workload('Deployment', 'a', 'paused', { enabled: 'true', spec: { paused: true } }),
    workload('StatefulSet', 'a', 'ondelete', { enabled: 'true', spec: { updateStrategy: { type: 'OnDelete' } } }),
    workload('DaemonSet', 'a', 'agent', { enabled: 'true', spec: { updateStrategy: { type: 'OnDelete' } } }),
    workload('Rollout', 'a', 'canary', { enabled: 'true' }),
    workload('DaemonSet', 'shared', 'orders-shared', {
      containers: [
        {
          name: 'daprd',
          image: `daprio/daprd:1.15.7-mariner`,
          args: ['./daprd', '--sentry-address', 'dapr-sentry.dapr-system.svc.cluster.local:80', '--enable-mtls=false'],
        },
      ],
      annotations: { 'meta.helm.sh/release-name': 'orders' },
    }),
    workload('Deployment', 'a', 'handmade', { containers: [{ name: 'app' }, { name: 'daprd', image: `ghcr.io/dapr/daprd:${OLD}` }] }),
  ];
  const jobs: BatchObject[] = [
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'a' },
      spec: {
        jobTemplate: {
          spec: { template: { metadata: { annotations: { 'dapr.io/enabled': 'True' } }, spec: { containers: [{ name: 'job' }] } } },
        },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'nightly-2901', namespace: 'a', ownerReferences: [{ kind: 'CronJob', name: 'nightly', uid: 'uid-nightly' }] },
      spec: { template: { spec: { containers: [{ name: 'job' }] } } },
    },
  ];
  const pods = [
    pod('a', 'web-1', { app: 'web', daprd: OLD }),
    pod('a', 'paused-1', { app: 'paused', daprd: OLD }),
    pod('a', 'ondelete-0', { app: 'ondelete', daprd: OLD }),
    pod('a', 'ondelete-1', { app: 'ondelete', daprd: T }),
    pod('a', 'agent-x', { app: 'agent', daprd: OLD }),
    pod('a', 'canary-abc-1', { app: 'canary', daprd: OLD, owner: { kind: 'ReplicaSet', name: 'canary-abc' } }),
    pod('shared', 'orders-shared-x', { app: 'orders-shared', daprd: '1.15.7-mariner' }),
    pod('a', 'handmade-1', { app: 'handmade', daprd: OLD }),
    pod('a', 'bare-rs-1', { daprd: OLD, owner: { kind: 'ReplicaSet', name: 'bare-rs' } }),
    pod('a', 'bare-rs-2', { daprd: OLD, owner: { kind: 'ReplicaSet', name: 'bare-rs' } }),
    pod('a', 'nightly-2901-q', { daprd: OLD, owner: { kind: 'Job', name: 'nightly-2901' } }),
    pod('a', 'done-job-q', { daprd: OLD, owner: { kind: 'Job', name: 'done-job' }, phase: 'Succeeded' }),
    pod('a', 'debug', { daprd: OLD, manifest: '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug"}}' }),
    pod('a', 'created', { daprd: OLD }),
    pod('a', 'nb-0', { daprd: OLD, owner: { kind: 'Notebook', name: 'nb' } }),
    pod('a', 'no-dapr', {}),
  ];
  const found = byKey(discoverDataPlane({ workloads, jobs, pods }));
  const shared = { sharedReleases: new Set(['shared/orders']) };

  it('groups every daprd pod under the workload or owner that would replace it', () => {
    expect(Object.keys(found).sort()).toEqual([
      'CronJob/a/nightly',
      'DaemonSet/a/agent',
      'DaemonSet/shared/orders-shared',
      'Deployment/a/handmade',
      'Deployment/a/paused',
      'Deployment/a/web',
      'Job/a/nightly-2901',
      'Notebook/a/nb',
      'Pod/a/created',
      'Pod/a/debug',
      'ReplicaSet/a/bare-rs',
      'Rollout/a/canary',
      'StatefulSet/a/ondelete',
    ]);
    expect(found['ReplicaSet/a/bare-rs']).toMatchObject({ method: 'delete-pods', pods: 2 });
    expect(found['Job/a/nightly-2901']).toMatchObject({ method: 'job', owner: 'CronJob nightly' });
    expect(found['DaemonSet/shared/orders-shared']).toMatchObject({
      method: 'template',
      helmRelease: 'orders',
      sentryAddress: 'dapr-sentry.dapr-system.svc.cluster.local:80',
      mtls: false,
    });
  });

  it('restarts what rolls, and names what does not with the command that would', () => {
    const decide = (key: string, o = {}) => restartDecision(found[key]!, T, { ...shared, ...o });
    expect(decide('Deployment/a/web')).toBe('restart');
    expect(decide('Rollout/a/canary')).toBe('restart');
    expect(decide('Deployment/a/paused')).toBe('unreached');
    expect(decisionNote(found['Deployment/a/paused']!, 'unreached', T)).toContain('kubectl rollout resume deployment/paused --namespace a');
    expect(decide('StatefulSet/a/ondelete')).toBe('unreached');
    expect(decisionNote(found['StatefulSet/a/ondelete']!, 'unreached', T)).toContain('kubectl delete pod ondelete-0 --namespace a');
    expect(decide('DaemonSet/a/agent')).toBe('unreached');
    expect(decide('ReplicaSet/a/bare-rs')).toBe('unreached');
    expect(decide('Job/a/nightly-2901')).toBe('unreached');
    expect(decide('CronJob/a/nightly')).toBe('next-run');
    expect(decide('Pod/a/debug')).toBe('unreached');
    expect(decisionNote(found['Pod/a/debug']!, 'unreached', T)).toContain('kubectl replace --force -f -');
    expect(decisionNote(found['Pod/a/created']!, 'unreached', T)).toContain('not created by kubectl apply');
    expect(decide('Notebook/a/nb')).toBe('unreached');
    expect(decisionNote(found['Notebook/a/nb']!, 'unreached', T)).toContain('Notebook');
    expect(decide('Deployment/a/handmade')).toBe('unreached');
    expect(decide('DaemonSet/shared/orders-shared')).toBe('shared');
    expect(restartDecision(found['DaemonSet/shared/orders-shared']!, T)).toBe('unreached'); // not a Dapr Shared release
  });

  it('reaches pods one at a time and bare Pods with their manifest only when the user allows it', () => {
    const o = { recreatePods: true, recreateBarePods: true };
    expect(restartDecision(found['StatefulSet/a/ondelete']!, T, o)).toBe('restart');
    expect(restartDecision(found['DaemonSet/a/agent']!, T, o)).toBe('restart');
    expect(restartDecision(found['ReplicaSet/a/bare-rs']!, T, o)).toBe('restart');
    expect(restartDecision(found['Pod/a/debug']!, T, o)).toBe('restart');
    expect(restartDecision(found['Pod/a/created']!, T, o)).toBe('unreached');
    expect(decisionNote(found['StatefulSet/a/ondelete']!, 'restart', T)).toContain('ondelete-0');
    expect(decisionNote(found['StatefulSet/a/ondelete']!, 'restart', T)).not.toContain('ondelete-1');
  });

  it('calls a group rolled by deleting pods current once every pod runs the target', () => {
    const [w] = discoverDataPlane({
      workloads: [workload('StatefulSet', 'a', 'od', { enabled: 'true', spec: { updateStrategy: { type: 'OnDelete' } } })],
      pods: [pod('a', 'od-0', { app: 'od', daprd: T })],
    });
    expect(restartDecision(w!, T)).toBe('current');
  });
});

describe('Dapr Shared', () => {
  const releases = sharedReleasesOf([
    { name: 'dapr', namespace: 'dapr-system', revision: '1', status: 'deployed', chart: 'dapr-1.16.19', app_version: '1.16.19' },
    { name: 'orders', namespace: 'shared', revision: '2', status: 'deployed', chart: 'dapr-shared-chart-0.0.14', app_version: '0.0.14' },
  ]);

  it('finds releases of the dapr-shared chart and the daprd each runs, variant kept on upgrade', () => {
    expect(releases).toEqual([{ name: 'orders', namespace: 'shared', chartVersion: '0.0.14', revision: 2, status: 'deployed' }]);
    const dataPlane = discoverDataPlane({
      workloads: [
        workload('DaemonSet', 'shared', 'orders-shared', {
          containers: [
            {
              name: 'daprd',
              image: 'daprio/daprd:1.15.7-mariner',
              args: ['--sentry-address=dapr-sentry.dapr-system.svc.cluster.local:80'],
            },
          ],
          annotations: { 'meta.helm.sh/release-name': 'orders' },
        }),
      ],
      pods: [pod('shared', 'orders-shared-x', { app: 'orders-shared', daprd: '1.15.7-mariner' })],
    });
    const [s] = sharedDaprd(releases, dataPlane);
    expect(s).toMatchObject({ tag: '1.15.7-mariner', version: '1.15.7', mtls: false });
    expect(sentryOnPort80(s!.sentryAddress)).toBe(true);
    expect(sharedBehind([s!], T).map((x) => x.targetTag)).toEqual(['1.17.13-mariner']);
    expect(sharedTagFor('1.15.7', T)).toBe(T);
    expect(sentryOnPort80('dapr-sentry.dapr-system.svc.cluster.local:443')).toBe(false);
  });
});

describe('daprup check on Dapr Shared', () => {
  it('fails a Sentry address on port 80, warns on mTLS off, and names each release with its daprd and skew', async () => {
    const { checkDaprShared } = await import('../../src/dapr/checks/security.js');
    const shared = (name: string, args: string[], tag: string) =>
      workload('DaemonSet', 'shared', `${name}-dapr-shared-chart`, {
        containers: [{ name: 'daprd', image: `docker.io/daprio/daprd:${tag}`, args }],
        annotations: { 'meta.helm.sh/release-name': name },
      });
    const input = (workloads: Workload[]) =>
      ({
        release: { name: 'dapr', namespace: 'dapr-system', chartVersion: T, version: T, revision: 1, status: 'deployed' },
        workloads,
        pods: [],
        sharedReleases: ['orders', 'cart'].map((n) => ({
          name: n,
          namespace: 'shared',
          chartVersion: '0.0.16',
          revision: 1,
          status: 'deployed',
        })),
      }) as unknown as Parameters<typeof checkDaprShared>[0];
    const bad = checkDaprShared(
      input([
        shared('orders', ['--sentry-address=dapr-sentry.dapr-system.svc.cluster.local:80', '--enable-mtls=false'], '1.15.7'),
        shared('cart', ['--sentry-address=dapr-sentry.dapr-system.svc.cluster.local:443', '--enable-mtls=true'], T),
      ]),
    )!;
    expect(bad.severity).toBe('failure');
    expect(bad.finding).toContain('shared/orders daprd 1.15.7 (skew 2 minor behind)');
    expect(bad.finding).toContain('mTLS off: shared/orders');
    expect(bad.fix).toContain('shared.controlPlane.sentry.port=443');
    const good = checkDaprShared(input([shared('cart', ['--sentry-address=x:443', '--enable-mtls=true'], T)]))!;
    expect(good.severity).toBe('ok');
    expect(checkDaprShared({ ...input([]), sharedReleases: [] })).toBeUndefined();
  });
});
