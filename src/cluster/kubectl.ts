// Adapter for kubectl: typed methods that build argument arrays and parse `-o json`.
import { CommandError, type CommandResult, type CommandRunner, type RunOptions } from './runner.js';
import type { K8sObject, List } from './k8s-types.js';

export interface KubeTarget {
  kubeconfig?: string;
  kubeContext?: string;
}

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  ignoreNotFound?: boolean;
}

/** `kind/name`, as kubectl rollout accepts it. */
export type ResourceRef = string;

/** Kinds `listRaw` reads straight from the API: path prefix, apiVersion, kind. */
const API_LISTS = {
  pods: ['/api/v1', 'v1', 'Pod'],
  deployments: ['/apis/apps/v1', 'apps/v1', 'Deployment'],
  statefulsets: ['/apis/apps/v1', 'apps/v1', 'StatefulSet'],
  daemonsets: ['/apis/apps/v1', 'apps/v1', 'DaemonSet'],
  // Argo Rollouts' CRD, where installed: a cluster without it answers 404 and listRaw returns nothing.
  rollouts: ['/apis/argoproj.io/v1alpha1', 'argoproj.io/v1alpha1', 'Rollout'],
} as const;
const OPTIONAL_LISTS: ReadonlySet<RawListResource> = new Set(['rollouts']);
/** What `kubectl get --raw` prints when a resource type is not served (its CRD is absent). */
const NOT_SERVED = /NotFound|the server could not find the requested resource|404/;
export type RawListResource = keyof typeof API_LISTS;
/** What `kubectl get <kind>` prints when the server does not serve that kind (its CRD is absent). */
const UNKNOWN_TYPE = /the server doesn't have a resource type|could not find the requested resource|no matches for kind/;

/** Errors that say the API server is unreachable for now, not that the request was wrong. */
const TRANSIENT =
  /Unable to connect to the server|connection refused|connection reset|i\/o timeout|TLS handshake timeout|unexpected EOF|Client\.Timeout exceeded|http2: client connection lost|the server is currently unable to handle the request|the server was unable to return a response|etcdserver: request timed out|ServiceUnavailable|net\/http: request canceled/;

/** A read that gets no answer in this time is abandoned and retried (a stopped API server accepts and hangs). */
const READ_TIMEOUT_MS = 30_000;

/** How long reads keep retrying an unreachable API server ($DAPRUP_API_RETRY_SECONDS, default 60). */
const retryBudgetMs = () => Number(process.env.DAPRUP_API_RETRY_SECONDS ?? 60) * 1000;

export class Kubectl {
  constructor(
    private readonly runner: CommandRunner,
    readonly binary: string,
    private readonly target: KubeTarget = {},
  ) {}

  private global(): string[] {
    const args: string[] = [];
    if (this.target.kubeconfig) args.push('--kubeconfig', this.target.kubeconfig);
    if (this.target.kubeContext) args.push('--context', this.target.kubeContext);
    return args;
  }

  /** The argument array for a call, so plans can show exactly what will run. */
  argv(...args: string[]): string[] {
    return [...this.global(), ...args];
  }

  commandLine(...args: string[]): string[] {
    return [this.binary, ...this.argv(...args)];
  }

