// The production checks of `daprup check`, each on a tuned cluster (ok) and on the mistake it exists to catch.
import { describe, expect, it } from 'vitest';
import { checksFailed, runChecks, summarize } from '../../src/dapr/checks/index.js';
import {
  checkDisruptionBudgets,
  checkHighAvailability,
  checkMemoryLimits,
  checkNamespace,
  checkPriorityClass,
  checkReady,
  checkResourceRequests,
  checkSchedulerStorage,
  checkSpread,
  checkWatchdog,
  flagValue,
} from '../../src/dapr/checks/control-plane.js';
import { checkMetrics, checkTracing } from '../../src/dapr/checks/observability.js';
import {
  checkComponentScopes,
  checkComponentSecrets,
  checkMtls,
  checkTrustBundleHealth,
  looksSecret,
} from '../../src/dapr/checks/security.js';
import {
  checkApiToken,
  checkGoMemLimit,
  checkSeccomp,
  checkServiceAccountToken,
  checkSidecarResources,
  gomemlimitProblem,
} from '../../src/dapr/checks/sidecars.js';
import {
  checkSupportedMinor,
  checkVersionSkew,
  fallbackSupportedMinors,
  supportedMinorsFrom,
  SUPPORTED_MINORS,
} from '../../src/dapr/checks/versions.js';
import { MAX_LISTED, type CheckInput } from '../../src/dapr/checks/types.js';
import { makeTrustBundle } from '../support/certs.js';
import {
  app,
  appPod,
  component,
  controlPlanePods,
  editControlPlane,
  NS,
  schedulerClaim,
  TUNED_ANNOTATIONS,
  tunedInput,
} from './check-fixtures.js';

const nonOk = (input: CheckInput) =>
  runChecks(input)
    .filter((r) => r.severity !== 'ok')
    .map((r) => [r.id, r.severity]);

describe('a tuned cluster', () => {
  it('passes every check (seccomp has nothing to judge without restricted namespaces)', () => {
    const results = runChecks(tunedInput());
    expect(nonOk(tunedInput())).toEqual([['sidecar-seccomp', 'info']]);
    expect(checksFailed(results, true)).toBe(false);
    // Groups and ids are stable: scripts match on them.
    expect(results.map((r) => r.id)).toEqual([
      'control-plane-ready',
      'control-plane-ha',
      'control-plane-pdbs',
      'control-plane-spread',
      'control-plane-requests',
      'control-plane-memory-limits',
      'control-plane-priority-class',
      'control-plane-namespace',
      'control-plane-watchdog',
      'control-plane-scheduler-storage',
      'sidecar-resources',
      'sidecar-gomemlimit',
      'sidecar-seccomp',
      'sidecar-service-account-token',
      'sidecar-api-token',
      'mtls',
      'trust-bundle-issuer-signed-by-root',
      'trust-bundle-issuer-key-matches',
      'trust-bundle-root-expiry',
      'trust-bundle-issuer-expiry',
      'trust-bundle-roots-equal',
      'component-secrets',
      'component-scopes',
      'metrics',
      'tracing',
      'control-plane-version',
      'version-skew',
    ]);
    for (const r of results.filter((x) => x.severity === 'ok')) expect([r.why, r.fix], r.id).toEqual(['', '']);
  });
});

