// Bad input against a real cluster: each case exits with its documented code, one clear sentence and a hint,
// and leaves the cluster as it was (every object's resourceVersion and the helm history compared).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deploySampleApps } from '../sandbox/sample-apps.js';
import { makeTrustBundle } from '../support/certs.js';
import { HELM_FLAVOURS, runTool } from '../support/tools.js';
import {
  createDaprEnv,
  helm,
  helmHistory,
  installDapr,
  kubectl,
  kubectlJson,
  NAMESPACE,
  resetCluster,
  runDaprup,
  snapshotCluster,
  type DaprEnv,
} from './dapr-env.js';

let e: DaprEnv;
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function expectRefusal(args: string[], code: number, sentence: string | RegExp, o: { stateDir?: string } = {}) {
  const before = await snapshotCluster(e);
  const history = await helmHistory(e).catch(() => []);
  const r = await runDaprup(e, args, o);
  expect(r.code, r.stdout + r.stderr).toBe(code);
  const error = r.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? '';
  if (typeof sentence === 'string') expect(error).toContain(sentence);
  else expect(error).toMatch(sentence);
  expect(r.stderr).toMatch(/\nHint: \S.+/);
  expect(await snapshotCluster(e)).toEqual(before);
  expect(await helmHistory(e).catch(() => [])).toEqual(history);
}

