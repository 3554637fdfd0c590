// A discovery-only stand-in for a Kubernetes API server, for `helm install/upgrade --dry-run=client` with
// helm 3. Helm 3 contacts the cluster even for a client dry run (reachability, capabilities, and a REST
// mapping for every rendered object) while helm 4 does not; this answers exactly those reads: /version,
// the discovery documents for the kinds a Dapr chart renders, and an empty release history (Secrets with
// the owner=helm label). It stores nothing; the objects it is given are served by GET, so a chart's
// `lookup` finds them in a `--dry-run=server` render (and finds nothing in a client dry run, as in
// `helm template`). Use with `--kube-apiserver <url> --disable-openapi-validation`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DiscoveryApi {
  url: string;
  stop(): Promise<void>;
}

/** group/version -> [plural, Kind, namespaced] of every kind the real and the fixture Dapr charts render. */
const RESOURCES: Record<string, Array<[string, string, boolean]>> = {
  v1: [
    ['configmaps', 'ConfigMap', true],
    ['secrets', 'Secret', true],
    ['services', 'Service', true],
    ['serviceaccounts', 'ServiceAccount', true],
    ['resourcequotas', 'ResourceQuota', true],
    ['namespaces', 'Namespace', false],
  ],
  'apps/v1': [
    ['deployments', 'Deployment', true],
    ['statefulsets', 'StatefulSet', true],
  ],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  'rbac.authorization.k8s.io/v1': [
    ['roles', 'Role', true],
    ['rolebindings', 'RoleBinding', true],
    ['clusterroles', 'ClusterRole', false],
    ['clusterrolebindings', 'ClusterRoleBinding', false],
  ],
  'admissionregistration.k8s.io/v1': [['mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false]],
  'apiextensions.k8s.io/v1': [['customresourcedefinitions', 'CustomResourceDefinition', false]],
  'dapr.io/v1alpha1': [
    ['configurations', 'Configuration', true],
    ['components', 'Component', true],
    ['resiliencies', 'Resiliency', true],
    ['httpendpoints', 'HTTPEndpoint', true],
    ['subscriptions', 'Subscription', true],
  ],
};

function discovery(path: string): unknown {
  if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.3', platform: 'linux/amd64' };
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    const groups = new Map<string, string[]>();
    for (const gv of Object.keys(RESOURCES).filter((k) => k.includes('/'))) {
      const [group, version] = gv.split('/') as [string, string];
      groups.set(group, [...(groups.get(group) ?? []), version]);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, versions]) => ({
        name,
        versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
        preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
      })),
    };
  }
  const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice('/apis/'.length) : undefined;
  const resources = gv === undefined ? undefined : RESOURCES[gv];
  if (!resources) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: resources.map(([name, kind, namespaced]) => ({
      name,
      singularName: kind.toLowerCase(),
      namespaced,
      kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    })),
  };
}

/** Minimal shape of an object served to `lookup`. */
export interface ServedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [field: string]: unknown;
}

/** The API path of an object, e.g. /apis/apps/v1/namespaces/dapr-system/statefulsets/dapr-scheduler-server. */
function objectPath(o: ServedObject): string {
  const resource = RESOURCES[o.apiVersion]?.find(([, kind]) => kind === o.kind);
  if (!resource) throw new Error(`discovery-api does not serve ${o.apiVersion} ${o.kind}`);
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  const ns = resource[2] ? `/namespaces/${o.metadata.namespace ?? 'default'}` : '';
  return `${base}${ns}/${resource[0]}/${o.metadata.name}`;
}

/**
 * Starts the server on 127.0.0.1. `objects` are served as they are: an object a release will adopt needs
 * Helm's ownership metadata (label app.kubernetes.io/managed-by=Helm, annotations meta.helm.sh/release-name
 * and -namespace), or an install dry run refuses it as an existing resource.
 */
export async function startDiscoveryApi(opts: { objects?: readonly ServedObject[] } = {}): Promise<DiscoveryApi> {
  const objects = new Map((opts.objects ?? []).map((o) => [objectPath(o), o] as const));
  const server = createServer((req, res) => {
    const path = (URL.parse(req.url ?? '/', 'http://api')?.pathname ?? '/').replace(/\/+$/, '') || '/';
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405 });
    // Helm's release history (storage driver "secret"): no releases.
    if (/^\/api\/v1\/namespaces\/[^/]+\/secrets$/.test(path))
      return send(200, { kind: 'SecretList', apiVersion: 'v1', metadata: {}, items: [] });
    const served = objects.get(path);
    if (served) return send(200, served);
    const doc = discovery(path);
    if (doc) return send(200, doc);
    send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
