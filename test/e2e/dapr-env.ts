// An e2e world: the sandbox cluster, one helm flavour with its own helm home pointing at the loopback chart
// repository, a fixture Dapr release installed with real certificates, and the sample applications.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChartRepo, type ChartRepo } from '../support/chart-repo.js';
import { makeTrustBundle, type TrustBundlePems } from '../support/certs.js';
import { helmHomeEnv, runTool, type HelmFlavour } from '../support/tools.js';
import { daprup, type CliResult } from '../support/cli.js';
import { countRevisions, deploySampleApps } from '../sandbox/sample-apps.js';

export interface DaprEnv {
  flavour: HelmFlavour;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  repo: ChartRepo;
  bundle: TrustBundlePems;
  stateDir: string;
  work: string;
}

export const NAMESPACE = 'dapr-system';
export const APP_NAMESPACES = ['apps-a', 'apps-b', 'apps-c'];
/** Where the every-kind apps and the Dapr Shared releases live (test/sandbox/every-kind-apps.ts, every-daprd.test.ts). */
export const EXTRA_NAMESPACES = ['kinds', 'shared'];
/** A value a user set at install time; it must survive every upgrade. */
export const CUSTOM_VALUE = { key: 'dapr_operator.logLevel', value: 'debug' };

export async function createDaprEnv(flavour: HelmFlavour, kubeconfig: string, o: { daprShared?: boolean } = {}): Promise<DaprEnv> {
  const work = await mkdtemp(join(tmpdir(), `daprup-e2e-${flavour.name}-`));
  const env = { ...helmHomeEnv(join(work, 'helm'), process.env), KUBECONFIG: kubeconfig };
  const repo = await startChartRepo({ helm: flavour.helm, daprShared: o.daprShared });
  await runTool(flavour.helm, ['repo', 'add', 'dapr', repo.url], { env });
  const stateDir = join(work, 'state');
  await mkdir(stateDir, { recursive: true });
  return { flavour, kubeconfig, env, repo, bundle: makeTrustBundle(), stateDir, work };
}

export const helm = (e: DaprEnv, args: string[]) => runTool(e.flavour.helm, args, { env: e.env });
export const kubectl = (e: DaprEnv, args: string[]) => runTool(e.flavour.kubectl, ['--kubeconfig', e.kubeconfig, ...args], { env: e.env });
export async function kubectlJson<T>(e: DaprEnv, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(e, [...args, '-o', 'json'])) as T;
}

/** `helm install` as a user would, certificates from files and the sandbox's own injector standing in. */
export async function installDapr(e: DaprEnv, version: string, o: { ha?: boolean; set?: string[] } = {}): Promise<void> {
  const certs = join(e.work, 'install-certs');
  await mkdir(certs, { recursive: true, mode: 0o700 });
  await writeFile(join(certs, 'ca.crt'), e.bundle.rootCert);
  await writeFile(join(certs, 'issuer.crt'), e.bundle.issuerCert);
  await writeFile(join(certs, 'issuer.key'), e.bundle.issuerKey, { mode: 0o600 });
  await helm(e, ['repo', 'update', 'dapr']);
  await helm(e, [
    'install',
    'dapr',
    'dapr/dapr',
    '--version',
    version,
    '--namespace',
    NAMESPACE,
    '--create-namespace',
    '--set-file',
    `dapr_sentry.tls.root.certPEM=${join(certs, 'ca.crt')}`,
    '--set-file',
    `dapr_sentry.tls.issuer.certPEM=${join(certs, 'issuer.crt')}`,
    '--set-file',
    `dapr_sentry.tls.issuer.keyPEM=${join(certs, 'issuer.key')}`,
    '--set',
    'dapr_sidecar_injector.webhook.enabled=false',
    '--set',
    `${CUSTOM_VALUE.key}=${CUSTOM_VALUE.value}`,
    '--set',
    `global.ha.enabled=${o.ha ?? false}`,
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
    '--wait',
    '--timeout',
    '5m',
    '--kubeconfig',
    e.kubeconfig,
  ]);
}

/** A clean cluster with Dapr `version` installed by Helm and the sample apps running. */
export async function freshInstall(e: DaprEnv, version = '1.16.18', o: { ha?: boolean; set?: string[] } = {}): Promise<void> {
  await resetCluster(e);
  await installDapr(e, version, o);
  await deploySampleApps(e.flavour.kubectl, e.kubeconfig);
}

/** Back to an empty cluster: the releases, their namespaces, the sample apps and the Dapr (and Argo) CRDs removed. */
export async function resetCluster(e: DaprEnv): Promise<void> {
  await helm(e, ['uninstall', 'dapr', '--namespace', NAMESPACE, '--wait', '--kubeconfig', e.kubeconfig]).catch(() => undefined);
  const shared = JSON.parse(await helm(e, ['list', '--namespace', 'shared', '-o', 'json', '--kubeconfig', e.kubeconfig])) as {
    name: string;
  }[];
  for (const r of shared) await helm(e, ['uninstall', r.name, '--namespace', 'shared', '--wait', '--kubeconfig', e.kubeconfig]);
  await kubectl(e, [
    'delete',
    'namespace',
    NAMESPACE,
    ...APP_NAMESPACES,
    ...EXTRA_NAMESPACES,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=180s',
  ]);
  const crds = (await kubectl(e, ['get', 'crd', '-o', 'name']))
    .split('\n')
    .filter((n) => n.endsWith('.dapr.io') || n.endsWith('/rollouts.argoproj.io'));
  if (crds.length) await kubectl(e, ['delete', ...crds, '--wait=true']);
}

