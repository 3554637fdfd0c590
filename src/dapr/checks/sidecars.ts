// Sidecar checks, per Dapr-enabled workload (pod template annotations): resources, GOMEMLIMIT, seccomp under
// the restricted Pod Security Standard, the service account token, and the Dapr API token.
import type { Workload } from '../../cluster/k8s-types.js';
import { isDaprEnabled } from '../data-plane.js';
import { getPath } from '../values.js';
import { goValueWithKubeSuffix, parseDaprEnv, parseGoByteCount, parseKubeQuantity, toMiB } from '../quantity.js';
import { affected, daprupUpgrade, listed, ok, type CheckInput, type CheckResult } from './types.js';

const GROUP = 'sidecars';

const SIDECAR_RESOURCE_ANNOTATIONS = {
  'cpu-request': 'dapr.io/sidecar-cpu-request',
  'cpu-limit': 'dapr.io/sidecar-cpu-limit',
  'memory-request': 'dapr.io/sidecar-memory-request',
  'memory-limit': 'dapr.io/sidecar-memory-limit',
} as const;
const ANNOTATION_ENV = 'dapr.io/env';
const ANNOTATION_SECCOMP = 'dapr.io/sidecar-seccomp-profile-type';
const ANNOTATION_API_TOKEN = 'dapr.io/api-token-secret';
const LABEL_ENFORCE = 'pod-security.kubernetes.io/enforce';
/** GOMEMLIMIT "about 90 %" of the limit: this band passes. */
const GOMEMLIMIT_BAND = { min: 0.8, max: 0.95, target: 0.9 } as const;

const name = (w: Workload) => `${w.metadata.namespace}/${w.metadata.name}`;
const annotationsOf = (w: Workload) => w.spec.template.metadata?.annotations ?? {};

const daprWorkloads = (input: CheckInput) => input.workloads.filter(isDaprEnabled);

function none(id: string): CheckResult {
  return { ...ok(id, GROUP, 'No Dapr-enabled workloads.'), severity: 'info' };
}

export function checkSidecarResources(input: CheckInput): CheckResult {
  const id = 'sidecar-resources';
  const all = daprWorkloads(input);
  if (!all.length) return none(id);
  const offenders = all.flatMap((w) => {
    const a = annotationsOf(w);
    const missing = Object.entries(SIDECAR_RESOURCE_ANNOTATIONS)
      .filter(([, key]) => !a[key])
      .map(([short]) => short);
    return missing.length ? [`${name(w)} (no ${missing.join(', ')})`] : [];
  });
  if (!offenders.length)
    return ok(id, GROUP, `Every Dapr-enabled workload (${all.length}) sets sidecar CPU and memory requests and limits.`);
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `${offenders.length} of ${all.length} Dapr-enabled workloads lack sidecar requests or limits: ${listed(offenders)}.`,
    why: 'Without them daprd runs unbounded and unaccounted for: it can starve the app next to it, and the scheduler cannot place the pod honestly.',
    fix: 'Pod template annotations (production starting points; tune from metrics): dapr.io/sidecar-cpu-request: "100m", dapr.io/sidecar-cpu-limit: "300m", dapr.io/sidecar-memory-request: "250Mi", dapr.io/sidecar-memory-limit: "1000Mi".',
    affected: affected(offenders),
  };
}