describe('control plane', () => {
  it('fails when a component is missing or not ready', () => {
    const input = tunedInput();
    input.controlPlane = input.controlPlane.map((c) =>
      c.name === 'dapr-sentry' ? { ...c, ready: 1 } : c.name === 'dapr-placement-server' ? { ...c, present: false } : c,
    );
    const r = checkReady(input);
    expect(r.severity).toBe('failure');
    expect(r.affected?.names).toEqual(['dapr-sentry (1/3 ready)', 'dapr-placement-server (missing)']);
  });

  it('warns when HA is off and names every single-replica component; the fix is --enable-ha', () => {
    const input = {
      ...editControlPlane(tunedInput(), (w) => {
        if (w.metadata.name !== 'dapr-scheduler-server') w.spec.replicas = 1;
      }),
      haEnabled: false,
    };
    const r = checkHighAvailability(input);
    expect(r.severity).toBe('warning');
    expect(r.affected).toEqual({
      count: 4,
      names: ['dapr-operator (1)', 'dapr-sentry (1)', 'dapr-sidecar-injector (1)', 'dapr-placement-server (1)'],
    });
    expect(r.fix).toContain('daprup upgrade --to 1.16.19 --enable-ha');
    expect(checkHighAvailability(tunedInput()).severity).toBe('ok');
    // Without HA there is nothing for a disruption budget to protect.
    expect(checkDisruptionBudgets(input).severity).toBe('info');
  });

  it('warns about HA components without a PodDisruptionBudget selecting their pods', () => {
    const input = tunedInput();
    input.pdbs = input.pdbs.filter((p) => !p.metadata.name.startsWith('dapr-sentry'));
    input.pdbs.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'elsewhere', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'dapr-sentry' } } },
    });
    const r = checkDisruptionBudgets(input);
    expect(r.severity).toBe('warning');
    expect(r.affected?.names).toEqual(['dapr-sentry']);
    expect(checkDisruptionBudgets({ ...tunedInput(), pdbs: [], unreadable: ['poddisruptionbudgets'] }).severity).toBe('info');
  });

  it('warns when replicas of one component share a node', () => {
    const base = tunedInput();
    const pods = base.pods
      .filter((p) => p.metadata.labels?.app !== 'dapr-placement-server')
      .concat(controlPlanePods('dapr-placement-server', ['node-a', 'node-a', 'node-b']));
    const r = checkSpread({ ...base, pods });
    expect(r.severity).toBe('warning');
    expect(r.finding).toContain('dapr-placement-server (3 pods on 2 nodes)');
    // Pending pods (no node yet) are not judged; single pods have nothing to spread.
    const pending = base.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: undefined } }));
    expect(checkSpread({ ...base, pods: pending }).severity).toBe('info');
  });

  it('asks for requests on every container and names the Helm values', () => {
    const input = editControlPlane(tunedInput(), (w) => {
      if (w.metadata.name === 'dapr-operator') w.spec.template.spec.containers[0]!.resources = { requests: { cpu: '50m' } };
    });
    const r = checkResourceRequests(input);
    expect(r.severity).toBe('warning');
    expect(r.affected?.names).toEqual(['dapr-operator (memory)']);
    expect(r.fix).toContain('--set dapr_operator.resources.requests.memory=100Mi');
  });

  it('warns about memory limits on the control plane (OOMKills) and shows how to drop them', () => {
    const input = editControlPlane(tunedInput(), (w) => {
      if (w.metadata.name === 'dapr-scheduler-server')
        w.spec.template.spec.containers[0]!.resources!.limits = { memory: '512Mi', cpu: '1' };
    });
    const r = checkMemoryLimits(input);
    expect(r.severity).toBe('warning');
    expect(r.finding).toBe('Memory limits on dapr-scheduler-server (512Mi).');
    expect(r.fix).toContain('--set dapr_scheduler.resources.limits.memory=null');
    // A CPU limit alone is fine.
    const cpuOnly = editControlPlane(tunedInput(), (w) => {
      w.spec.template.spec.containers[0]!.resources!.limits = { cpu: '1' };
    });
    expect(checkMemoryLimits(cpuOnly).severity).toBe('ok');
  });

  it('wants priorityClassName system-cluster-critical on every component', () => {
    const input = editControlPlane(tunedInput(), (w) => {
      if (w.metadata.name !== 'dapr-sentry') delete w.spec.template.spec.priorityClassName;
    });
    const r = checkPriorityClass(input);
    expect(r.severity).toBe('warning');
    expect(r.affected?.count).toBe(4);
    expect(r.fix).toContain('--set global.priorityClassName=system-cluster-critical');
  });

  it('warns about Dapr in the default namespace', () => {
    const input = tunedInput();
    expect(checkNamespace(input).severity).toBe('ok');
    expect(checkNamespace({ ...input, release: { ...input.release, namespace: 'default' } }).severity).toBe('warning');
  });

  it('reads the watchdog from the operator arguments, else from dapr_operator.watchInterval', () => {
    const args = (a: string[]) =>
      editControlPlane(tunedInput(), (w) => {
        if (w.metadata.name === 'dapr-operator') w.spec.template.spec.containers[0]!.args = a;
      });
    expect(checkWatchdog(args(['--watch-interval', '0', '--log-level', 'info'])).severity).toBe('warning');
    expect(checkWatchdog(args(['--watch-interval=30s'])).finding).toContain('30s');
    expect(checkWatchdog(args(['--watch-interval', 'once'])).severity).toBe('ok');
    // No flag on the operator: the chart value decides; not set at all = off (the chart default is "0").
    const noFlag = args(['--log-level', 'info']);
    expect(checkWatchdog(noFlag).severity).toBe('ok');
    const off = checkWatchdog({ ...noFlag, values: {} });
    expect(off.severity).toBe('warning');
    expect(off.fix).toBe('daprup upgrade --to 1.16.19 --set dapr_operator.watchInterval=1m');
    expect(flagValue(['-watch-interval=5m'], 'watch-interval')).toBe('5m');
  });

  it('judges scheduler storage: in memory, too small, enough', () => {
    const storage = (size?: string) =>
      editControlPlane({ ...tunedInput(), claims: [] }, (w) => {
        if (w.metadata.name !== 'dapr-scheduler-server') return;
        if (size) w.spec.volumeClaimTemplates![0]!.spec.resources!.requests!.storage = size;
        else delete w.spec.volumeClaimTemplates;
      });
    const inMemory = checkSchedulerStorage(storage());
    expect(inMemory.severity).toBe('warning');
    expect(inMemory.finding).toContain('in memory');
    expect(inMemory.fix).toContain('dapr_scheduler.cluster.inMemoryStorage=false');
    const small = checkSchedulerStorage(storage('1Gi'));
    expect(small.severity).toBe('warning');
    expect(small.finding).toContain('1Gi per replica');
    expect(checkSchedulerStorage(storage('20000M')).severity).toBe('ok'); // 20 GB > 16 GiB
    expect(checkSchedulerStorage(storage('16Gi')).finding).toBe('Scheduler storage is persistent: 16Gi per replica (no bound claim read).');
    expect(checkSchedulerStorage(tunedInput()).finding).toBe('Scheduler storage is persistent: 16Gi per replica, 3 bound claims.');
  });

  // Regression: the template said 16Gi and check said so, while every bound claim held 1Gi.
  it('judges scheduler storage by the bound claims, not the template, and says how to grow them', () => {
    const input = { ...tunedInput(), claims: [0, 1, 2].map((i) => schedulerClaim(i, '1Gi')) };
    const r = checkSchedulerStorage(input);
    expect(r.severity).toBe('warning');
    expect(r.finding).toBe(
      "Scheduler storage is persistent but its bound claims hold 1Gi per replica (Dapr advises at least 16Gi) (the StatefulSet's template asks 16Gi for new claims only).",
    );
    expect(r.fix).toContain(
      'kubectl patch pvc dapr-scheduler-data-dir-dapr-scheduler-server-0 -n dapr-system -p \'{"spec":{"resources":{"requests":{"storage":"16Gi"}}}}\'',
    );
    expect(r.fix).toContain('dapr-scheduler-data-dir-dapr-scheduler-server-2');
    expect(r.fix).toContain('StorageClass standard does not allow expansion');
    expect(r.affected?.count).toBe(3);
    const expandable = checkSchedulerStorage({
      ...input,
      storageClasses: input.storageClasses!.map((c) => ({ ...c, allowVolumeExpansion: true })),
    });
    expect(expandable.fix).toContain('StorageClass standard allows expansion');
  });
});