  /**
   * A read that survives a short API server outage: retried with backoff while the error is transient.
   * Writes are never retried here: a lost answer could mean a restart happened; the journal decides that.
   */
  private async read(args: string[], options: RunOptions = {}): Promise<CommandResult> {
    const deadline = Date.now() + retryBudgetMs();
    for (let delay = 1000; ; delay = Math.min(delay * 2, 8000)) {
      try {
        return await this.runner.run(this.binary, this.argv(...args), { timeoutMs: READ_TIMEOUT_MS, ...options });
      } catch (e) {
        if (!(e instanceof CommandError) || !TRANSIENT.test(e.stderr) || Date.now() + delay > deadline) throw e;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async json<T>(args: string[]): Promise<T> {
    const { stdout } = await this.read(args);
    return JSON.parse(stdout) as T;
  }

  /** Client and server versions in one call; fails when the cluster cannot be reached. */
  async versions(): Promise<{ client: string; server: string }> {
    const v = await this.json<{ clientVersion: { gitVersion: string }; serverVersion?: { gitVersion: string } }>([
      'version',
      '-o',
      'json',
      '--request-timeout=15s',
    ]);
    return { client: v.clientVersion.gitVersion, server: v.serverVersion?.gitVersion ?? 'unknown' };
  }

  /** The kube-system namespace uid names a cluster for the run journal (context names are not unique). */
  async clusterId(): Promise<string> {
    const ns = await this.json<K8sObject>(['get', 'namespace', 'kube-system', '-o', 'json']);
    return ns.metadata.uid ?? 'unknown';
  }

  async namespaceUid(name: string): Promise<string | undefined> {
    return (await this.getOptional<K8sObject>('namespace', name))?.metadata.uid;
  }

  getArgs(resources: string | readonly string[], o: GetOptions = {}): string[] {
    const args = ['get', ...(typeof resources === 'string' ? [resources] : resources), '-o', 'json'];
    if (o.allNamespaces) args.push('--all-namespaces');
    else if (o.namespace) args.push('--namespace', o.namespace);
    if (o.selector) args.push('--selector', o.selector);
    if (o.ignoreNotFound) args.push('--ignore-not-found');
    return args;
  }

  /** The whole command line of a `get`, as plans show it. */
  getArgv(resources: string | readonly string[], o: GetOptions = {}): string[] {
    return this.commandLine(...this.getArgs(resources, o));
  }

  async list<T extends K8sObject>(resources: string | readonly string[], o: GetOptions = {}): Promise<T[]> {
    const { stdout } = await this.read(this.getArgs(resources, o));
    // --ignore-not-found prints nothing at all when nothing matched.
    return stdout.trim() ? ((JSON.parse(stdout) as List<T>).items ?? []) : [];
  }

  /**
   * `list` of a kind that only some clusters serve (a CRD such as VolumeSnapshotClass): nothing when the server
   * does not know the resource type, where `list` would fail.
   */
  async listIfServed<T extends K8sObject>(resources: string, o: GetOptions = {}): Promise<T[]> {
    try {
      return await this.list<T>(resources, o);
    } catch (e) {
      if (e instanceof CommandError && UNKNOWN_TYPE.test(e.stderr)) return [];
      throw e;
    }
  }

  /** `kubectl get --raw` of a list path (namespace and selector as query), as the fleet-scale reads use it. */
  rawListArgs(resource: RawListResource, o: { namespace?: string; selector?: string } = {}): string[] {
    const [prefix] = API_LISTS[resource];
    const path = `${prefix}${o.namespace ? `/namespaces/${encodeURIComponent(o.namespace)}` : ''}/${resource}`;
    return ['get', '--raw', o.selector ? `${path}?labelSelector=${encodeURIComponent(o.selector)}` : path];
  }

  /**
   * Every object of one kind, as the API server sends it: kubectl passes `--raw` output through, where
   * `get -o json` decodes and re-encodes each object (about 1 ms of CPU per pod: seconds, and a 250 MB kubectl,
   * at 2,000 pods; the indented output is also twice the size). Items get back the kind and apiVersion the API
   * leaves off list items; managedFields are dropped, as `kubectl get` does.
   */
  async listRaw<T extends K8sObject>(resource: RawListResource, o: { namespace?: string; selector?: string } = {}): Promise<T[]> {
    const [, apiVersion, kind] = API_LISTS[resource];
    let stdout: string;
    try {
      ({ stdout } = await this.read(this.rawListArgs(resource, o)));
    } catch (e) {
      if (OPTIONAL_LISTS.has(resource) && e instanceof CommandError && NOT_SERVED.test(e.stderr)) return [];
      throw e;
    }
    const items = (JSON.parse(stdout) as List<T>).items ?? [];
    for (const item of items) {
      const obj = item as K8sObject;
      obj.apiVersion = apiVersion;
      obj.kind = kind;
      delete (obj.metadata as { managedFields?: unknown }).managedFields;
    }
    return items;
  }

  /** One named object, or undefined when it does not exist. */
  async getOptional<T extends K8sObject>(kind: string, name: string, namespace?: string): Promise<T | undefined> {
    const args = ['get', kind, name, '-o', 'json', '--ignore-not-found'];
    if (namespace) args.push('--namespace', namespace);
    const { stdout } = await this.read(args);
    return stdout.trim() ? (JSON.parse(stdout) as T) : undefined;
  }

  /** In one namespace, or (without one) in every namespace. */
  canIArgs(verb: string, resource: string, namespace?: string): string[] {
    return ['auth', 'can-i', verb, resource, ...(namespace ? ['--namespace', namespace] : ['--all-namespaces'])];
  }

  async canI(verb: string, resource: string, namespace?: string): Promise<boolean> {
    // can-i prints yes/no and exits 1 for "no".
    const { stdout } = await this.read(this.canIArgs(verb, resource, namespace), { okExitCodes: [1] });
    return stdout.trim() === 'yes';
  }

  applyServerSideArgs(path: string): string[] {
    return ['apply', '--server-side', '--force-conflicts', '--field-manager', 'daprup', '-f', path];
  }

  async applyServerSide(path: string): Promise<string> {
    return (await this.runner.run(this.binary, this.argv(...this.applyServerSideArgs(path)))).stdout;
  }

  /** `kubectl create -f -`: fails when the object exists (used for optimistic locking). */
  async create<T extends K8sObject>(obj: T): Promise<T> {
    const { stdout } = await this.runner.run(this.binary, this.argv('create', '-f', '-', '-o', 'json'), { input: JSON.stringify(obj) });
    return JSON.parse(stdout) as T;
  }

  /** `kubectl replace -f -`: with metadata.resourceVersion set, fails when someone else changed the object. */
  async replace<T extends K8sObject>(obj: T): Promise<T> {
    const { stdout } = await this.runner.run(this.binary, this.argv('replace', '-f', '-', '-o', 'json'), { input: JSON.stringify(obj) });
    return JSON.parse(stdout) as T;
  }

  async applyObject(obj: K8sObject): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.applyServerSideArgs('-')), { input: JSON.stringify(obj) });
  }