/** The verdict on one workload's GOMEMLIMIT, or undefined when it is fine. */
export function gomemlimitProblem(
  annotations: Record<string, string>,
): { problem: string; suggestion?: string; severity: 'warning' | 'failure' } | undefined {
  const limitText = annotations[SIDECAR_RESOURCE_ANNOTATIONS['memory-limit']];
  if (!limitText) return undefined;
  const limit = parseKubeQuantity(limitText);
  if (limit === undefined) {
    const kube = /^(\d+)(Ki|Mi|Gi|Ti)B$/.exec(limitText);
    return {
      problem: `memory limit "${limitText}" is not a Kubernetes quantity${kube ? ` (write ${kube[1]}${kube[2]}, not ${limitText})` : ''}`,
      severity: 'warning',
    };
  }
  const suggestion = `GOMEMLIMIT=${toMiB(limit * GOMEMLIMIT_BAND.target)}MiB`;
  const goText = parseDaprEnv(annotations[ANNOTATION_ENV]).GOMEMLIMIT;
  if (goText === undefined) return { problem: `no GOMEMLIMIT for its ${limitText} limit`, suggestion, severity: 'warning' };
  if (goText === 'off') return { problem: 'GOMEMLIMIT=off disables the soft limit', suggestion, severity: 'warning' };
  const go = parseGoByteCount(goText);
  if (go === undefined) {
    const fixed = goValueWithKubeSuffix(goText);
    return {
      problem: `GOMEMLIMIT=${goText} is not valid for Go${fixed ? ` (Go wants ${fixed})` : ''}: daprd exits at start`,
      suggestion,
      severity: 'failure',
    };
  }
  const ratio = go / limit;
  if (ratio < GOMEMLIMIT_BAND.min || ratio > GOMEMLIMIT_BAND.max) {
    return { problem: `GOMEMLIMIT=${goText} is ${Math.round(ratio * 100)} % of its ${limitText} limit`, suggestion, severity: 'warning' };
  }
  return undefined;
}

export function checkGoMemLimit(input: CheckInput): CheckResult {
  const id = 'sidecar-gomemlimit';
  const limited = daprWorkloads(input).filter((w) => annotationsOf(w)[SIDECAR_RESOURCE_ANNOTATIONS['memory-limit']]);
  if (!limited.length) return { ...ok(id, GROUP, 'GOMEMLIMIT: not checked, no workload sets a sidecar memory limit.'), severity: 'info' };
  const problems = limited.flatMap((w) => {
    const p = gomemlimitProblem(annotationsOf(w));
    return p ? [{ w, ...p }] : [];
  });
  if (!problems.length)
    return ok(id, GROUP, `Every workload with a sidecar memory limit (${limited.length}) sets GOMEMLIMIT to about 90 % of it.`);
  const example = problems.find((p) => p.suggestion);
  return {
    id,
    group: GROUP,
    severity: problems.some((p) => p.severity === 'failure') ? 'failure' : 'warning',
    finding: `${problems.length} of ${limited.length} workloads with a sidecar memory limit: ${listed(
      problems.map((p) => `${name(p.w)} (${p.problem})`),
      3,
    )}.`,
    why: 'Go collects garbage by heap growth, not by the container limit: without a soft limit near the hard one daprd is OOMKilled instead of collecting. GOMEMLIMIT takes Go units (MiB, GiB), not Kubernetes ones (Mi, Gi).',
    fix: `Annotation dapr.io/env: "GOMEMLIMIT=<90 % of the limit>MiB"${example ? `, e.g. for ${name(example.w)}: dapr.io/env: "${example.suggestion}"` : ''} (append to any variables already there, comma-separated).`,
    affected: affected(problems.map((p) => name(p.w))),
  };
}