describe('sidecars', () => {
  it('lists workloads without sidecar requests and limits, naming what each lacks', () => {
    const input = tunedInput();
    input.workloads = [
      app('shop', 'orders'),
      app('shop', 'bare', { 'dapr.io/enabled': 'true' }),
      app('shop', 'half', { 'dapr.io/enabled': 'true', 'dapr.io/sidecar-cpu-request': '10m', 'dapr.io/sidecar-memory-limit': '1Gi' }),
    ];
    const r = checkSidecarResources(input);
    expect(r.severity).toBe('warning');
    expect(r.affected).toEqual({
      count: 2,
      names: ['shop/bare (no cpu-request, cpu-limit, memory-request, memory-limit)', 'shop/half (no cpu-limit, memory-request)'],
    });
    expect(r.finding).toMatch(/^2 of 3 Dapr-enabled workloads/);
  });

  it('caps the list of offenders and still counts them all', () => {
    const input = tunedInput();
    input.workloads = Array.from({ length: 25 }, (_, i) => app('shop', `svc-${i}`, { 'dapr.io/enabled': 'true' }));
    const r = checkApiToken(input);
    expect(r.affected?.count).toBe(25);
    expect(r.affected?.names).toHaveLength(MAX_LISTED);
    expect(r.finding).toContain('and 20 more');
  });

  it('wants GOMEMLIMIT at about 90 % of the memory limit, in Go units', () => {
    const env = (limit: string, gomem?: string) =>
      gomemlimitProblem({ 'dapr.io/sidecar-memory-limit': limit, ...(gomem ? { 'dapr.io/env': gomem } : {}) });
    expect(env('1000Mi', 'GOMEMLIMIT=900MiB')).toBeUndefined();
    expect(env('1Gi', 'LOG=1, GOMEMLIMIT=943718400')).toBeUndefined(); // plain bytes, among other variables
    expect(env('1000Mi')).toEqual({ problem: 'no GOMEMLIMIT for its 1000Mi limit', suggestion: 'GOMEMLIMIT=900MiB', severity: 'warning' });
    expect(env('1000Mi', 'GOMEMLIMIT=1000MiB')).toMatchObject({
      problem: 'GOMEMLIMIT=1000MiB is 100 % of its 1000Mi limit',
      severity: 'warning',
    });
    expect(env('1000Mi', 'GOMEMLIMIT=500MiB')?.problem).toContain('50 %');
    // Kubernetes suffixes are not Go's: daprd would exit at start.
    expect(env('1000Mi', 'GOMEMLIMIT=900Mi')).toMatchObject({
      severity: 'failure',
      problem: 'GOMEMLIMIT=900Mi is not valid for Go (Go wants 900MiB): daprd exits at start',
    });
    expect(env('1000MiB')?.problem).toBe('memory limit "1000MiB" is not a Kubernetes quantity (write 1000Mi, not 1000MiB)');
    expect(env('1G', 'GOMEMLIMIT=858MiB')).toBeUndefined(); // 1e9 bytes: 858 MiB is 90 %
    expect(env('1Gi', 'GOMEMLIMIT=off')).toMatchObject({ severity: 'warning', suggestion: 'GOMEMLIMIT=921MiB' });
  });

  it('reports GOMEMLIMIT per workload with a worked example, failing on a malformed one', () => {
    const input = tunedInput();
    input.workloads = [
      app('shop', 'orders'),
      app('shop', 'missing', { ...TUNED_ANNOTATIONS, 'dapr.io/env': 'FOO=1', 'dapr.io/sidecar-memory-limit': '512Mi' }),
      app('shop', 'unlimited', { 'dapr.io/enabled': 'true' }),
    ];
    const r = checkGoMemLimit(input);
    expect(r.severity).toBe('warning');
    expect(r.affected).toEqual({ count: 1, names: ['shop/missing'] });
    expect(r.fix).toContain('dapr.io/env: "GOMEMLIMIT=460MiB"');
    input.workloads.push(app('shop', 'broken', { ...TUNED_ANNOTATIONS, 'dapr.io/env': 'GOMEMLIMIT=900Mi' }));
    expect(checkGoMemLimit(input).severity).toBe('failure');
  });

  it('fails Dapr workloads in restricted namespaces without a sidecar seccomp profile', () => {
    const input = tunedInput();
    input.namespaces = [
      ...input.namespaces,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'secure', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    ];
    input.values = { ...input.values, dapr_sidecar_injector: { sidecarDropALLCapabilities: true } };
    input.workloads = [
      app('secure', 'vault-client'),
      app('secure', 'annotated', { ...TUNED_ANNOTATIONS, 'dapr.io/sidecar-seccomp-profile-type': 'RuntimeDefault' }),
      app('secure', 'pod-level', TUNED_ANNOTATIONS, {
        automountServiceAccountToken: false,
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      }),
      app('shop', 'orders'),
    ];
    const r = checkSeccomp(input);
    expect(r.severity).toBe('failure');
    expect(r.affected?.names).toEqual(['secure/vault-client']);
    expect(r.fix).toContain('dapr.io/sidecar-seccomp-profile-type: "RuntimeDefault"');
    // With every workload profiled, the injector must still drop capabilities (live env wins over values).
    input.workloads = input.workloads.filter((w) => w.metadata.name !== 'vault-client');
    expect(checkSeccomp(input).severity).toBe('ok');
    const injectorWithoutDrop = editControlPlane(input, (w) => {
      if (w.metadata.name === 'dapr-sidecar-injector')
        w.spec.template.spec.containers[0]!.env = [{ name: 'SIDECAR_DROP_ALL_CAPABILITIES', value: 'false' }];
    });
    const caps = checkSeccomp(injectorWithoutDrop);
    expect(caps.severity).toBe('failure');
    expect(caps.fix).toContain('dapr_sidecar_injector.sidecarDropALLCapabilities=true');
  });

  it('warns (only) about mounted service account tokens and a missing API token', () => {
    const input = tunedInput();
    input.workloads = [app('shop', 'orders'), app('shop', 'k8s-client', TUNED_ANNOTATIONS, {})];
    const sa = checkServiceAccountToken(input);
    expect([sa.severity, sa.affected?.names]).toEqual(['warning', ['shop/k8s-client']]);
    input.workloads = [app('shop', 'open', { 'dapr.io/enabled': 'true' })];
    const token = checkApiToken(input);
    expect([token.severity, token.affected?.names]).toEqual(['warning', ['shop/open']]);
    expect(token.fix).toContain('dapr.io/api-token-secret');
  });

  it('has nothing to say without Dapr-enabled workloads', () => {
    const input = { ...tunedInput(), workloads: [app('shop', 'plain', {}, {})] };
    expect([checkSidecarResources(input), checkApiToken(input), checkServiceAccountToken(input)].map((r) => r.severity)).toEqual([
      'info',
      'info',
      'info',
    ]);
  });
});

