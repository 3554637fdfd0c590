// The values side of an upgrade as the real chart and helm behave: both sides of the values diff from
// chart files, dotted keys, helm's precedence of -f and --set, variant tags, the Subscription CRD's conversion
// settings, and the version that counts for a failed release.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Helm } from '../../src/cluster/helm.js';
import { keepLiveConversion, type CrdObject } from '../../src/dapr/crds.js';
import type { ClusterFacts } from '../../src/dapr/discovery.js';
import { haAfterUpgrade, readUserOverrides, tagAfterUpgrade, userBringsTrustBundle } from '../../src/dapr/upgrade-values.js';
import { chartDefaults, coalesce, diffValues, flatten, getPath, parseSetFlag, setPath } from '../../src/dapr/values.js';
import { lastDeployedRevision, versionVerdict } from '../../src/runbook/prepare.js';
import type { UpgradeOptions } from '../../src/runbook/types.js';
import { FakeRunner } from './fake-runner.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daprup-values-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A chart directory: parent values, and subcharts as folders under charts/ (both real layouts look like this once pulled). */
async function chart(name: string, parent: string, subs: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, 'charts'), { recursive: true });
  await writeFile(join(root, 'Chart.yaml'), `apiVersion: v2\nname: dapr\nversion: 1.0.0\n`);
  await writeFile(join(root, 'values.yaml'), parent);
  for (const [sub, values] of Object.entries(subs)) {
    await mkdir(join(root, 'charts', sub), { recursive: true });
    await writeFile(join(root, 'charts', sub, 'Chart.yaml'), `apiVersion: v2\nname: ${sub}\nversion: 1.0.0\n`);
    await writeFile(join(root, 'charts', sub, 'values.yaml'), values);
  }
  return root;
}

describe('values diff from chart files', () => {
  it('holds every subchart default under its name, the parent values for it on top, globals from the parent only', async () => {
    const c = await chart('a', 'global:\n  tag: "1.16.19"\ndapr_scheduler:\n  logLevel: debug\n', {
      dapr_scheduler: 'global:\n  tag: ignored\nlogLevel: info\ncluster:\n  storageSize: 1Gi\n',
      dapr_operator: 'watchInterval: "0"\n',
    });
    expect(await chartDefaults(c)).toEqual({
      global: { tag: '1.16.19' },
      dapr_scheduler: { logLevel: 'debug', cluster: { storageSize: '1Gi' } },
      dapr_operator: { watchInterval: '0' },
    });
  });

  // Regression: 1.16.19 -> 1.17.13 listed 471 fake removals and the real storage change as a removal.
  it('shows a subchart default change as a change, and nothing that did not change', async () => {
    const before = await chart('b116', 'global:\n  tag: "1.16.19"\n', {
      dapr_scheduler: 'cluster:\n  storageSize: 1Gi\n  inMemoryStorage: false\n',
    });
    const after = await chart('b117', 'global:\n  tag: "1.17.13"\n', {
      dapr_scheduler: 'cluster:\n  storageSize: 16Gi\n  inMemoryStorage: false\n',
    });
    const user = { dapr_operator: { logLevel: 'debug' } };
    const changes = diffValues(coalesce(await chartDefaults(before), user), coalesce(await chartDefaults(after), user));
    expect(changes).toEqual([
      { key: 'dapr_scheduler.cluster.storageSize', from: '1Gi', to: '16Gi' },
      { key: 'global.tag', from: '1.16.19', to: '1.17.13' },
    ]);
  });

  it('keeps a dotted key one key, escaped as --set writes it, and reads it back', () => {
    const labels = { global: { k8sLabels: { 'app.kubernetes.io/managed-by': '{{ .Release.Service }}' } } };
    expect(flatten(labels)).toEqual({ 'global.k8sLabels.app\\.kubernetes\\.io/managed-by': '{{ .Release.Service }}' });
    expect(getPath(labels, 'global.k8sLabels.app\\.kubernetes\\.io/managed-by')).toBe('{{ .Release.Service }}');
    const set = parseSetFlag('global.k8sLabels.app\\.kubernetes\\.io/part-of=dapr')!;
    expect(setPath({}, set.key, set.value)).toEqual({ global: { k8sLabels: { 'app.kubernetes.io/part-of': 'dapr' } } });
  });

  it('coalesces as helm does: a null removes the default', () => {
    expect(coalesce({ a: { b: 1, c: 2 } }, { a: { b: null, d: 3 } })).toEqual({ a: { c: 2, d: 3 } });
  });
});

