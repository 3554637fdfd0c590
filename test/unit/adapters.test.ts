import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { supportedMinors } from '../../src/operations/check.js';
import { chartRef, Helm } from '../../src/cluster/helm.js';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { FakeRunner } from './fake-runner.js';

describe('kubectl adapter', () => {
  it('passes kubeconfig and context first, as arrays', async () => {
    const runner = new FakeRunner().on('kubectl', ['--kubeconfig'], JSON.stringify({ items: [{ kind: 'Pod', metadata: { name: 'p' } }] }));
    const k = new Kubectl(runner, 'kubectl', { kubeconfig: '/k', kubeContext: 'prod' });
    await k.list('pods', { allNamespaces: true, selector: 'a=b' });
    expect(runner.calls[0]!.args).toEqual([
      '--kubeconfig',
      '/k',
      '--context',
      'prod',
      'get',
      'pods',
      '-o',
      'json',
      '--all-namespaces',
      '--selector',
      'a=b',
    ]);
  });

  it('builds rollout, delete and apply argument arrays exactly', () => {
    const k = new Kubectl(new FakeRunner(), 'kubectl');
    expect(k.rolloutRestartArgs('shop', ['deployment/a', 'statefulset/b'])).toEqual([
      'rollout',
      'restart',
      'deployment/a',
      'statefulset/b',
      '--namespace',
      'shop',
    ]);
    expect(k.deleteStatefulSetArgs('dapr-placement-server', 'dapr-system', '5m')).toEqual([
      'delete',
      'statefulset',
      'dapr-placement-server',
      '--namespace',
      'dapr-system',
      '--cascade=background',
      '--wait=true',
      '--timeout=5m',
    ]);
    expect(k.applyServerSideArgs('/c/crds')).toEqual([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager',
      'daprup',
      '-f',
      '/c/crds',
    ]);
  });

  it('reads which objects a server-side diff would change', async () => {
    const out =
      'diff -u -N /tmp/LIVE-1/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io /tmp/MERGED-2/apiextensions.k8s.io.v1.CustomResourceDefinition..components.dapr.io\n--- a\n+++ b\n';
    const runner = new FakeRunner().on('kubectl', ['diff'], { stdout: out, exitCode: 1 });
    expect([...(await new Kubectl(runner, 'kubectl').diffChanges('/c'))]).toEqual([['components.dapr.io', 'update']]);
  });

  it('builds the can-i, get and wait argument arrays that plans show and calls run', async () => {
    const runner = new FakeRunner().on('kubectl', ['--context', 'prod', 'auth', 'can-i'], 'yes\n');
    const k = new Kubectl(runner, 'kubectl', { kubeContext: 'prod' });
    expect(k.canIArgs('patch', 'deployments.apps', 'dapr-system')).toEqual([
      'auth',
      'can-i',
      'patch',
      'deployments.apps',
      '--namespace',
      'dapr-system',
    ]);
    expect(k.canIArgs('patch', 'customresourcedefinitions.apiextensions.k8s.io')).toEqual([
      'auth',
      'can-i',
      'patch',
      'customresourcedefinitions.apiextensions.k8s.io',
      '--all-namespaces',
    ]);
    expect(await k.canI('patch', 'deployments.apps')).toBe(true);
    expect(runner.calls[0]!.args).toEqual(['--context', 'prod', ...k.canIArgs('patch', 'deployments.apps')]);
    expect(k.getArgs('components.dapr.io,configurations.dapr.io', { allNamespaces: true })).toEqual([
      'get',
      'components.dapr.io,configurations.dapr.io',
      '-o',
      'json',
      '--all-namespaces',
    ]);
    expect(k.waitPodsGoneArgs('dapr-system', 'app=dapr-placement-server', '5m')).toEqual([
      'wait',
      'pods',
      '--for=delete',
      '--namespace',
      'dapr-system',
      '--selector',
      'app=dapr-placement-server',
      '--timeout=5m',
    ]);
    expect(k.deleteObjectArgs('secret', 'daprup-rotation-dapr', 'dapr-system')).toEqual([
      'delete',
      'secret',
      'daprup-rotation-dapr',
      '--namespace',
      'dapr-system',
      '--ignore-not-found',
    ]);
  });

  it('treats "can-i no" as an answer, not a failure', async () => {
    const runner = new FakeRunner().on('kubectl', ['auth', 'can-i'], { stdout: 'no\n', exitCode: 1 });
    expect(await new Kubectl(runner, 'kubectl').canI('delete', 'statefulsets.apps', 'dapr-system')).toBe(false);
  });
});

