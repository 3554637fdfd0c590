// A stand-in for Dapr's sidecar injector: an HTTPS mutating admission webhook served by this Node process. Like the
// real one, it adds a `daprd` container to pods annotated dapr.io/enabled: "true", with the image taken from the
// SIDECAR_IMAGE env of the dapr-sidecar-injector Deployment (or the pod's dapr.io/sidecar-image annotation), so an
// upgrade's "restart to pick up the new sidecar" is observable. No injector Deployment -> no injection.
//
// Native sidecars (Dapr 1.18+, dapr/dapr #9450), from dapr/dapr:
// - pkg/injector/service/config.go: the injector reads NATIVE_SIDECAR_ENABLED from its environment and parses it with
//   IsTruthy (unset -> false). The chart (charts/dapr/charts/dapr_sidecar_injector, dapr/helm-charts from 1.18.0)
//   always renders it on the Deployment from the value dapr_sidecar_injector.nativeSidecar (default false).
// - pkg/injector/service/pod_patch.go sets that as the default, then SidecarConfig.SetFromPodAnnotations
//   (pkg/injector/patcher/sidecar.go) overrides it whenever the pod has dapr.io/enable-native-sidecar, with any value:
//   the annotation wins in both directions ("false" turns native off on a cluster that has it on).
// - pkg/injector/patcher/sidecar_patcher.go GetPatch: native -> daprd is appended to spec.initContainers (after the
//   pod's own init containers; the list is created first when empty) instead of spec.containers;
//   sidecar_container.go adds restartPolicy: Always. The container is still named daprd, labels are the same.
// - podContainsSidecarContainer: a daprd in spec.containers or spec.initContainers means "already injected".
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeApi } from './kube-api.js';
import { issueCert, type Pki } from './pki.js';
import { waitUntil } from './wait.js';

export const WEBHOOK_CONFIGURATION_NAME = 'daprup-sandbox-injector';
const INJECTOR_DEPLOYMENT = 'dapr-sidecar-injector';
const PROBE_POD = 'daprup-sandbox-injector-probe';
export const ANNOTATION_ENABLE_NATIVE_SIDECAR = 'dapr.io/enable-native-sidecar';
export const ENV_NATIVE_SIDECAR_ENABLED = 'NATIVE_SIDECAR_ENABLED';

export interface InjectorOptions {
  api: KubeApi;
  pki: Pki;
  /** How long one injector-Deployment lookup is reused (bursts of pod creations in a rollout). Default 250 ms. */
  cacheMs?: number;
  log?: (line: string) => void;
}

export interface Injector {
  url: string;
  stop(): Promise<void>;
}

interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string }[];
  restartPolicy?: string;
}
interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Pod {
  metadata?: ObjectMeta;
  spec?: { containers?: Container[]; initContainers?: Container[] };
}
interface Deployment {
  metadata: ObjectMeta;
  spec: { template: { spec: { containers: Container[] } } };
}
interface AdmissionReview {
  request?: { uid: string; name?: string; dryRun?: boolean; object?: Pod };
}
type JsonPatchOp = { op: 'add'; path: string; value: unknown };

/** The part of the real injector's configuration (its Deployment's env) that the stand-in acts on. */
export interface InjectorConfig {
  /** SIDECAR_IMAGE. */
  sidecarImage: string;
  /** NATIVE_SIDECAR_ENABLED through IsTruthy; false when unset, as in Dapr before 1.18. */
  nativeSidecar: boolean;
}

export async function startInjector(opts: InjectorOptions): Promise<Injector> {
  const log = opts.log ?? (() => {});
  const cert = await issueCert(opts.pki, 'injector', '/CN=daprup-sandbox-injector', { ips: ['127.0.0.1'] });
  const lookup = cachedInjectorConfigLookup(opts.api, opts.cacheMs ?? 250);
  let probed = false;

  async function review(body: AdmissionReview): Promise<unknown> {
    const req = body.request;
    if (!req) throw new Error('AdmissionReview without request');
    if (req.dryRun && req.object?.metadata?.name === PROBE_POD) probed = true;
    const pod = req.object ?? {};
    const ops = await mutate(pod, lookup);
    const response: Record<string, unknown> = { uid: req.uid, allowed: true };
    if (ops.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const out = await review(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (err) {
      // failurePolicy Ignore: the pod is admitted unmodified, as when a real injector is down.
      log(`injector: ${String(err)}`);
      res.writeHead(500);
      res.end(String(err));
    }
  }

  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => log(`injector: ${String(err)}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref(); // never keeps a test process alive on its own
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`;

  await register(opts.api, url, opts.pki.ca);
  // The apiserver picks up webhook configurations through an informer: wait until it really calls us.
  await waitUntil(
    async () => {
      await opts.api.raw('POST', '/api/v1/namespaces/default/pods?dryRun=All', probePod());
      return probed;
    },
    30_000,
    'the apiserver never called the sidecar injector webhook',
  );
  log(`injector: ${url}`);

  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The apiserver keeps its webhook connections open; close() alone would wait for them forever.
        server.closeAllConnections();
      }),
  };
}

