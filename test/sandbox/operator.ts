// A stand-in for the one thing Dapr's operator does to the cluster that an upgrade can undo: it patches the
// conversion webhook of the Subscription CRD. Containers never run in the sandbox, so without this the CRD would
// keep the chart's `namespace: replaceme` for ever, and a tool that resets it (re-applying the chart's CRDs) would
// look harmless.
//
// What it models, from dapr/dapr pkg/operator/operator.go:
// - operator.Start runs, on every replica (it is not leader-elected), a loop that calls
//   patchConversionWebhooksInCRDs(ctx, caBundle, config, "subscriptions.dapr.io") once with the current trust
//   anchors, then again each time WatchTrustAnchors reports new anchors. Here: once per new dapr-operator pod
//   (label app=dapr-operator, any namespace) that is Running and Ready, and again when the ca.crt of that
//   namespace's dapr-trust-bundle ConfigMap (mounted as --trust-anchors-file) changes while the pod runs.
// - patchConversionWebhooksInCRDs gets the CRD; without spec.conversion.webhook.clientConfig (or without the CRD)
//   it returns an error and the operator exits, so the kubelet restarts it with CrashLoopBackOff. Here: retried
//   after 10 s, doubling up to 5 min, while the pod exists.
// - It skips the CRD when clientConfig.service.namespace is the operator's namespace and caBundle equals the
//   anchors; otherwise it sends the JSON patch [replace .../service/namespace, replace .../caBundle] (the bytes
//   marshal to base64). The manager recorded for that write is the binary's name, `operator`.
// - ENABLE_WEBHOOKS=false in the operator's environment turns all of this off.
// - It never watches the CRD: re-applying it with `replaceme` leaves it broken until an operator pod restarts
//   or the trust anchors change. That is the behaviour an upgrade tool must cope with, so it is kept.
import { KubeApiError, type KubeApi } from './kube-api.js';

export const SUBSCRIPTION_CRD = 'subscriptions.dapr.io';
const CRD_PATH = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${SUBSCRIPTION_CRD}`;
const TRUST_BUNDLE = 'dapr-trust-bundle';
// The real operator's client-go user agent starts with its binary name, which the apiserver records as manager.
const FIELD_MANAGER = 'operator';
const CRASH_BACKOFF_MS = { first: 10_000, max: 300_000 };

export interface OperatorOptions {
  api: KubeApi;
  /** How often pods and trust-anchor ConfigMaps are polled. Default 500 ms. */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface Operator {
  stop(): Promise<void>;
}

interface Pod {
  metadata: { uid: string; name: string; namespace: string; deletionTimestamp?: string };
  spec: { containers: { env?: { name: string; value?: string }[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

interface Crd {
  spec?: { conversion?: { webhook?: { clientConfig?: { service?: { namespace?: string }; caBundle?: string } } } };
}

/** What one operator pod has done: the anchors it patched with, or when it may try again after an error. */
interface PodState {
  anchors?: string;
  retryAt?: number;
  backoffMs?: number;
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const { api } = opts;
  const log = opts.log ?? (() => {});
  const intervalMs = opts.intervalMs ?? 500;
  const pods = new Map<string, PodState>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  async function reconcile(): Promise<void> {
    const list = await api.get<{ items: Pod[] }>(`/api/v1/pods?labelSelector=${encodeURIComponent('app=dapr-operator')}`);
    const running = list.items.filter(isRunningAndReady).filter((p) => !webhooksDisabled(p));
    const seen = new Set(running.map((p) => p.metadata.uid));
    for (const uid of pods.keys()) if (!seen.has(uid)) pods.delete(uid);
    const anchorsByNamespace = new Map<string, Promise<string | undefined>>();
    for (const pod of running) {
      const { uid, namespace, name } = pod.metadata;
      const state = pods.get(uid) ?? {};
      pods.set(uid, state);
      if (state.retryAt !== undefined && Date.now() < state.retryAt) continue;
      if (!anchorsByNamespace.has(namespace)) anchorsByNamespace.set(namespace, trustAnchors(api, namespace));
      const anchors = await anchorsByNamespace.get(namespace)!;
      if (anchors === undefined || anchors === state.anchors) continue; // no file to read yet, or nothing new
      try {
        const patched = await patchConversionWebhook(api, namespace, Buffer.from(anchors));
        log(`operator ${namespace}/${name}: ${patched ? `patched CRD ${SUBSCRIPTION_CRD}` : `CRD ${SUBSCRIPTION_CRD} is up to date`}`);
        pods.set(uid, { anchors });
      } catch (err) {
        const backoffMs = state.backoffMs === undefined ? CRASH_BACKOFF_MS.first : Math.min(state.backoffMs * 2, CRASH_BACKOFF_MS.max);
        log(`operator ${namespace}/${name}: ${String(err)}; restarting in ${backoffMs / 1000} s`);
        pods.set(uid, { ...state, retryAt: Date.now() + backoffMs, backoffMs });
      }
    }
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick = reconcile()
        .catch((err: unknown) => log(`operator: ${String(err)}`)) // the apiserver may be down for a moment
        .finally(schedule);
    }, intervalMs);
    timer.unref(); // never keeps a test process alive on its own
  };
  schedule();
  log('operator: watching dapr-operator pods');

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await tick;
    },
  };
}

function isRunningAndReady(p: Pod): boolean {
  return (
    !p.metadata.deletionTimestamp &&
    p.status?.phase === 'Running' &&
    Boolean(p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  );
}

/** operator.Start: `enableConversionWebhooks := !strings.EqualFold(os.Getenv("ENABLE_WEBHOOKS"), "false")`. */
function webhooksDisabled(p: Pod): boolean {
  return p.spec.containers.some((c) => c.env?.some((e) => e.name === 'ENABLE_WEBHOOKS' && (e.value ?? '').toLowerCase() === 'false'));
}

/** ca.crt of the namespace's trust-bundle ConfigMap, which the operator reads as --trust-anchors-file. */
async function trustAnchors(api: KubeApi, namespace: string): Promise<string | undefined> {
  const res = await api.raw('GET', `/api/v1/namespaces/${namespace}/configmaps/${TRUST_BUNDLE}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new KubeApiError('GET', `configmap ${namespace}/${TRUST_BUNDLE}`, res.status, res.body);
  return (JSON.parse(res.body) as { data?: Record<string, string> }).data?.['ca.crt'];
}

/** patchConversionWebhooksInCRDs for the one CRD the operator names. Resolves true when it patched. */
export async function patchConversionWebhook(api: KubeApi, namespace: string, caBundle: Buffer): Promise<boolean> {
  const res = await api.raw('GET', CRD_PATH);
  if (res.status !== 200) throw new Error(`could not get CRD "${SUBSCRIPTION_CRD}": ${res.status}`);
  const clientConfig = (JSON.parse(res.body) as Crd).spec?.conversion?.webhook?.clientConfig;
  if (!clientConfig) {
    throw new Error(`crd "${SUBSCRIPTION_CRD}" does not have an existing webhook client config. Applying resources of this type will fail`);
  }
  if (
    clientConfig.service?.namespace === namespace &&
    clientConfig.caBundle !== undefined &&
    Buffer.from(clientConfig.caBundle, 'base64').equals(caBundle)
  ) {
    return false;
  }
  await api.jsonPatch(`${CRD_PATH}?fieldManager=${FIELD_MANAGER}`, [
    { op: 'replace', path: '/spec/conversion/webhook/clientConfig/service/namespace', value: namespace },
    { op: 'replace', path: '/spec/conversion/webhook/clientConfig/caBundle', value: caBundle.toString('base64') },
  ]);
  return true;
}