  deleteObjectArgs(kind: string, name: string, namespace: string): string[] {
    return ['delete', kind, name, '--namespace', namespace, '--ignore-not-found'];
  }

  async deleteObject(kind: string, name: string, namespace: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.deleteObjectArgs(kind, name, namespace)));
  }

  /**
   * The objects in `path` a server-side apply would change, each as 'create' (not in the cluster: kubectl diffs it
   * against an empty file, `@@ -0,0 …`) or 'update'. One call answers both questions.
   */
  async diffChanges(path: string): Promise<Map<string, 'create' | 'update'>> {
    const args = ['diff', '--server-side', '--force-conflicts', '--field-manager', 'daprup', '-f', path];
    const { stdout } = await this.runner.run(this.binary, this.argv(...args), { okExitCodes: [1] });
    const changes = new Map<string, 'create' | 'update'>();
    let current: string | undefined;
    for (const line of stdout.split('\n')) {
      const header = /^diff \S+ \S+ \S*\/LIVE-[^/]+\/\S*?\.[A-Z][A-Za-z]*\.[a-z0-9-]*\.(\S+)\s/.exec(line);
      if (header) {
        current = header[1]!;
        changes.set(current, 'update');
      } else if (current && line.startsWith('@@ ')) {
        if (line.startsWith('@@ -0,0 ')) changes.set(current, 'create');
        current = undefined; // only the first hunk tells
      }
    }
    return changes;
  }

  deleteStatefulSetArgs(name: string, namespace: string, timeout: string): string[] {
    // The default (background) cascade: orphaned pods wedge the new StatefulSet (dapr/dapr#10468).
    return ['delete', 'statefulset', name, '--namespace', namespace, '--cascade=background', '--wait=true', `--timeout=${timeout}`];
  }

  async deleteStatefulSet(name: string, namespace: string, timeout: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.deleteStatefulSetArgs(name, namespace, timeout)));
  }

  waitPodsGoneArgs(namespace: string, selector: string, timeout: string): string[] {
    return ['wait', 'pods', '--for=delete', '--namespace', namespace, '--selector', selector, `--timeout=${timeout}`];
  }

  /** Waits until no pod matching the selector is left (the deleted StatefulSet's pods). */
  async waitPodsGone(namespace: string, selector: string, timeout: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.waitPodsGoneArgs(namespace, selector, timeout)));
  }

  rolloutRestartArgs(namespace: string, refs: readonly ResourceRef[]): string[] {
    return ['rollout', 'restart', ...refs, '--namespace', namespace];
  }

  async rolloutRestart(namespace: string, refs: readonly ResourceRef[]): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.rolloutRestartArgs(namespace, refs)));
  }

  rolloutStatusArgs(namespace: string, ref: ResourceRef, timeout: string): string[] {
    return ['rollout', 'status', ref, '--namespace', namespace, `--timeout=${timeout}`];
  }

  async rolloutStatus(namespace: string, ref: ResourceRef, timeout: string): Promise<void> {
    // A wait is a read: after an outage it is simply waited again (its own --timeout bounds it).
    await this.read(this.rolloutStatusArgs(namespace, ref, timeout), { timeoutMs: undefined });
  }

  /** `kubectl argo rollouts restart` without the plugin: it merge-patches spec.restartAt to the current time. */
  restartRolloutArgs(namespace: string, names: readonly string[], at: string): string[] {
    return [
      'patch',
      'rollouts.argoproj.io',
      ...names,
      '--namespace',
      namespace,
      '--type',
      'merge',
      '--patch',
      JSON.stringify({ spec: { restartAt: at } }),
    ];
  }

  async restartRollout(namespace: string, names: readonly string[], at: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.restartRolloutArgs(namespace, names, at)));
  }

  /** Waits until a JSONPath of one object has a value (`kubectl wait --for=jsonpath=…`). */
  waitJsonPathArgs(namespace: string, ref: ResourceRef, path: string, value: string, timeout: string): string[] {
    return ['wait', ref, '--namespace', namespace, `--for=jsonpath={${path}}=${value}`, `--timeout=${timeout}`];
  }

  async waitJsonPath(namespace: string, ref: ResourceRef, path: string, value: string, timeout: string): Promise<void> {
    await this.read(this.waitJsonPathArgs(namespace, ref, path, value, timeout), { timeoutMs: undefined });
  }

  /**
   * Without waiting: a StatefulSet recreates the pod under the same name at once, and the caller waits for the
   * old uid to be gone and the replacement Ready itself.
   */
  deletePodArgs(namespace: string, name: string): string[] {
    return ['delete', 'pod', name, '--namespace', namespace, '--wait=false'];
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.deletePodArgs(namespace, name)));
  }

  /** Deletes the object in the manifest and creates it again from it (a bare Pod from its last-applied manifest). */
  replaceForceArgs(namespace: string): string[] {
    return ['replace', '--force', '--namespace', namespace, '-f', '-'];
  }

  async replaceForce(namespace: string, manifest: string): Promise<void> {
    await this.runner.run(this.binary, this.argv(...this.replaceForceArgs(namespace)), { input: manifest });
  }

  async waitPodReady(namespace: string, name: string, timeout: string): Promise<void> {
    await this.read(['wait', `pod/${name}`, '--namespace', namespace, '--for=condition=Ready', `--timeout=${timeout}`], {
      timeoutMs: undefined,
    });
  }
}
