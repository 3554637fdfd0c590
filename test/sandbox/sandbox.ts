// A real Kubernetes control plane on this machine, without Docker: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (simulated nodes and pod status), built once by build-control-plane.sh.
// Deployments, StatefulSets (with hostPath-provisioned PVCs), DaemonSets, rollouts, garbage collection and
// admission webhooks all behave as on a real cluster; containers never run. Two Dapr stand-ins run in this process:
// the sidecar injector (injector.ts) and the operator's Subscription CRD patch (operator.ts); on request, a third
// stand-in, for the Argo Rollouts controller (rollouts.ts), installs the Rollout CRD and reconciles Rollouts.
//
// Environment: DAPRUP_SANDBOX_CACHE (where the binaries are cached, default ~/.cache/daprup-sandbox),
// DAPRUP_SANDBOX_KEEP=1 (keep the work dir with logs after stop()).
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInjector, type Injector } from './injector.js';
import { KubeApi } from './kube-api.js';
import { startOperator, type Operator } from './operator.js';
import { createPki, type Pki } from './pki.js';
import { onHardExit, peakRssMiB, startComponent, stopComponent, type Component } from './processes.js';
import { startArgoRollouts, type ArgoRollouts } from './rollouts.js';
import { waitUntil } from './wait.js';

export interface SandboxOptions {
  /** Simulated nodes, all Ready and untainted. Default 3. */
  nodes?: number;
  /** Delay of kwok's pod-ready stage (how long a scheduled pod stays Pending). Default 0. */
  podReadyDelayMs?: number;
  /** Where certs, kubeconfig, kwok config and logs go. Default: a fresh temp dir, removed by stop(). */
  workDir?: string;
  /** kubectl reported back to tests. Default: the repo's .tools/helm4/kubectl, else kubectl on PATH. */
  kubectl?: string;
  /** Run the sidecar injector stand-in (injector.ts). Default true. */
  injector?: boolean;
  /** Run the operator stand-in (operator.ts: patches the Subscription CRD's conversion webhook). Default true. */
  operator?: boolean;
  /** Install the Rollout CRD and run the Argo Rollouts controller stand-in (rollouts.ts). Default false: no CRD. */
  argoRollouts?: boolean;
  log?: (line: string) => void;
}

export interface Sandbox {
  kubeconfig: string;
  context: string;
  workDir: string;
  binDir: string;
  apiServerUrl: string;
  kubectl: string;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const CONTEXT = 'daprup-sandbox';
const SERVICE_CIDR = '10.96.0.0/16';
const STORAGE_CLASS = 'standard';

interface Ctx {
  workDir: string;
  binDir: string;
  pki: Pki;
  kubeconfig: string;
  log: (line: string) => void;
  /** Every process started so far, in start order; stop() and failed starts stop exactly these. */
  components: Component[];
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const phase = (what: string): void => log(`sandbox: ${what} (+${Date.now() - t0} ms)`);