describe("the user's -f and --set win over daprup's own values", () => {
  it('merges the files in order, then --set', async () => {
    const f1 = join(dir, 'one.yaml');
    const f2 = join(dir, 'two.yaml');
    await writeFile(f1, 'global:\n  ha:\n    enabled: true\n  tag: 1.17.13-mariner\n');
    await writeFile(f2, 'global:\n  ha:\n    enabled: false\n');
    expect(await readUserOverrides([f1, f2], ['global.ha.enabled=true'])).toEqual({
      global: { ha: { enabled: true }, tag: '1.17.13-mariner' },
    });
    expect(await readUserOverrides([f1, f2], [])).toEqual({ global: { ha: { enabled: false }, tag: '1.17.13-mariner' } });
  });

  it('refuses a values file that is not a map', async () => {
    const f = join(dir, 'list.yaml');
    await writeFile(f, '- a\n- b\n');
    await expect(readUserOverrides([f], [])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('not a map') });
  });

  // Regression: a values file with global.ha.enabled: true was silently overridden by --set ...=false.
  it('takes HA from the user values when no flag is given, and refuses a flag that contradicts them', () => {
    const own = { global: { ha: { enabled: true } } };
    expect(haAfterUpgrade(undefined, own, {}, false)).toBe(true);
    expect(haAfterUpgrade(undefined, {}, { global: { ha: { enabled: true } } }, false)).toBe(true);
    expect(haAfterUpgrade(undefined, {}, {}, true)).toBe(true);
    expect(haAfterUpgrade(undefined, {}, {}, false)).toBe(false);
    expect(haAfterUpgrade(true, {}, {}, false)).toBe(true);
    expect(() => haAfterUpgrade(false, own, {}, true)).toThrow(/--disable-ha contradicts global.ha.enabled=true/);
  });

  it('lets the user bring all three PEMs, never one or two', () => {
    expect(userBringsTrustBundle({})).toBe(false);
    const all = { dapr_sentry: { tls: { root: { certPEM: 'r' }, issuer: { certPEM: 'i', keyPEM: 'k' } } } };
    expect(userBringsTrustBundle(all)).toBe(true);
    expect(() => userBringsTrustBundle({ dapr_sentry: { tls: { root: { certPEM: 'r' } } } })).toThrow(
      /but not dapr_sentry.tls.issuer.certPEM/,
    );
  });
});

describe('variant tags', () => {
  it('moves a pinned tag to the target and keeps its variant', () => {
    expect(tagAfterUpgrade({ global: { tag: '1.16.19-mariner' } }, {}, '1.17.13')).toEqual({ tag: '1.17.13-mariner' });
    expect(tagAfterUpgrade({ global: { tag: '1.16.19' } }, {}, '1.17.13')).toEqual({ tag: '1.17.13' });
    expect(tagAfterUpgrade({ global: { tag: '1.17.13-mariner' } }, {}, '1.17.13')).toEqual({});
    expect(tagAfterUpgrade({}, {}, '1.17.13')).toEqual({});
  });
  it("leaves the tag to the user's own -f/--set, and warns about a tag that is not a version", () => {
    expect(tagAfterUpgrade({ global: { tag: '1.16.19-mariner' } }, { global: { tag: 'mine' } }, '1.17.13')).toEqual({});
    expect(tagAfterUpgrade({ global: { tag: 'latest' } }, {}, '1.17.13').warning).toMatch(/pinned to "latest"/);
  });
});

describe('the Subscription CRD conversion webhook', () => {
  const crd = (namespace: string, caBundle?: string): CrdObject => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'subscriptions.dapr.io' },
    spec: {
      conversion: {
        strategy: 'Webhook',
        webhook: {
          clientConfig: { service: { namespace, name: 'dapr-webhook', path: '/convert' } as never, ...(caBundle ? { caBundle } : {}) },
        },
      },
    },
  });
  it('keeps the namespace and caBundle the operator patched in, and nothing else of the live object', () => {
    const kept = keepLiveConversion(crd('replaceme'), crd('dapr-prod', 'Q0E='));
    expect(kept.spec?.conversion?.webhook?.clientConfig).toEqual({
      service: { namespace: 'dapr-prod', name: 'dapr-webhook', path: '/convert' },
      caBundle: 'Q0E=',
    });
  });
  it("applies the chart's file as is where nothing was patched or the CRD is new", () => {
    expect(keepLiveConversion(crd('replaceme'), undefined)).toEqual(crd('replaceme'));
    const none: CrdObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'components.dapr.io' },
      spec: {},
    };
    expect(keepLiveConversion(none, crd('x', 'y'))).toEqual(none);
  });
});