describe('security', () => {
  it('fails when mTLS is off and warns when daprsystem is missing', () => {
    expect(checkMtls({ ...tunedInput(), mtlsEnabled: false }).severity).toBe('failure');
    expect(checkMtls({ ...tunedInput(), mtlsEnabled: undefined }).severity).toBe('warning');
    expect(checkMtls(tunedInput()).fix).toBe('');
  });

  it('reuses the trust bundle checks: expiry within --cert-warn-days, roots that differ, a missing bundle', () => {
    const soon = makeTrustBundle({ rootValidDays: 20 });
    const input = {
      ...tunedInput(),
      trustBundle: {
        rootCert: soon.rootCert,
        issuerCert: soon.issuerCert,
        issuerKey: soon.issuerKey,
        configMapRootCert: makeTrustBundle().rootCert,
      },
    };
    const byId = Object.fromEntries(checkTrustBundleHealth(input).map((r) => [r.id, r.severity]));
    expect(byId).toMatchObject({
      'trust-bundle-root-expiry': 'warning',
      'trust-bundle-roots-equal': 'failure',
      'trust-bundle-issuer-signed-by-root': 'ok',
    });
    expect(checkTrustBundleHealth({ ...input, certWarnDays: 10 }).find((r) => r.id === 'trust-bundle-root-expiry')?.severity).toBe('ok');
    expect(checkTrustBundleHealth({ ...tunedInput(), trustBundle: undefined }).map((r) => [r.id, r.severity])).toEqual([
      ['trust-bundle', 'failure'],
    ]);
  });

  it('fails plaintext values under secret-looking names, never showing the value', () => {
    const input = tunedInput();
    input.components = [
      component(
        'shop',
        'statestore',
        [
          { name: 'redisHost', value: 'redis:6379' },
          { name: 'redisPassword', value: 'hunter2' },
          { name: 'keyPrefix', value: 'name' },
        ],
        ['orders'],
      ),
      component('shop', 'pubsub', [
        { name: 'connectionString', value: 'Endpoint=sb://x;SharedAccessKey=abc' },
        { name: 'accessKey', secretKeyRef: { name: 's', key: 'k' } },
        { name: 'authToken', value: '' },
      ]),
      component('ops', 'blob', [
        { name: 'accountKey', value: 'c2VjcmV0' },
        { name: 'partitionKey', value: 'p' },
      ]),
    ];
    const r = checkComponentSecrets(input);
    expect(r.severity).toBe('failure');
    expect(r.affected?.names).toEqual(['shop/statestore (redisPassword)', 'shop/pubsub (connectionString)', 'ops/blob (accountKey)']);
    expect(JSON.stringify(r)).not.toMatch(/hunter2|SharedAccessKey=abc|c2VjcmV0/);
    expect(r.fix).toContain('secretKeyRef');
    expect(['API_TOKEN', 'masterKey', 'clientSecret', 'key', 'sasl_password'].every(looksSecret)).toBe(true);
    expect(['keyPrefix', 'partitionKey', 'routingKey', 'redisHost', 'keys'].some(looksSecret)).toBe(false);
  });

  it('reports components without scopes as info', () => {
    const input = tunedInput();
    input.components.push(component('shop', 'everyone', [{ name: 'host', value: 'x' }]));
    const r = checkComponentScopes(input);
    expect([r.severity, r.affected?.names]).toEqual(['info', ['shop/everyone']]);
  });
});