  const binDir = await buildControlPlane();
  phase(`binaries in ${binDir}`);
  const ownsWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'daprup-sandbox-')));
  await Promise.all(['logs', 'pids', 'kwok'].map((d) => mkdir(join(workDir, d), { recursive: true })));
  const advertiseAddress = hostAddress();
  const [pki, [etcdPort, etcdPeerPort, apiPort, kcmPort, schedulerPort]] = await Promise.all([
    createPki(join(workDir, 'pki'), [advertiseAddress]),
    freePorts(5),
  ]);
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(workDir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(apiServerUrl, pki), { mode: 0o600 });
  const components: Component[] = [];
  const ctx: Ctx = { workDir, binDir, pki, kubeconfig, log, components };
  const api = new KubeApi({ server: apiServerUrl, ca: pki.ca, cert: pki.admin.cert, key: pki.admin.key });
  phase('certificates and kubeconfig written');

  let injector: Injector | undefined;
  let operator: Operator | undefined;
  let argoRollouts: ArgoRollouts | undefined;
  let etcdDataDir: string | undefined;
  let stopped = false;

  const shutdown = async (keepWorkDir: boolean): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const stopStart = Date.now();
    await Promise.all([injector?.stop(), operator?.stop(), argoRollouts?.stop()]);
    await removeHostPathVolumes(api).catch(() => {}); // before the apiserver goes; hostPath dirs live in /tmp
    const peaks = components.map((c) => `${c.name} ${peakRssMiB(c) ?? '?'} MiB`);
    log(`sandbox: peak RSS: ${peaks.join(', ')}`);
    // Reverse start order: kwok and the controllers first, etcd last.
    const byName = (n: string) => components.filter((c) => c.name === n);
    await Promise.all(['kwok', 'kube-scheduler', 'kube-controller-manager'].flatMap(byName).map((c) => stopComponent(c)));
    for (const c of [...byName('kube-apiserver'), ...byName('etcd')]) await stopComponent(c);
    if (etcdDataDir) await rm(etcdDataDir, { recursive: true, force: true });
    if (!keepWorkDir) await rm(workDir, { recursive: true, force: true });
    dropHardExit();
    log(`sandbox: stopped in ${Date.now() - stopStart} ms`);
  };
  const stop = (): Promise<void> => shutdown(!ownsWorkDir || Boolean(process.env.DAPRUP_SANDBOX_KEEP));
  // If the process exits without stop() (Ctrl-C in vitest), processes.ts kills the components; this cleans up.
  const dropHardExit = onHardExit(() => {
    if (etcdDataDir) rmSync(etcdDataDir, { recursive: true, force: true });
    if (ownsWorkDir && !process.env.DAPRUP_SANDBOX_KEEP) rmSync(workDir, { recursive: true, force: true });
  });

  try {
    etcdDataDir = await etcdDataDirectory(workDir);
    await startEtcd(ctx, etcdDataDir, etcdPort!, etcdPeerPort!);
    phase('etcd healthy');
    await startApiServer(ctx, api, apiPort!, etcdPort!, advertiseAddress);
    phase('kube-apiserver ready');
    const kcm = startControllerManager(ctx, kcmPort!);
    const scheduler = await startScheduler(ctx, schedulerPort!);
    await startKwok(ctx, opts.podReadyDelayMs ?? 0);
    const anyExit = Promise.race(components.map((c) => c.exited));
    anyExit.catch(() => {}); // also rejects at stop(); only the waits below care
    await Promise.all([
      waitHealthz(kcm, kcmPort!, anyExit),
      waitHealthz(scheduler, schedulerPort!, anyExit),
      createNodes(api, opts.nodes ?? 3),
      createDefaultStorageClass(api),
    ]);
    phase('controller-manager and scheduler healthy, nodes and StorageClass created');
    await Promise.all([waitForReadyNodes(api, opts.nodes ?? 3, anyExit), waitForDefaultServiceAccount(api, anyExit)]);
    phase('nodes Ready, default ServiceAccount present');
    if (opts.injector ?? true) {
      injector = await startInjector({ api, pki, log });
      phase('sidecar injector registered');
    }
    if (opts.operator ?? true) operator = await startOperator({ api, log });
    if (opts.argoRollouts ?? false) {
      argoRollouts = await startArgoRollouts({ api, log });
      phase('Rollout CRD established, Argo Rollouts stand-in running');
    }
  } catch (err) {
    await shutdown(true).catch(() => {}); // keep the logs of a failed start
    throw new Error(`sandbox failed to start (logs in ${join(workDir, 'logs')}): ${String(err)}`, { cause: err });
  }

  return {
    kubeconfig,
    context: CONTEXT,
    workDir,
    binDir,
    apiServerUrl,
    kubectl: opts.kubectl ?? defaultKubectl(),
    stop,
  };
}

function launch(ctx: Ctx, name: string, bin: string, args: string[], env?: NodeJS.ProcessEnv): Component {
  const c = startComponent(ctx.workDir, name, bin, args, env);
  ctx.components.push(c);
  return c;
}

/** Runs build-control-plane.sh (instant when cached) and returns the bin dir it prints last. */
export async function buildControlPlane(): Promise<string> {
  const script = join(here, 'build-control-plane.sh');
  return new Promise((resolvePath, reject) => {
    // stderr inherited: a cold build takes tens of minutes and its progress should be visible.
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const binDir = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && existsSync(join(binDir, 'kube-apiserver'))) resolvePath(binDir);
      else reject(new Error(`${script} failed (exit ${code})`));
    });
  });
}

async function etcdDataDirectory(workDir: string): Promise<string> {
  // tmpfs when available: etcd 3.4 has no --unsafe-no-fsync, and fsync on disk dominates apiserver write latency.
  if (existsSync('/dev/shm')) return mkdtemp('/dev/shm/daprup-sandbox-etcd-');
  const dir = join(workDir, 'etcd');
  await mkdir(dir, { recursive: true });
  return dir;
}

