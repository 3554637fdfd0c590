// The benchmark cluster: a sandbox control plane (test/sandbox) with the fixture Dapr chart installed from
// the loopback chart repository (as the e2e tests do, helm 4 flavour), and generated Dapr-enabled Deployments.
import { spawn } from 'node:child_process';
import { createDaprEnv, installDapr, type DaprEnv } from '../../test/e2e/dapr-env.js';
import { startSandbox, type Sandbox } from '../../test/sandbox/sandbox.js';
import { HELM_FLAVOURS } from '../../test/support/tools.js';

export const FROM_VERSION = '1.16.19';
export const TO_VERSION = '1.17.2';

export interface BenchCluster {
  sandbox: Sandbox;
  env: DaprEnv;
  kubectl: string;
  helm: string;
  stop(): Promise<void>;
}

export async function startBenchCluster(o: {
  nodes: number;
  podReadyDelayMs?: number;
  log: (line: string) => void;
}): Promise<BenchCluster> {
  const t0 = Date.now();
  const sandbox = await startSandbox({ nodes: o.nodes, podReadyDelayMs: o.podReadyDelayMs });
  try {
    const flavour = HELM_FLAVOURS[1]!;
    const env = await createDaprEnv(flavour, sandbox.kubeconfig);
    await installDapr(env, FROM_VERSION);
    o.log(
      `sandbox with ${o.nodes} nodes${o.podReadyDelayMs ? `, pod-ready delay ${o.podReadyDelayMs} ms` : ''} and Dapr ${FROM_VERSION} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    return {
      sandbox,
      env,
      kubectl: flavour.kubectl,
      helm: flavour.helm,
      stop: async () => {
        await env.repo.stop().catch(() => undefined);
        await sandbox.stop();
      },
    };
  } catch (e) {
    await sandbox.stop();
    throw e;
  }
}

export function kubectl(c: BenchCluster, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.kubectl, ['--kubeconfig', c.sandbox.kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString())
        : reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${err.trim().slice(-1000)}`)),
    );
    child.stdin.end(input ?? '');
  });
}

export interface App {
  namespace: string;
  name: string;
}

/** A Dapr-enabled Deployment with one replica, labelled app=<name> plus `labels`. */
export function daprDeployment(a: App, labels: Record<string, string>): unknown {
  const podLabels = { app: a.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: a.name, namespace: a.namespace, labels: { ...podLabels, ...labels } },
    spec: {
      replicas: 1,
      selector: { matchLabels: podLabels },
      template: {
        metadata: { labels: podLabels, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': a.name, 'dapr.io/app-port': '8080' } },
        spec: { containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0.0', ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

/**
 * The kind of the fleet's i-th workload in a mixed fleet (issue: every daprd, every kind), one pod each:
 * of every 20, 14 Deployments (the injector's annotation spelled true, True, yes, 1 in turn), 2 StatefulSets
 * (one RollingUpdate, one OnDelete), 1 running Job, 1 bare Pod, 1 ReplicaSet without a Deployment, 1 CronJob.
 */
export type FleetKind = 'Deployment' | 'StatefulSet' | 'StatefulSet/OnDelete' | 'Job' | 'Pod' | 'ReplicaSet' | 'CronJob';
const MIX: readonly FleetKind[] = [
  ...Array<FleetKind>(14).fill('Deployment'),
  'StatefulSet',
  'StatefulSet/OnDelete',
  'Job',
  'Pod',
  'ReplicaSet',
  'CronJob',
];
const SPELLINGS = ['true', 'True', 'yes', '1'];
export const fleetKind = (i: number): FleetKind => MIX[i % MIX.length]!;
export const fleetSpelling = (i: number): string => SPELLINGS[Math.floor(i / MIX.length) % SPELLINGS.length]!;
/** Kinds daprup restarts on its own; the others it names (OnDelete, bare ReplicaSet, bare Pod, Job) or skips (CronJob). */
export const RESTARTED_KINDS: ReadonlySet<FleetKind> = new Set(['Deployment', 'StatefulSet']);
/** Kinds with a running pod that runs daprd (all but the CronJob, which runs nothing until its schedule). */
export const RUNNING_KINDS: ReadonlySet<FleetKind> = new Set(MIX.filter((k) => k !== 'CronJob'));

/** The i-th object of a mixed fleet; its pod carries `labels` too, so readiness is counted on pods. */
export function fleetObject(a: App, i: number, labels: Record<string, string>): unknown {
  const kind = fleetKind(i);
  const d = daprDeployment(a, labels) as {
    metadata: Record<string, unknown>;
    spec: {
      template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> };
    };
  };
  const template = d.spec.template;
  template.metadata.labels = { ...template.metadata.labels, ...labels };
  template.metadata.annotations['dapr.io/enabled'] = fleetSpelling(i);
  const meta = d.metadata;
  const selector = { matchLabels: { app: a.name } };
  switch (kind) {
    case 'Deployment':
      return d;
    case 'StatefulSet':
    case 'StatefulSet/OnDelete':
      return {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta,
        spec: {
          replicas: 1,
          serviceName: a.name,
          selector,
          template,
          ...(kind === 'StatefulSet/OnDelete' ? { updateStrategy: { type: 'OnDelete' } } : {}),
        },
      };
    case 'ReplicaSet':
      return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta, spec: { replicas: 1, selector, template } };
    case 'Job':
      template.metadata.labels.keeprunning = 'true'; // the sandbox's kwok keeps it running (KEEP_RUNNING_LABEL)
      return {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: meta,
        spec: { backoffLimit: 0, template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } },
      };
    case 'Pod':
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...meta, labels: template.metadata.labels, annotations: template.metadata.annotations },
        spec: template.spec,
      };
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: meta,
        spec: {
          schedule: '0 3 1 1 *',
          suspend: true,
          jobTemplate: { spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } },
        },
      };
  }
}