describe('observability', () => {
  it('reads global.prometheus.enabled from the computed values (absent means the default, on)', () => {
    expect(checkMetrics(tunedInput()).severity).toBe('ok');
    expect(checkMetrics({ ...tunedInput(), values: {} }).severity).toBe('ok');
    const off = checkMetrics({ ...tunedInput(), values: { global: { prometheus: { enabled: false } } } });
    expect(off.severity).toBe('warning');
    expect(off.fix).toContain('--set global.prometheus.enabled=true');
    // Without values, the operator's flag tells.
    const flagOff = editControlPlane({ ...tunedInput(), values: undefined }, (w) => {
      if (w.metadata.name === 'dapr-operator') w.spec.template.spec.containers[0]!.args = ['--enable-metrics=false'];
    });
    expect(checkMetrics(flagOff).severity).toBe('warning');
  });

  it('notes (info) when no Configuration traces', () => {
    const input = tunedInput();
    expect(checkTracing(input).finding).toBe('Tracing is configured in shop/tracing.');
    input.configurations = input.configurations.filter((c) => !c.spec?.tracing);
    expect(checkTracing(input).severity).toBe('info');
  });
});

describe('versions', () => {
  it('takes the three newest released minors from a repository index', () => {
    expect(supportedMinorsFrom(['1.17.2', '1.18.0-rc.1', '1.16.19', '1.16.18', '1.15.12', '1.14.4', '1.19.0-rc.2'], 'repo')).toEqual({
      minors: ['1.17', '1.16', '1.15'],
      source: 'repo',
    });
    expect(supportedMinorsFrom([], 'repo')).toBeUndefined();
    expect(fallbackSupportedMinors().minors).toEqual([...SUPPORTED_MINORS]);
  });

  it('fails a control plane on an unsupported minor and accepts one newer than a stale index', () => {
    const at = (version: string) => ({ ...tunedInput(), release: { ...tunedInput().release, version } });
    expect(checkSupportedMinor(at('1.16.19')).severity).toBe('ok');
    const old = checkSupportedMinor(at('1.14.4'));
    expect(old.severity).toBe('failure');
    expect(old.fix).toContain('1.15');
    expect(checkSupportedMinor(at('1.19.0')).severity).toBe('info');
  });

  it('allows sidecars at the same minor or one behind; more behind fails, ahead warns', () => {
    const withSidecars = (...versions: string[]) => {
      const input = tunedInput();
      input.workloads = versions.map((_, i) => app('shop', `svc-${i}`));
      input.pods = [...input.pods.filter((p) => p.metadata.namespace === NS), ...versions.map((v, i) => appPod('shop', `svc-${i}`, v))];
      return checkVersionSkew(input);
    };
    expect(withSidecars('1.16.19', '1.16.2', '1.15.12').severity).toBe('ok');
    const behind = withSidecars('1.16.19', '1.14.4-custom');
    expect(behind.severity).toBe('failure');
    expect(behind.affected?.names).toEqual(['shop/svc-1 1.14.4-custom (2 minors behind)']);
    expect(withSidecars('1.17.2').severity).toBe('warning');
    // A control-plane pod left behind by an interrupted upgrade counts too.
    const input = tunedInput();
    input.pods = input.pods
      .filter((p) => p.metadata.labels?.app !== 'dapr-sentry')
      .concat(controlPlanePods('dapr-sentry', ['node-a'], '1.18.0'));
    const cp = editControlPlane(input, () => undefined, input.pods);
    expect(checkVersionSkew(cp).affected?.names).toEqual(['dapr-sentry 1.18.0 (ahead)']);
  });
});

