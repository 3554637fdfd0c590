// Workloads that look like a real Dapr user's cluster: Dapr-enabled Deployments in three namespaces, a Dapr-enabled
// StatefulSet and DaemonSet, one app pinned to a custom sidecar image, and a plain web app without Dapr. daprup's
// restart and verify steps are exercised against these. Idempotent (kubectl apply).
import { spawn } from 'node:child_process';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface SampleWorkload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** dapr.io/app-id, or undefined for the app without Dapr. */
  appId?: string;
  /** dapr.io/sidecar-image when the app pins its sidecar. */
  pinnedSidecarImage?: string;
}

export interface SampleApps {
  namespaces: string[];
  workloads: SampleWorkload[];
}

export const PINNED_SIDECAR_IMAGE = 'ghcr.io/dapr/daprd:1.14.4-custom';

interface AppSpec {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  replicas?: number;
  dapr?: { appId: string; appPort: number; sidecarImage?: string };
  volume?: boolean;
}

const APPS: AppSpec[] = [
  { kind: 'Deployment', namespace: 'apps-a', name: 'orders', replicas: 2, dapr: { appId: 'orders', appPort: 8080 } },
  { kind: 'Deployment', namespace: 'apps-a', name: 'checkout', replicas: 1, dapr: { appId: 'checkout', appPort: 3000 } },
  { kind: 'Deployment', namespace: 'apps-b', name: 'inventory', replicas: 2, dapr: { appId: 'inventory', appPort: 8080 } },
  { kind: 'StatefulSet', namespace: 'apps-b', name: 'ledger', replicas: 2, dapr: { appId: 'ledger', appPort: 5000 }, volume: true },
  {
    kind: 'Deployment',
    namespace: 'apps-b',
    name: 'payments-legacy',
    replicas: 1,
    dapr: { appId: 'payments-legacy', appPort: 8080, sidecarImage: PINNED_SIDECAR_IMAGE },
  },
  { kind: 'DaemonSet', namespace: 'apps-c', name: 'node-agent', dapr: { appId: 'node-agent', appPort: 9000 } },
  { kind: 'Deployment', namespace: 'apps-c', name: 'plain-web', replicas: 2 },
];

export async function deploySampleApps(kubectl: string, kubeconfig: string): Promise<SampleApps> {
  const namespaces = [...new Set(APPS.map((a) => a.namespace))];
  const items = [...namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })), ...APPS.map(manifest)];
  await waitForTerminatingNamespaces(kubectl, kubeconfig, namespaces);
  await run(kubectl, kubeconfig, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await Promise.all(
    APPS.map((a) =>
      run(kubectl, kubeconfig, ['-n', a.namespace, 'rollout', 'status', `${a.kind.toLowerCase()}/${a.name}`, '--timeout=120s']),
    ),
  );
  return {
    namespaces,
    workloads: APPS.map((a) => ({
      kind: a.kind,
      namespace: a.namespace,
      name: a.name,
      ...(a.dapr ? { appId: a.dapr.appId } : {}),
      ...(a.dapr?.sidecarImage ? { pinnedSidecarImage: a.dapr.sidecarImage } : {}),
    })),
  };
}

/** A namespace still being deleted (e.g. by an earlier test's cleanup) rejects new objects: wait it out. */
async function waitForTerminatingNamespaces(kubectl: string, kubeconfig: string, namespaces: string[]): Promise<void> {
  const out = await run(kubectl, kubeconfig, ['get', 'namespaces', '-o', 'json']);
  const all = (JSON.parse(out) as { items: { metadata: { name: string }; status?: { phase?: string } }[] }).items;
  const terminating = all.filter((n) => namespaces.includes(n.metadata.name) && n.status?.phase === 'Terminating');
  if (terminating.length === 0) return;
  await run(kubectl, kubeconfig, ['wait', '--for=delete', ...terminating.map((n) => `namespace/${n.metadata.name}`), '--timeout=180s']);
}

function manifest(app: AppSpec): unknown {
  const labels = { app: app.name };
  const annotations: Record<string, string> = app.dapr
    ? {
        'dapr.io/enabled': 'true',
        'dapr.io/app-id': app.dapr.appId,
        'dapr.io/app-port': String(app.dapr.appPort),
        'dapr.io/log-level': 'info',
        ...(app.dapr.sidecarImage ? { 'dapr.io/sidecar-image': app.dapr.sidecarImage } : {}),
      }
    : {};
  const template = {
    metadata: { labels, annotations },
    spec: {
      containers: [
        {
          name: app.name,
          image: `ghcr.io/example/${app.name}:1.0.0`,
          ports: [{ containerPort: app.dapr?.appPort ?? 8080 }],
          ...(app.volume ? { volumeMounts: [{ name: 'data', mountPath: '/data' }] } : {}),
        },
      ],
    },
  };
  const spec: Record<string, unknown> = { selector: { matchLabels: labels }, template };
  if (app.kind !== 'DaemonSet') spec.replicas = app.replicas ?? 1;
  if (app.kind === 'StatefulSet') {
    spec.serviceName = app.name;
    if (app.volume) {
      spec.volumeClaimTemplates = [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      ];
    }
  }
  return { apiVersion: 'apps/v1', kind: app.kind, metadata: { name: app.name, namespace: app.namespace, labels }, spec };
}

export function run(kubectl: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${err.trim()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

/**
 * Revisions per sample workload, `namespace/owner` → count, from `kubectl get replicasets,controllerrevisions -A`
 * items (ReplicaSets of a Deployment, ControllerRevisions of a StatefulSet or DaemonSet): a rollout restart adds one.
 */
export function countRevisions(
  items: readonly { metadata: { namespace?: string; ownerReferences?: { name: string }[] } }[],
  namespaces: readonly string[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of items) {
    const owner = o.metadata.ownerReferences?.[0]?.name;
    if (!owner || !namespaces.includes(o.metadata.namespace ?? '')) continue;
    const key = `${o.metadata.namespace}/${owner}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