export function checkSeccomp(input: CheckInput): CheckResult {
  const id = 'sidecar-seccomp';
  const restricted = new Set(
    input.namespaces.filter((n) => n.metadata.labels?.[LABEL_ENFORCE] === 'restricted').map((n) => n.metadata.name),
  );
  const inRestricted = daprWorkloads(input).filter((w) => restricted.has(w.metadata.namespace ?? ''));
  if (!inRestricted.length)
    return {
      ...ok(id, GROUP, `Seccomp: not checked, no Dapr-enabled workload in a namespace labelled ${LABEL_ENFORCE}=restricted.`),
      severity: 'info',
    };
  const profiled = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
  const offenders = inRestricted
    .filter((w) => !profiled(annotationsOf(w)[ANNOTATION_SECCOMP]) && !profiled(w.spec.template.spec.securityContext?.seccompProfile?.type))
    .map(name);
  // The restricted profile also needs capabilities dropped, which the injector adds only when told to.
  const injector = input.controlPlaneWorkloads.find((w) => w.metadata.name === 'dapr-sidecar-injector');
  const dropEnv = injector?.spec.template.spec.containers
    .flatMap((c) => c.env ?? [])
    .find((e) => e.name === 'SIDECAR_DROP_ALL_CAPABILITIES')?.value;
  const dropAll =
    dropEnv !== undefined ? dropEnv === 'true' : getPath(input.values ?? {}, 'dapr_sidecar_injector.sidecarDropALLCapabilities') === true;
  if (!offenders.length && dropAll)
    return ok(
      id,
      GROUP,
      `Every Dapr-enabled workload in a restricted namespace (${inRestricted.length}) gives daprd a seccomp profile, and the injector drops ALL its capabilities.`,
    );
  const findings = [
    ...(offenders.length
      ? [
          `${offenders.length} of ${inRestricted.length} workloads in restricted namespaces give daprd no seccomp profile: ${listed(offenders)}`,
        ]
      : []),
    ...(dropAll ? [] : ['the injector does not drop ALL capabilities from daprd']),
  ];
  return {
    id,
    group: GROUP,
    severity: 'failure',
    finding: `${findings.join('; ')}.`,
    why: 'The restricted Pod Security Standard rejects pods whose containers lack a RuntimeDefault/Localhost seccomp profile or keep capabilities: the next pod of these workloads will not be created.',
    fix: [
      offenders.length ? 'Pod template annotation dapr.io/sidecar-seccomp-profile-type: "RuntimeDefault"' : '',
      dropAll ? '' : daprupSetDrop(input),
    ]
      .filter(Boolean)
      .join('; and '),
    affected: affected(offenders),
  };
}

const daprupSetDrop = (input: CheckInput) => daprupUpgrade(input, '--set dapr_sidecar_injector.sidecarDropALLCapabilities=true');

export function checkServiceAccountToken(input: CheckInput): CheckResult {
  const id = 'sidecar-service-account-token';
  const all = daprWorkloads(input);
  if (!all.length) return none(id);
  const offenders = all.filter((w) => w.spec.template.spec.automountServiceAccountToken !== false).map(name);
  if (!offenders.length) return ok(id, GROUP, 'No Dapr-enabled workload mounts a Kubernetes service account token it may not need.');
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `${offenders.length} of ${all.length} Dapr-enabled workloads mount the Kubernetes API token: ${listed(offenders)}.`,
    why: 'daprd gets its own short-lived token for Sentry from the injector; an app that never calls the Kubernetes API only hands an attacker a credential.',
    fix: 'Pod spec automountServiceAccountToken: false, unless the app itself calls the Kubernetes API (then ignore this warning for it).',
    affected: affected(offenders),
  };
}

export function checkApiToken(input: CheckInput): CheckResult {
  const id = 'sidecar-api-token';
  const all = daprWorkloads(input);
  if (!all.length) return none(id);
  const offenders = all.filter((w) => !annotationsOf(w)[ANNOTATION_API_TOKEN]).map(name);
  if (!offenders.length) return ok(id, GROUP, 'Every Dapr-enabled workload protects the Dapr API with a token.');
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `${offenders.length} of ${all.length} Dapr-enabled workloads have no Dapr API token: ${listed(offenders)}.`,
    why: "Without it anything that reaches the pod (another container, a port-forward, a mis-scoped network policy) can call the sidecar's API: state, secrets, pub/sub and service invocation.",
    fix: 'Create a Secret with key "token" (kubectl create secret generic dapr-api-token --from-literal=token=<random>) in the app\'s namespace and annotate the pod template dapr.io/api-token-secret: "dapr-api-token"; the app sends it as the dapr-api-token header (DAPR_API_TOKEN for the SDKs).',
    affected: affected(offenders),
  };
}

export function sidecarChecks(input: CheckInput): CheckResult[] {
  return [checkSidecarResources(input), checkGoMemLimit(input), checkSeccomp(input), checkServiceAccountToken(input), checkApiToken(input)];
}