/** `kubectl apply --server-side -f -` of Lists of `batch` objects (one request per object), `parallel` at a time. */
export async function applyApps(
  c: BenchCluster,
  apps: readonly App[],
  labels: Record<string, string>,
  batch = 250,
  parallel = 4,
  object: (a: App, labels: Record<string, string>) => unknown = daprDeployment,
): Promise<void> {
  const namespaces = [...new Set(apps.map((a) => a.namespace))];
  const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
  const apply = ['apply', '--server-side', '--field-manager', 'daprup-bench', '-f', '-'];
  await kubectl(c, apply, list(namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }))));
  const batches: unknown[][] = [];
  for (let i = 0; i < apps.length; i += batch) batches.push(apps.slice(i, i + batch).map((a) => object(a, labels)));
  for (let i = 0; i < batches.length; i += parallel) {
    await Promise.all(batches.slice(i, i + parallel).map((b) => kubectl(c, apply, list(b))));
  }
}

/** Waits until `count` Deployments matching `selector` are available with their only replica updated and ready. */
export async function waitAvailable(
  c: BenchCluster,
  selector: string,
  count: number,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const t0 = Date.now();
  let last = -1;
  for (;;) {
    const out = await kubectl(c, [
      'get',
      'deployments',
      '--all-namespaces',
      '--selector',
      selector,
      '-o',
      'jsonpath={range .items[*]}{.status.availableReplicas}/{.status.updatedReplicas}/{.status.replicas}{"\\n"}{end}',
    ]);
    const ready = out.split('\n').filter((l) => l === '1/1/1').length;
    if (ready >= count) break;
    if (ready !== last && Date.now() - t0 > 10_000) log(`  ${ready}/${count} available`);
    last = ready;
    if (Date.now() > deadline)
      throw new Error(`only ${ready} of ${count} Deployments (${selector}) became available in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** Waits until `count` pods matching `selector` are Ready (a mixed fleet: one pod per running workload). */
export async function waitPodsReady(
  c: BenchCluster,
  selector: string,
  count: number,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await kubectl(c, [
      'get',
      'pods',
      '--all-namespaces',
      '--selector',
      selector,
      '-o',
      'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    const ready = out.split('\n').filter((l) => l === 'True').length;
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} pods (${selector}) became Ready in ${timeoutMs / 1000} s`);
    log(`  ${ready}/${count} pods Ready`);
    await new Promise((r) => setTimeout(r, 3_000));
  }
}

/** Namespaces `prefix-000` … with `perNamespace` apps `app-0000` … each, numbered across the whole set. */
export function appsIn(prefix: string, namespaces: number, total: number, from = 0): App[] {
  const apps: App[] = [];
  for (let i = from; i < total; i++)
    apps.push({ namespace: `${prefix}-${String(i % namespaces).padStart(3, '0')}`, name: `app-${String(i).padStart(4, '0')}` });
  return apps;
}