async function startEtcd(ctx: Ctx, dataDir: string, port: number, peerPort: number): Promise<Component> {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const etcd = launch(ctx, 'etcd', join(ctx.binDir, 'etcd'), [
    '--name=sandbox',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=sandbox=${peer}`,
    '--initial-cluster-state=new',
    '--auto-compaction-retention=1',
    '--quota-backend-bytes=8589934592',
    '--logger=zap', // 3.4's default capnslog logger is deprecated and noisy
  ]);
  await waitUntil(
    async () => (await fetchText(httpGet, `${client}/health`)).includes('"health":"true"'),
    30_000,
    'etcd did not become healthy',
    { abort: etcd.exited },
  );
  return etcd;
}

async function startApiServer(ctx: Ctx, api: KubeApi, port: number, etcdPort: number, advertiseAddress: string): Promise<Component> {
  const { pki } = ctx;
  const apiserver = launch(ctx, 'kube-apiserver', join(ctx.binDir, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--etcd-prefix=/registry',
    // 0.0.0.0 + a non-loopback advertise address: the `kubernetes` Endpoints reject loopback addresses.
    '--bind-address=0.0.0.0',
    `--advertise-address=${advertiseAddress}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.admin.certFile}`,
    `--tls-private-key-file=${pki.admin.keyFile}`,
    `--client-ca-file=${pki.caFile}`,
    // The aggregation layer's front-proxy settings: without them kube-controller-manager and kube-scheduler log
    // "missing content for CA bundle ... requestheader-client-ca-file" every few seconds.
    `--requestheader-client-ca-file=${pki.caFile}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.admin.certFile}`,
    `--proxy-client-key-file=${pki.admin.keyFile}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--profiling=false',
  ]);
  await waitUntil(async () => (await api.raw('GET', '/readyz')).body === 'ok', 90_000, 'kube-apiserver did not become ready', {
    abort: apiserver.exited,
  });
  return apiserver;
}

function startControllerManager(ctx: Ctx, port: number): Component {
  return launch(ctx, 'kube-controller-manager', join(ctx.binDir, 'kube-controller-manager'), [
    `--kubeconfig=${ctx.kubeconfig}`,
    `--authentication-kubeconfig=${ctx.kubeconfig}`,
    `--authorization-kubeconfig=${ctx.kubeconfig}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--controllers=*',
    // Dynamic hostPath PVs (under /tmp/hostpath_pv) for the default StorageClass below.
    '--enable-hostpath-provisioner=true',
    `--root-ca-file=${ctx.pki.caFile}`,
    `--service-account-private-key-file=${ctx.pki.serviceAccountKeyFile}`,
    // The default 20/30 throttles bulk rollouts in benchmarks.
    '--kube-api-qps=500',
    '--kube-api-burst=1000',
  ]);
}

async function startScheduler(ctx: Ctx, port: number): Promise<Component> {
  // A config file because the client QPS (default 50, i.e. 50 pod bindings/s) has no flag any more.
  const config = join(ctx.workDir, 'kube-scheduler.yaml');
  await writeFile(
    config,
    JSON.stringify({
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: { kubeconfig: ctx.kubeconfig, qps: 500, burst: 1000 },
      leaderElection: { leaderElect: false },
    }),
  );
  return launch(ctx, 'kube-scheduler', join(ctx.binDir, 'kube-scheduler'), [
    `--config=${config}`,
    `--authentication-kubeconfig=${ctx.kubeconfig}`,
    `--authorization-kubeconfig=${ctx.kubeconfig}`,
    '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
  ]);
}

async function startKwok(ctx: Ctx, podReadyDelayMs: number): Promise<Component> {
  const config = join(ctx.workDir, 'kwok', 'kwok.yaml');
  await writeFile(config, await kwokStages(join(dirname(ctx.binDir), 'kwok-stages'), podReadyDelayMs));
  return launch(
    ctx,
    'kwok',
    join(ctx.binDir, 'kwok'),
    [
      `--kubeconfig=${ctx.kubeconfig}`,
      `--config=${config}`,
      '--manage-all-nodes=true',
      '--node-lease-duration-seconds=40',
      '--cidr=10.0.0.0/16', // the default /24 runs out of pod IPs at 254 pods
    ],
    // kwok also loads $KWOK_WORKDIR/kwok.yaml (default ~/.kwok): keep a developer's own config out.
    { KWOK_WORKDIR: join(ctx.workDir, 'kwok') },
  );
}

/** Pods of a Job labelled `keeprunning` stay Running: kwok's pod-complete stage skips them. */
export const KEEP_RUNNING_LABEL = 'keeprunning';

/** kwok's own "fast" stages, plus node heartbeats through Leases; pod-ready optionally delayed. */
export async function kwokStages(stagesDir: string, podReadyDelayMs: number): Promise<string> {
  const files = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
  ];
  const docs = await Promise.all(
    files.map(async (f) => {
      let text = await readFile(join(stagesDir, f), 'utf8');
      if (f.endsWith('pod-complete.yaml')) {
        // A Job's pod with this label keeps running (a batch run still going when an upgrade starts).
        const last = "      - 'Job'\n";
        if (!text.includes(last)) throw new Error(`unexpected layout of ${f}`);
        text = text.replace(last, `${last}    - key: '.metadata.labels.${KEEP_RUNNING_LABEL}'\n      operator: 'DoesNotExist'\n`);
      }
      if (f.endsWith('pod-ready.yaml') && podReadyDelayMs > 0) {
        if (!/^spec:\n/m.test(text) || /^ {2}delay:/m.test(text)) throw new Error(`unexpected layout of ${f}`);
        text = text.replace(/^spec:\n/m, `spec:\n  delay:\n    durationMilliseconds: ${Math.round(podReadyDelayMs)}\n`);
      }
      return text.trimEnd();
    }),
  );
  return `${docs.join('\n---\n')}\n`;
}

async function createNodes(api: KubeApi, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      api.create('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: `kwok-node-${i}`,
          annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
          labels: {
            'kubernetes.io/arch': 'amd64',
            'kubernetes.io/os': 'linux',
            'kubernetes.io/hostname': `kwok-node-${i}`,
            'node-role.kubernetes.io/worker': '',
            type: 'kwok',
          },
        },
        // No taints: charts schedule without tolerations.
        spec: {},
        status: {
          // kwok's node-initialize keeps addresses that are set; pods then get this as status.hostIP.
          addresses: [
            { type: 'InternalIP', address: `10.255.0.${i + 1}` },
            { type: 'Hostname', address: `kwok-node-${i}` },
          ],
          allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
          capacity: { cpu: '32', memory: '256Gi', pods: '110' },
        },
      }),
    ),
  );
}

async function createDefaultStorageClass(api: KubeApi): Promise<void> {
  await api.create('/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/host-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  });
}

async function waitHealthz(c: Component, port: number, abort: Promise<never>): Promise<void> {
  // Self-signed serving certs generated in memory by the component: nothing to verify against.
  await waitUntil(
    async () => (await fetchText(httpsGet, `https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false })) === 'ok',
    60_000,
    `${c.name} did not become healthy`,
    { abort },
  );
}