/** Everything daprup printed in this test file, for the secret scan. */
export const OUTPUTS: string[] = [];

export async function runDaprup(e: DaprEnv, args: string[], o: { stateDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const r = await daprup(
    [
      ...args,
      '--helm',
      e.flavour.helm,
      '--kubectl',
      e.flavour.kubectl,
      '--kubeconfig',
      e.kubeconfig,
      '--state-dir',
      o.stateDir ?? e.stateDir,
    ],
    { env: { ...e.env, ...o.env } },
  );
  OUTPUTS.push(r.stdout, r.stderr);
  return r;
}

/**
 * Where the issuer private key appears: in PEM, in base64 (Secret data) or as a line of its body. It may be
 * only in 0600 `issuer.key` files in 0700 directories; anything else (output, journals local or in the
 * cluster, plans, backups, logs) is a leak.
 */
export async function findKeyLeaks(
  e: DaprEnv,
  roots: string[],
  extraTexts: string[] = [],
): Promise<{ leaks: string[]; keyFiles: string[] }> {
  const { readdir, readFile, stat } = await import('node:fs/promises');
  const pem = e.bundle.issuerKey.trim();
  const body = pem.split('\n')[1]!;
  const needles = [pem, Buffer.from(pem).toString('base64').slice(0, 60), body];
  const hit = (text: string) => needles.some((n) => text.includes(n));
  const leaks: string[] = [];
  const keyFiles: string[] = [];
  for (const root of roots) {
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const d of entries) {
      if (!d.isFile()) continue;
      const path = join(d.parentPath, d.name);
      if (!hit(await readFile(path, 'utf8'))) continue;
      const [file, dir] = [await stat(path), await stat(d.parentPath)];
      if (d.name === 'issuer.key' && (file.mode & 0o777) === 0o600 && (dir.mode & 0o777) === 0o700) keyFiles.push(path);
      else leaks.push(`${path} (mode ${(file.mode & 0o777).toString(8)}, dir ${(dir.mode & 0o777).toString(8)})`);
    }
  }
  OUTPUTS.concat(extraTexts).forEach((t, i) => {
    if (hit(t)) leaks.push(`output #${i}: ${t.slice(0, 120)}`);
  });
  const journal = await kubectl(e, ['get', 'configmap', 'daprup-run-dapr', '-n', NAMESPACE, '-o', 'json', '--ignore-not-found']);
  if (hit(journal)) leaks.push('ConfigMap daprup-run-dapr');
  return { leaks, keyFiles };
}

interface Obj {
  kind: string;
  metadata: { uid: string; namespace?: string; name: string; resourceVersion: string; ownerReferences?: { name: string }[] };
}

/** uid → resourceVersion of every listable object, but those that change on their own (leases, events, nodes). */
export async function snapshotCluster(e: DaprEnv): Promise<Map<string, string>> {
  const kinds = (await kubectl(e, ['api-resources', '--verbs=list', '-o', 'name']))
    .split('\n')
    .filter(Boolean)
    .filter((k) => !/^(events|leases|nodes|componentstatuses)(\.|$)/.test(k));
  const { items } = await kubectlJson<{ items: Obj[] }>(e, ['get', kinds.join(','), '--all-namespaces']);
  return new Map(
    items.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}/${o.metadata.uid}`, o.metadata.resourceVersion]),
  );
}

export async function helmHistory(e: DaprEnv): Promise<{ revision: number; status: string; chart: string }[]> {
  return JSON.parse(await helm(e, ['history', 'dapr', '--namespace', NAMESPACE, '-o', 'json', '--kubeconfig', e.kubeconfig])) as {
    revision: number;
    status: string;
    chart: string;
  }[];
}

/** Revisions per workload (ReplicaSets of a Deployment, ControllerRevisions of a StatefulSet or DaemonSet). */
export async function revisionsPerWorkload(e: DaprEnv): Promise<Record<string, number>> {
  const { items } = await kubectlJson<{ items: Obj[] }>(e, ['get', 'replicasets,controllerrevisions', '--all-namespaces']);
  return countRevisions(items, APP_NAMESPACES);
}

export interface PodInfo {
  namespace: string;
  name: string;
  app?: string;
  images: string[];
  daprd?: string;
}

export async function pods(e: DaprEnv): Promise<PodInfo[]> {
  type P = {
    metadata: { namespace: string; name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
  };
  const { items } = await kubectlJson<{ items: P[] }>(e, ['get', 'pods', '--all-namespaces']);
  return items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => {
      const all = [...p.spec.containers, ...(p.spec.initContainers ?? [])];
      return {
        namespace: p.metadata.namespace,
        name: p.metadata.name,
        app: p.metadata.labels?.app,
        images: all.map((c) => c.image),
        daprd: all
          .find((c) => c.name === 'daprd')
          ?.image.split(':')
          .pop(),
      };
    });
}

export async function trustBundleData(e: DaprEnv): Promise<string> {
  const s = await kubectlJson<{ data: unknown }>(e, ['get', 'secret', 'dapr-trust-bundle', '--namespace', NAMESPACE]);
  const c = await kubectlJson<{ data: unknown }>(e, ['get', 'configmap', 'dapr-trust-bundle', '--namespace', NAMESPACE]);
  return JSON.stringify([s.data, c.data]);
}