describe('helm adapter', () => {
  it('reads helm 3 and helm 4 versions', async () => {
    for (const [raw, major] of [
      ['v3.17.2+gcc0bbbd', 3],
      ['v4.1.4+g05fa379', 4],
    ] as const) {
      const helm = new Helm(new FakeRunner().on('helm', ['version'], `${raw}\n`), 'helm');
      expect((await helm.version()).major).toBe(major);
    }
  });

  it('lists every release, pending ones included, with the kube flags', async () => {
    const runner = new FakeRunner().on('helm', ['list'], '[]');
    await new Helm(runner, 'helm', { kubeContext: 'prod' }).listReleases();
    expect(runner.calls[0]!.args).toEqual([
      'list',
      '--all-namespaces',
      '--deployed',
      '--failed',
      '--pending',
      '-o',
      'json',
      '--kube-context',
      'prod',
    ]);
  });

  it('filters search results to the exact chart, searched with the arguments plans show', async () => {
    const rows = [
      { name: 'dapr/dapr', version: '1.16.19', app_version: '1.16.19' },
      { name: 'dapr/dapr-dashboard', version: '0.15.0', app_version: '0.15.0' },
    ];
    const runner = new FakeRunner().on('helm', ['search'], JSON.stringify(rows));
    const helm = new Helm(runner, 'helm');
    expect((await helm.searchVersions('dapr/dapr')).map((r) => r.version)).toEqual(['1.16.19']);
    expect(runner.calls[0]!.args).toEqual(helm.searchVersionsArgs('dapr/dapr'));
    expect(helm.searchVersionsArgs('dapr/dapr')).toEqual(['search', 'repo', 'dapr/dapr', '--versions', '--devel', '-o', 'json']);
  });

  it('builds the upgrade command with --wait and timeout', () => {
    const helm = new Helm(new FakeRunner(), 'helm');
    expect(helm.upgradeArgs('dapr', '/c/dapr', 'dapr-system', '1.16.19', ['--reset-then-reuse-values'], '10m')).toEqual([
      'upgrade',
      'dapr',
      '/c/dapr',
      '--namespace',
      'dapr-system',
      '--version',
      '1.16.19',
      '--reset-then-reuse-values',
      '--wait',
      '--timeout',
      '10m',
    ]);
  });
});

// One answer to "what does --chart name?" for prepare, the check-chart plan and daprup check (there were three).
describe('chart references', () => {
  it('tells a repository chart, an OCI chart, a URL and a local directory or archive apart, as helm does', () => {
    expect(chartRef('dapr/dapr')).toEqual({ kind: 'repo', ref: 'dapr/dapr', repo: 'dapr' });
    expect(chartRef('oci://ghcr.io/dapr/helm/dapr')).toEqual({ kind: 'oci', ref: 'oci://ghcr.io/dapr/helm/dapr' });
    expect(chartRef('https://example.com/charts/dapr-1.17.2.tgz')).toEqual({
      kind: 'url',
      ref: 'https://example.com/charts/dapr-1.17.2.tgz',
    });
    expect(chartRef('./dir')).toEqual({ kind: 'path', ref: './dir', archive: false });
    expect(chartRef('../charts/dapr')).toEqual({ kind: 'path', ref: '../charts/dapr', archive: false });
    expect(chartRef('/srv/charts/dapr-1.17.2.tgz')).toEqual({ kind: 'path', ref: '/srv/charts/dapr-1.17.2.tgz', archive: true });
    // A path that exists is a local chart even when it reads like repo/chart (helm upgrade takes it so).
    expect(chartRef('test/fixtures')).toEqual({ kind: 'path', ref: 'test/fixtures', archive: false });
    expect(chartRef('package.json')).toMatchObject({ kind: 'path', archive: true });
    for (const ref of ['dapr', 'a/b/c', '']) expect(chartRef(ref).kind).toBe('unknown');
  });

  it('an archive on disk is an archive whatever its name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'daprup-unit-'));
    try {
      await writeFile(join(dir, 'dapr-chart'), 'not a directory');
      expect(chartRef(join(dir, 'dapr-chart'))).toMatchObject({ kind: 'path', archive: true });
      expect(chartRef(dir)).toMatchObject({ kind: 'path', archive: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("daprup check searches only a repository's index for the supported minors", async () => {
    for (const chart of ['oci://ghcr.io/dapr/helm/dapr', './dir', 'https://example.com/dapr-1.17.2.tgz']) {
      const runner = new FakeRunner();
      expect((await supportedMinors(new Helm(runner, 'helm'), chart)).source).toMatch(/^built-in list/);
      expect(runner.calls).toEqual([]);
    }
    const runner = new FakeRunner().on(
      'helm',
      ['search', 'repo'],
      JSON.stringify(['1.18.2', '1.17.2', '1.16.19'].map((v) => ({ name: 'dapr/dapr', version: v, app_version: v }))),
    );
    expect((await supportedMinors(new Helm(runner, 'helm'), 'dapr/dapr')).minors).toEqual(['1.18', '1.17', '1.16']);
  });
});

describe('kubectl reads during an API server outage', () => {
  it('retries a transient failure and succeeds when the server is back', async () => {
    process.env.DAPRUP_API_RETRY_SECONDS = '10';
    let calls = 0;
    const runner = new FakeRunner().on('kubectl', ['get'], () =>
      ++calls < 3
        ? { exitCode: 1, stderr: 'Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused' }
        : JSON.stringify({ items: [] }),
    );
    await expect(new Kubectl(runner, 'kubectl').list('pods')).resolves.toEqual([]);
    expect(calls).toBe(3);
  });

  it('gives up after the retry budget with the last error, and never retries a real error', async () => {
    process.env.DAPRUP_API_RETRY_SECONDS = '1';
    const down = new FakeRunner().on('kubectl', ['get'], { exitCode: 1, stderr: 'Unable to connect to the server: connection refused' });
    await expect(new Kubectl(down, 'kubectl').list('pods')).rejects.toThrow('connection refused');
    expect(down.calls.length).toBeLessThanOrEqual(2);
    const forbidden = new FakeRunner().on('kubectl', ['get'], { exitCode: 1, stderr: 'Error from server (Forbidden): pods is forbidden' });
    await expect(new Kubectl(forbidden, 'kubectl').list('pods')).rejects.toThrow('forbidden');
    expect(forbidden.calls).toHaveLength(1);
    delete process.env.DAPRUP_API_RETRY_SECONDS;
  });
});