async function waitForReadyNodes(api: KubeApi, count: number, abort: Promise<never>): Promise<void> {
  type NodeList = { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
  await waitUntil(
    async () => {
      const nodes = await api.get<NodeList>('/api/v1/nodes');
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= count;
    },
    60_000,
    `${count} nodes did not become Ready (is kwok running?)`,
    { abort },
  );
}

async function waitForDefaultServiceAccount(api: KubeApi, abort: Promise<never>): Promise<void> {
  // Created by the controller-manager; pods in `default` are rejected until it exists.
  await waitUntil(
    async () => (await api.raw('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    60_000,
    'the default ServiceAccount was never created (is kube-controller-manager running?)',
    { abort },
  );
}

async function removeHostPathVolumes(api: KubeApi): Promise<void> {
  // The hostPath provisioner hard-codes /tmp/hostpath_pv/<uid>; remove what this sandbox made.
  const pvs = await api.get<{ items: { spec?: { hostPath?: { path?: string } } }[] }>('/api/v1/persistentvolumes');
  for (const pv of pvs.items) {
    const path = pv.spec?.hostPath?.path;
    if (path?.startsWith('/tmp/hostpath_pv/')) await rm(path, { recursive: true, force: true });
  }
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  // Certificates inline, so the file can be copied elsewhere (e.g. DAPRUP_E2E_KUBECONFIG) and still work.
  return `apiVersion: v1
kind: Config
clusters:
- name: ${CONTEXT}
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(pki.ca)}
users:
- name: ${CONTEXT}-admin
  user:
    client-certificate-data: ${b64(pki.admin.cert)}
    client-key-data: ${b64(pki.admin.key)}
contexts:
- name: ${CONTEXT}
  context:
    cluster: ${CONTEXT}
    user: ${CONTEXT}-admin
current-context: ${CONTEXT}
`;
}

/** The first non-internal IPv4 address: kube-apiserver needs one to advertise when bound to 0.0.0.0. */
function hostAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error('no non-loopback IPv4 address on this host; kube-apiserver needs one for --advertise-address');
}

/** n distinct ports free right now (held open together so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '0.0.0.0', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function fetchText(get: typeof httpGet | typeof httpsGet, url: string, extra: { rejectUnauthorized?: boolean } = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const req = get(url, { timeout: 2_000, ...extra }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => ok(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
  });
}

export function defaultKubectl(): string {
  const bundled = join(repoRoot, '.tools', 'helm4', 'kubectl');
  return existsSync(bundled) ? bundled : 'kubectl';
}