describe('a failed release: the version that counts is what runs', () => {
  const options = (target: string): UpgradeOptions => ({
    target,
    chart: 'dapr/dapr',
    valuesFiles: [],
    set: [],
    timeout: '5m',
    concurrency: 4,
    overrides: {},
    certWarnDays: 30,
  });
  const facts = {
    release: { name: 'dapr', namespace: 'dapr-system', chartVersion: '1.16.19', version: '1.16.19', revision: 3, status: 'failed' },
    controlPlane: [
      { name: 'dapr-operator', present: true, version: '1.15.13', podVersions: ['1.15.13'] },
      { name: 'dapr-sentry', present: true, version: '1.16.19', podVersions: ['1.15.13', '1.16.19'] },
    ],
  } as unknown as ClusterFacts;
  const tools = () => {
    const runner = new FakeRunner().on(
      'helm',
      ['history'],
      JSON.stringify([
        { revision: 1, status: 'superseded', chart: 'dapr-1.15.12', app_version: '1.15.12' },
        { revision: 2, status: 'superseded', chart: 'dapr-1.15.13', app_version: '1.15.13' },
        { revision: 3, status: 'failed', chart: 'dapr-1.16.19', app_version: '1.16.19' },
      ]),
    );
    return { helm: new Helm(runner, 'helm'), kubectl: undefined as never };
  };
  const deployed = () => lastDeployedRevision(tools(), facts.release);

  it('finds the revision a failed release still runs (helm upgrades from it and reuses its values)', async () => {
    expect(await deployed()).toMatchObject({ revision: 2, chart: 'dapr-1.15.13' });
  });

  it('refuses a target a minor too far from what runs, with both ways out', async () => {
    const err = await versionVerdict(facts, options('1.17.13'), await deployed()).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 3 });
    expect((err as Error).message).toMatch(
      /revision of release dapr \(3, Dapr 1.16.19\) failed; the control plane runs 1.15.13\. 1.15.13 → 1.17.13 skips minor version 1.16/,
    );
    expect((err as { hint: string }).hint).toMatch(/daprup upgrade --to 1.16.19.*helm rollback dapr 2 -n dapr-system/);
  });

  it('allows retrying the failed target, judged from what runs, and says so', async () => {
    const v = await versionVerdict(facts, options('1.16.19'), await deployed());
    expect(v).toMatchObject({ current: '1.15.13', change: 'minor' });
    expect(v.warnings[0]).toMatch(/retrying that upgrade/);
  });

  it('a deployed release is judged from its APP VERSION', async () => {
    const v = await versionVerdict(
      { ...facts, release: { ...facts.release, status: 'deployed' } } as ClusterFacts,
      options('1.17.13'),
      undefined,
    );
    expect(v).toMatchObject({ current: '1.16.19', change: 'minor' });
  });
});

describe('templated values (global.k8sLabels)', () => {
  it('are compared as helm renders them: release fields and global values filled in, anything else kept', async () => {
    const { renderValueTemplates } = await import('../../src/dapr/values.js');
    const values = {
      global: {
        tag: '1.17.13',
        k8sLabels: {
          'app.kubernetes.io/name': '{{ .Release.Name }}',
          'app.kubernetes.io/version': '{{ .Values.global.tag }}',
          'app.kubernetes.io/managed-by': '{{ .Release.Service }}',
          other: '{{ include "x" . }}',
        },
      },
    };
    expect(renderValueTemplates(values, { name: 'prod', namespace: 'dapr-prod' })).toEqual({
      global: {
        tag: '1.17.13',
        k8sLabels: {
          'app.kubernetes.io/name': 'prod',
          'app.kubernetes.io/version': '1.17.13',
          'app.kubernetes.io/managed-by': 'Helm',
          other: '{{ include "x" . }}',
        },
      },
    });
  });
});