describe('summary and exit', () => {
  it('fails on failures; warnings fail only with --strict', () => {
    const warned = runChecks({ ...tunedInput(), mtlsEnabled: undefined, values: { global: { prometheus: { enabled: false } } } });
    expect(summarize(warned)).toEqual({ ok: 24, warning: 2, failure: 0, info: 1 });
    expect(checksFailed(warned)).toBe(false);
    expect(checksFailed(warned, true)).toBe(true);
    expect(checksFailed(runChecks({ ...tunedInput(), mtlsEnabled: false }))).toBe(true);
  });

  it('reports kinds it could not read instead of judging them', () => {
    const r = runChecks({ ...tunedInput(), components: [], unreadable: ['components'] });
    expect(r.find((x) => x.id === 'component-secrets')?.severity).toBe('info');
    expect(r.at(-1)).toMatchObject({ id: 'unreadable', severity: 'info' });
  });
});

describe('memory sizes', () => {
  it('parses Kubernetes quantities and Go byte counts, each in its own notation', async () => {
    const { parseKubeQuantity, parseGoByteCount, parseDaprEnv } = await import('../../src/dapr/quantity.js');
    expect(['1000Mi', '1Gi', '1G', '512M', '1e9', '0.5Gi', '1048576'].map(parseKubeQuantity)).toEqual([
      1000 * 2 ** 20,
      2 ** 30,
      1e9,
      512e6,
      1e9,
      2 ** 29,
      2 ** 20,
    ]);
    expect(['1000MiB', 'lots', ''].map(parseKubeQuantity)).toEqual([undefined, undefined, undefined]);
    expect(['900MiB', '1GiB', '943718400', '10B'].map(parseGoByteCount)).toEqual([900 * 2 ** 20, 2 ** 30, 943718400, 10]);
    // Go takes no Kubernetes suffixes, no decimal units and no fractions.
    expect(['900Mi', '1G', '0.5GiB', 'off'].map(parseGoByteCount)).toEqual([undefined, undefined, undefined, undefined]);
    expect(parseDaprEnv('A=1, GOMEMLIMIT=900MiB,B=x=y')).toEqual({ A: '1', GOMEMLIMIT: '900MiB', B: 'x=y' });
  });
});