/**
 * The JSON patch for one pod: a daprd container (or native sidecar init container) and the injected label, or
 * nothing. injectorConfig resolves undefined when no injector is installed.
 */
export async function mutate(pod: Pod, injectorConfig: () => Promise<InjectorConfig | undefined>): Promise<JsonPatchOp[]> {
  const annotations = pod.metadata?.annotations ?? {};
  if (!isTruthy(annotations['dapr.io/enabled'])) return [];
  const initContainers = pod.spec?.initContainers ?? [];
  if ([...(pod.spec?.containers ?? []), ...initContainers].some((c) => c.name === 'daprd')) return [];
  const config = await injectorConfig();
  if (config === undefined) return []; // no injector installed: nothing injects
  const image = annotations['dapr.io/sidecar-image'] || config.sidecarImage;
  const appId = annotations['dapr.io/app-id'] ?? pod.metadata?.name ?? '';
  // Present with any value, the annotation decides; absent, the injector's setting does.
  const native = Object.hasOwn(annotations, ANNOTATION_ENABLE_NATIVE_SIDECAR)
    ? isTruthy(annotations[ANNOTATION_ENABLE_NATIVE_SIDECAR])
    : config.nativeSidecar;
  const daprd = {
    name: 'daprd',
    image,
    args: ['./daprd', '--app-id', appId, '--mode', 'kubernetes'],
    ports: [
      { name: 'dapr-http', containerPort: 3500 },
      { name: 'dapr-grpc', containerPort: 50001 },
    ],
    ...(native ? { restartPolicy: 'Always' } : {}),
  };
  const ops: JsonPatchOp[] = [];
  if (native && initContainers.length === 0) ops.push({ op: 'add', path: '/spec/initContainers', value: [] });
  ops.push({ op: 'add', path: native ? '/spec/initContainers/-' : '/spec/containers/-', value: daprd });
  if (pod.metadata?.labels) {
    ops.push({ op: 'add', path: '/metadata/labels/dapr.io~1sidecar-injected', value: 'true' });
  } else {
    ops.push({ op: 'add', path: '/metadata/labels', value: { 'dapr.io/sidecar-injected': 'true' } });
  }
  return ops;
}

/** dapr/kit strings.IsTruthy, which the real injector applies to dapr.io/enabled, dapr.io/enable-native-sidecar and NATIVE_SIDECAR_ENABLED. */
function isTruthy(value: string | undefined): boolean {
  return ['y', 'yes', 'true', 't', 'on', '1'].includes((value ?? '').trim().toLowerCase());
}

/** The config of the dapr-sidecar-injector Deployment in any namespace, looked up at most once per cacheMs. */
function cachedInjectorConfigLookup(api: KubeApi, cacheMs: number): () => Promise<InjectorConfig | undefined> {
  let cached: { at: number; value: Promise<InjectorConfig | undefined> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) {
      const value = findInjectorConfig(api);
      cached = { at: now, value };
      value.catch(() => {
        cached = undefined; // do not cache failures
      });
    }
    return cached.value;
  };
}

async function findInjectorConfig(api: KubeApi): Promise<InjectorConfig | undefined> {
  const list = await api.get<{ items: Deployment[] }>(
    `/apis/apps/v1/deployments?fieldSelector=${encodeURIComponent(`metadata.name=${INJECTOR_DEPLOYMENT}`)}`,
  );
  // Dapr's chart labels it app=dapr-sidecar-injector; prefer that one if the name is somehow taken twice.
  const sorted = [...list.items].sort(
    (a, b) => Number(b.metadata.labels?.app === INJECTOR_DEPLOYMENT) - Number(a.metadata.labels?.app === INJECTOR_DEPLOYMENT),
  );
  for (const d of sorted) {
    for (const c of d.spec.template.spec.containers) {
      const env = (name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
      const sidecarImage = env('SIDECAR_IMAGE');
      if (sidecarImage) return { sidecarImage, nativeSidecar: isTruthy(env(ENV_NATIVE_SIDECAR_ENABLED)) };
    }
  }
  return undefined;
}

async function register(api: KubeApi, url: string, ca: string): Promise<void> {
  const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
  await api.raw('DELETE', `${path}/${WEBHOOK_CONFIGURATION_NAME}`); // a previous test process's port is stale
  await api.request('POST', path, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIGURATION_NAME },
    webhooks: [
      {
        name: 'sidecar-injector.sandbox.daprup.dev',
        clientConfig: { url, caBundle: Buffer.from(ca).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
      },
    ],
  });
}

function probePod(): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: PROBE_POD },
    spec: { containers: [{ name: 'probe', image: 'probe' }] },
  };
}