/** The trust bundle Secret and ConfigMap replaced, as a broken or tampered bundle would look. */
async function setBundle(b: { rootCert: string; issuerCert: string; issuerKey: string }, configMapRoot = b.rootCert) {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'dapr-trust-bundle', namespace: NAMESPACE },
    data: { 'ca.crt': b64(b.rootCert), 'issuer.crt': b64(b.issuerCert), 'issuer.key': b64(b.issuerKey) },
  };
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'dapr-trust-bundle', namespace: NAMESPACE },
    data: { 'ca.crt': configMapRoot },
  };
  const file = join(e.work, 'bundle.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [secret, cm] }));
  await kubectl(e, ['apply', '-f', file]);
  // The operator (its stand-in here) re-patches the Subscription CRD's caBundle when the trust anchors change, as
  // the real one does: wait for it, so the "nothing changed" snapshots below see only what daprup did.
  const crd = await kubectl(e, [
    'get',
    'crd',
    'subscriptions.dapr.io',
    '--ignore-not-found',
    '-o',
    'jsonpath={.spec.conversion.webhook.clientConfig.caBundle}',
  ]);
  const operator = await kubectl(e, ['get', 'pods', '-n', NAMESPACE, '-l', 'app=dapr-operator', '-o', 'name']);
  if (!crd || !operator.trim()) return;
  for (let i = 0; i < 100; i++) {
    const now = await kubectl(e, [
      'get',
      'crd',
      'subscriptions.dapr.io',
      '-o',
      'jsonpath={.spec.conversion.webhook.clientConfig.caBundle}',
    ]);
    if (now === b64(configMapRoot)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the operator stand-in did not re-patch the Subscription CRD after the trust anchors changed');
}

describe('bad input against a cluster', () => {
  beforeAll(async () => {
    e = await createDaprEnv(HELM_FLAVOURS[1]!, inject('kubeconfig'));
    await resetCluster(e);
  });
  afterAll(async () => e?.repo.stop());

  it('no Dapr release at all', async () => {
    await expectRefusal(['plan', '--to', '1.16.19'], 3, 'No Dapr Helm release found.');
  });

  it('Dapr installed from manifests, not with Helm; then owned by Argo CD', async () => {
    await helm(e, ['repo', 'update', 'dapr']);
    const manifests = await helm(e, [
      'template',
      'dapr',
      'dapr/dapr',
      '--version',
      '1.16.18',
      '-n',
      NAMESPACE,
      '--include-crds',
      '--set',
      'dapr_sidecar_injector.webhook.enabled=false',
    ]);
    await kubectl(e, ['create', 'namespace', NAMESPACE]);
    await writeFile(join(e.work, 'manifests.yaml'), manifests);
    // The Configuration needs its CRD established first: the second apply finds it.
    await kubectl(e, ['apply', '-n', NAMESPACE, '-f', join(e.work, 'manifests.yaml')]).catch(() => undefined);
    await kubectl(e, ['wait', '--for=condition=Established', 'crd/configurations.dapr.io', '--timeout=60s']);
    await kubectl(e, ['apply', '-n', NAMESPACE, '-f', join(e.work, 'manifests.yaml')]);
    await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'was not installed with Helm');
    await kubectl(e, ['label', 'deployments', '--all', '-n', NAMESPACE, 'argocd.argoproj.io/instance=dapr']);
    await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'managed by a GitOps controller');
    await resetCluster(e);
  });

  describe('with Dapr 1.16.18 installed by Helm', () => {
    let original: { rootCert: string; issuerCert: string; issuerKey: string };
    beforeAll(async () => {
      await installDapr(e, '1.16.18');
      await deploySampleApps(e.flavour.kubectl, e.kubeconfig);
      original = e.bundle;
    });

    it('two Dapr releases and no --release', async () => {
      await helm(e, [
        'install',
        'dapr-two',
        'dapr/dapr',
        '--version',
        '1.16.18',
        '-n',
        'dapr-two',
        '--create-namespace',
        '--skip-crds',
        '--set',
        'dapr_sidecar_injector.webhook.enabled=false',
        '--set',
        'global.tag=1.16.18',
        '--kubeconfig',
        e.kubeconfig,
      ]);
      await expectRefusal(
        ['plan', '--to', '1.16.19'],
        2,
        /Found 2 Dapr releases: dapr \(dapr-system\), dapr-two \(dapr-two\)|Found 2 Dapr releases: dapr-two \(dapr-two\), dapr \(dapr-system\)/,
      );
      const chosen = await runDaprup(e, ['plan', '--to', '1.16.19', '--release', 'dapr', '--dapr-namespace', NAMESPACE, '--json']);
      expect(chosen.code, chosen.stderr).toBe(0);
      await helm(e, ['uninstall', 'dapr-two', '-n', 'dapr-two', '--wait', '--kubeconfig', e.kubeconfig]);
      await kubectl(e, ['delete', 'namespace', 'dapr-two', '--wait=true']);
      // Its scheduler's volumes are released with the claims and deleted by the provisioner a little later: wait, so
      // the next tests' "nothing changed" snapshots do not see them go.
      for (let i = 0; i < 60; i++) {
        const pvs = await kubectlJson<{ items: { spec?: { claimRef?: { namespace?: string } } }[] }>(e, ['get', 'persistentvolumes']);
        if (!pvs.items.some((pv) => pv.spec?.claimRef?.namespace === 'dapr-two')) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

    it.each([
      ['a vendor-suffixed version', '1.16.19-msft.1', 'is a vendor build'],
      ['a release candidate', '1.16.20-rc.1', 'is a release candidate'],
    ])('%s', async (_n, target, sentence) => {
      await expectRefusal(['upgrade', '--to', target, '--yes'], 3, sentence);
    });

    it.each([
      ['an expired root', () => makeTrustBundle({ rootValidDays: 5, rootNotBeforeDaysAgo: 10 }), undefined, 'The root certificate expired'],
      ['an issuer not signed by the root', () => makeTrustBundle({ issuerSignedBy: 'other-root' }), undefined, 'not signed by the root'],
      [
        'an issuer key that does not match',
        () => makeTrustBundle({ issuerKeyMismatch: true }),
        undefined,
        'does not match the issuer certificate',
      ],
      [
        'Secret and ConfigMap roots that differ',
        () => original,
        () => makeTrustBundle().rootCert,
        'holds a different root than the Secret',
      ],
    ])('a trust bundle with %s', async (_n, bundle, cmRoot, sentence) => {
      const b = bundle();
      await setBundle(b, cmRoot?.() ?? b.rootCert);
      try {
        await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, sentence);
      } finally {
        await setBundle(original);
      }
    });

    it('a missing trust bundle', async () => {
      await kubectl(e, ['delete', 'secret', 'dapr-trust-bundle', '-n', NAMESPACE]);
      try {
        await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'is missing');
      } finally {
        await setBundle(original);
      }
    });

    it('helm older than the chart needs', async () => {
      const old = join(e.work, 'old-helm');
      await writeFile(old, '#!/bin/sh\necho "v3.7.2+g663a896"\n', { mode: 0o755 });
      // runDaprup passes --helm already; the environment variable is the other documented way.
      const before = await snapshotCluster(e);
      const res = await runTool(
        process.execPath,
        [join(process.cwd(), 'bin', 'run.js'), 'plan', '--to', '1.16.19', '--kubectl', e.flavour.kubectl, '--kubeconfig', e.kubeconfig],
        { env: { ...e.env, DAPRUP_HELM: old, CI: 'true' } },
      ).then(
        () => 'exit 0',
        (x: Error) => x.message,
      );
      expect(res).toContain('exited with 3');
      expect(res).toContain('helm v3.7.2+g663a896 is too old');
      expect(await snapshotCluster(e)).toEqual(before);
    });

    it('an unknown kube context', async () => {
      await expectRefusal(['plan', '--to', '1.16.19', '--kube-context', 'prod-eu'], 2, 'The kube context "prod-eu" does not exist');
    });

    it('a user who may not delete StatefulSets is stopped in preflight, before any change', async () => {
      // A kubeconfig that impersonates a user with everything daprup needs but deleting StatefulSets.
      const role = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'daprup-limited' },
        rules: [
          { apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['patch', 'update', 'create'] },
          { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['patch', 'create', 'update'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'update', 'delete'] },
          { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'update', 'patch'] },
        ],
      };
      const binding = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'daprup-limited' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'daprup-limited' },
        subjects: [{ kind: 'User', name: 'daprup-limited', apiGroup: 'rbac.authorization.k8s.io' }],
      };
      await writeFile(join(e.work, 'rbac.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [role, binding] }));
      await kubectl(e, ['apply', '-f', join(e.work, 'rbac.json')]);
      const config = await kubectlJson<{ users: { user: Record<string, unknown> }[] }>(e, ['config', 'view', '--raw']);
      for (const u of config.users) u.user.as = 'daprup-limited';
      const limited = join(e.work, 'limited-kubeconfig');
      await writeFile(limited, JSON.stringify(config));
      const before = await snapshotCluster(e);
      const r = await runTool(
        process.execPath,
        [
          join(process.cwd(), 'bin', 'run.js'),
          'upgrade',
          '--to',
          '1.17.2',
          '--enable-ha',
          '--yes',
          '--helm',
          e.flavour.helm,
          '--kubectl',
          e.flavour.kubectl,
          '--kubeconfig',
          limited,
          '--state-dir',
          e.stateDir,
        ],
        { env: { ...e.env, CI: 'true' } },
      ).then(
        () => 'exit 0',
        (x: Error) => x.message,
      );
      expect(r).toContain('exited with 3');
      expect(r).toContain('may not delete statefulsets.apps in dapr-system');
      expect(r).toMatch(/Hint: \S/);
      expect(await snapshotCluster(e)).toEqual(before);
      await kubectl(e, ['delete', '-f', join(e.work, 'rbac.json')]);
    });

    it('a corrupted journal, and a journal from another cluster', async () => {
      const clusterId = (await kubectlJson<{ metadata: { uid: string } }>(e, ['get', 'namespace', 'kube-system'])).metadata.uid;
      const dir = join(e.stateDir, clusterId, NAMESPACE, 'dapr');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'journal.json'), '{"schemaVersion": 1, "steps": {');
      await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'is corrupted');
      await writeFile(
        join(dir, 'journal.json'),
        JSON.stringify({
          schemaVersion: 1,
          runId: 'r1',
          clusterId: 'another-cluster-uid',
          namespace: NAMESPACE,
          release: 'dapr',
          steps: {},
          restarts: {},
          status: 'running',
        }),
      );
      await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'belongs to another cluster');
      await writeFile(join(dir, 'journal.json'), JSON.stringify({ schemaVersion: 99, runId: 'r1', clusterId, steps: {} }));
      await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 3, 'unknown format');
      await runTool('rm', ['-f', join(dir, 'journal.json')]);
    });

    it('a state directory that cannot be written', async () => {
      const file = join(e.work, 'not-a-dir');
      await writeFile(file, 'x');
      await chmod(file, 0o400);
      await expectRefusal(['upgrade', '--to', '1.16.19', '--yes'], 2, 'is not writable', { stateDir: join(file, 'state') });
    });

    it('a timeout too short for the rollout fails the step with a hint, and a rerun finishes', async () => {
      const r = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes', '--timeout', '1ms']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Error: .*(timed out|deadline|timeout)/i);
      expect(r.stderr).toMatch(/Hint: .*(--timeout|timed out)/);
      const again = await runDaprup(e, ['upgrade', '--to', '1.16.19', '--yes', '--recover-pending']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
    });
  });
});
