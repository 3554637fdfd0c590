// Control-plane checks: readiness, HA, disruption budgets, spread over nodes, resources, priority, namespace,
// the injector watchdog and scheduler storage. Value names are the real chart's (github dapr/helm-charts).
import semver from 'semver';
import { selectorMatches, type Container, type Pod, type Workload } from '../../cluster/k8s-types.js';
import { CONTROL_PLANE, HA_VALUE } from '../chart.js';
import { boundClaims, claimSize, expansionNote, growClaimCommand } from '../statefulsets.js';
import { getPath } from '../values.js';
import { parseKubeQuantity } from '../quantity.js';
import { affected, daprupUpgrade, listed, ok, type CheckInput, type CheckResult } from './types.js';

const GROUP = 'control-plane';

/** The chart's values key of each component. */
const VALUES_KEY: Record<string, string> = {
  'dapr-operator': 'dapr_operator',
  'dapr-sentry': 'dapr_sentry',
  'dapr-sidecar-injector': 'dapr_sidecar_injector',
  'dapr-placement-server': 'dapr_placement',
  'dapr-scheduler-server': 'dapr_scheduler',
};

/** Starting points from Dapr's production guidelines (docs.dapr.io, "Production guidelines on Kubernetes"); the scheduler has none there. */
const SUGGESTED_REQUESTS: Record<string, { cpu: string; memory: string }> = {
  'dapr-operator': { cpu: '100m', memory: '100Mi' },
  'dapr-sentry': { cpu: '100m', memory: '30Mi' },
  'dapr-sidecar-injector': { cpu: '100m', memory: '30Mi' },
  'dapr-placement-server': { cpu: '250m', memory: '75Mi' },
  'dapr-scheduler-server': { cpu: '250m', memory: '250Mi' },
};

const HA_REPLICAS = 3;
const PRIORITY_CLASS = 'system-cluster-critical';
/** Dapr's scheduler guidance: 1Gi "is likely not sufficient for most production deployments"; at least 16Gi. */
const SCHEDULER_MIN_STORAGE = '16Gi';
const SCHEDULER_CLAIM = 'dapr-scheduler-data-dir';

const daprupSet = (input: CheckInput, ...sets: string[]) => daprupUpgrade(input, ...sets.map((s) => `--set ${s}`));

const workloadsOf = (input: CheckInput) =>
  CONTROL_PLANE.map((c) => ({ c, w: input.controlPlaneWorkloads.find((w) => w.kind === c.kind && w.metadata.name === c.name) })).filter(
    (x): x is { c: (typeof CONTROL_PLANE)[number]; w: Workload } => !!x.w,
  );

/** `dapr-operator`, or `dapr-operator/<container>` for a container not named after its component. */
const containerName = (component: string, container: Container) =>
  container.name === component ? component : `${component}/${container.name}`;

const mainContainer = (w: Workload): Container | undefined =>
  w.spec.template.spec.containers.find((c) => c.name === w.metadata.name) ?? w.spec.template.spec.containers[0];

const podsOf = (input: CheckInput, app: string): Pod[] =>
  input.pods.filter(
    (p) => p.metadata.namespace === input.release.namespace && p.metadata.labels?.app === app && !p.metadata.deletionTimestamp,
  );

/** Scheduler exists from 1.14. */
const expectsScheduler = (version: string) => {
  const v = semver.coerce(version);
  return !v || semver.gte(v, '1.14.0');
};

export function checkReady(input: CheckInput): CheckResult {
  const problems: string[] = [];
  for (const s of input.controlPlane) {
    if (!s.present) {
      if (s.name !== 'dapr-scheduler-server' || expectsScheduler(input.release.version)) problems.push(`${s.name} (missing)`);
    } else if (s.ready < s.desired) {
      problems.push(`${s.name} (${s.ready}/${s.desired} ready)`);
    }
  }
  if (!problems.length) return ok('control-plane-ready', GROUP, 'Every control-plane component is present and ready.');
  return {
    id: 'control-plane-ready',
    group: GROUP,
    severity: 'failure',
    finding: `Control plane not healthy: ${listed(problems)}.`,
    why: 'Without the operator, sentry, injector, placement and scheduler, sidecars cannot get certificates or components, new pods start without a sidecar, and actors, reminders and jobs stop.',
    fix: `kubectl get pods -n ${input.release.namespace} and kubectl describe the failing pods; if a component is missing, reinstall it with helm upgrade (${daprupUpgrade(input)}).`,
    affected: affected(problems),
  };
}

export function checkHighAvailability(input: CheckInput): CheckResult {
  const single = input.controlPlane.filter((s) => s.present && s.desired < HA_REPLICAS).map((s) => `${s.name} (${s.desired})`);
  if (!single.length)
    return ok('control-plane-ha', GROUP, `High availability: every control-plane component runs ${HA_REPLICAS} or more replicas.`);
  return {
    id: 'control-plane-ha',
    group: GROUP,
    severity: 'warning',
    finding: `HA is off: ${listed(single)} ${single.length === 1 ? 'runs' : 'run'} fewer than ${HA_REPLICAS} replicas.`,
    why: 'With one replica, a node drain, an eviction or a crash stops certificate issuing (sentry), sidecar injection (injector), component updates (operator) and actor placement until the pod is back.',
    fix: `${daprupUpgrade(input, '--enable-ha')} (Helm value ${HA_VALUE}=true; daprup recreates the placement StatefulSet, whose raft-log volume is immutable).`,
    affected: affected(single),
  };
}

export function checkDisruptionBudgets(input: CheckInput): CheckResult {
  if (!input.haEnabled) {
    return {
      ...ok(
        'control-plane-pdbs',
        GROUP,
        'PodDisruptionBudgets: not checked, HA is off (the chart creates them for operator, sentry, injector and placement only in HA).',
      ),
      severity: 'info',
    };
  }
  if (input.unreadable?.includes('poddisruptionbudgets')) {
    return { ...ok('control-plane-pdbs', GROUP, 'PodDisruptionBudgets could not be read (permission?): not checked.'), severity: 'info' };
  }
  const pdbs = input.pdbs.filter((p) => p.metadata.namespace === input.release.namespace);
  const missing = workloadsOf(input)
    .filter(({ w }) => !pdbs.some((p) => p.spec.selector && selectorMatches(p.spec.selector, w.spec.template.metadata?.labels)))
    .map(({ c }) => c.name);
  if (!missing.length) return ok('control-plane-pdbs', GROUP, 'Every control-plane component has a PodDisruptionBudget.');
  return {
    id: 'control-plane-pdbs',
    group: GROUP,
    severity: 'warning',
    finding: `No PodDisruptionBudget covers ${listed(missing)}.`,
    why: 'A node drain may then evict every replica of a component at once, which is exactly what HA is meant to survive.',
    fix: `The chart renders <name>-disruption-budget for every component when ${HA_VALUE}=true (global.ha.disruption.maximumUnavailable, default 25%): ${daprupUpgrade(input, '--enable-ha')} restores them; or create a PodDisruptionBudget selecting app=<component> in ${input.release.namespace}.`,
    affected: affected(missing),
  };
}

export function checkSpread(input: CheckInput): CheckResult {
  const crowded: string[] = [];
  let multi = 0;
  for (const c of CONTROL_PLANE) {
    const scheduled = podsOf(input, c.name).filter((p) => p.spec.nodeName);
    if (scheduled.length < 2) continue;
    multi++;
    const nodes = new Set(scheduled.map((p) => p.spec.nodeName));
    if (nodes.size < scheduled.length)
      crowded.push(`${c.name} (${scheduled.length} pods on ${nodes.size} node${nodes.size === 1 ? '' : 's'})`);
  }
  if (!multi)
    return {
      ...ok('control-plane-spread', GROUP, 'Spread over nodes: not checked, no component runs more than one pod.'),
      severity: 'info',
    };
  if (!crowded.length) return ok('control-plane-spread', GROUP, 'The pods of each control-plane component run on different nodes.');
  return {
    id: 'control-plane-spread',
    group: GROUP,
    severity: 'warning',
    finding: `Replicas share a node: ${listed(crowded)}.`,
    why: 'Losing that one node takes several replicas at once; placement and scheduler lose their raft/etcd quorum when two of three go.',
    fix: 'Add nodes or free capacity so the HA anti-affinity can place each replica on its own node; to require it, set global.ha.podAntiAffinityPolicy=requiredDuringSchedulingIgnoredDuringExecution, and global.ha.topologyKey=kubernetes.io/hostname when nodes carry no zone label (chart ≥ 1.17).',
    affected: affected(crowded),
  };
}

export function checkResourceRequests(input: CheckInput): CheckResult {
  const missing: string[] = [];
  const sets: string[] = [];
  for (const { c, w } of workloadsOf(input)) {
    for (const container of w.spec.template.spec.containers) {
      const lacks = (['cpu', 'memory'] as const).filter((r) => !container.resources?.requests?.[r]);
      if (!lacks.length) continue;
      missing.push(`${containerName(c.name, container)} (${lacks.join(', ')})`);
      const key = VALUES_KEY[c.name]!;
      for (const r of lacks) sets.push(`${key}.resources.requests.${r}=${SUGGESTED_REQUESTS[c.name]![r]}`);
    }
  }
  if (!missing.length) return ok('control-plane-requests', GROUP, 'Every control-plane container sets CPU and memory requests.');
  return {
    id: 'control-plane-requests',
    group: GROUP,
    severity: 'warning',
    finding: `No resource requests on ${listed(missing)}.`,
    why: 'Without requests the scheduler may pack the control plane onto busy nodes, and it is evicted first under pressure (BestEffort QoS).',
    fix: `Set <component>.resources.requests (starting points from Dapr's production guidelines; tune from metrics): ${daprupSet(input, ...sets)}`,
    affected: affected(missing),
  };
}

export function checkMemoryLimits(input: CheckInput): CheckResult {
  const limited: string[] = [];
  const sets: string[] = [];
  for (const { c, w } of workloadsOf(input)) {
    for (const container of w.spec.template.spec.containers) {
      const limit = container.resources?.limits?.memory;
      if (!limit) continue;
      limited.push(`${containerName(c.name, container)} (${limit})`);
      sets.push(`${VALUES_KEY[c.name]}.resources.limits.memory=null`);
    }
  }
  if (!limited.length) return ok('control-plane-memory-limits', GROUP, 'No memory limits on the control plane.');
  return {
    id: 'control-plane-memory-limits',
    group: GROUP,
    severity: 'warning',
    finding: `Memory limits on ${listed(limited)}.`,
    why: "Dapr's production guidelines advise against memory limits on the control plane: a limit turns a spike (many pods starting, a certificate storm) into an OOMKill.",
    fix: `Remove them, keep the requests: ${daprupSet(input, ...sets)}`,
    affected: affected(limited),
  };
}

export function checkPriorityClass(input: CheckInput): CheckResult {
  const other = workloadsOf(input)
    .filter(({ w }) => w.spec.template.spec.priorityClassName !== PRIORITY_CLASS)
    .map(({ c, w }) => `${c.name} (${w.spec.template.spec.priorityClassName || 'none'})`);
  if (!other.length) return ok('control-plane-priority-class', GROUP, `The control plane runs with priorityClassName ${PRIORITY_CLASS}.`);
  return {
    id: 'control-plane-priority-class',
    group: GROUP,
    severity: 'warning',
    finding: `Not ${PRIORITY_CLASS}: ${listed(other)}.`,
    why: 'Under node pressure Kubernetes preempts and evicts lower-priority pods first; every Dapr app depends on the control plane.',
    fix: `${daprupSet(input, `global.priorityClassName=${PRIORITY_CLASS}`)} (the chart also creates the ResourceQuota that admits that class in ${input.release.namespace}).`,
    affected: affected(other),
  };
}

export function checkNamespace(input: CheckInput): CheckResult {
  if (input.release.namespace !== 'default')
    return ok('control-plane-namespace', GROUP, `Dapr runs in its own namespace (${input.release.namespace}).`);
  return {
    id: 'control-plane-namespace',
    group: GROUP,
    severity: 'warning',
    finding: 'Dapr is installed in the default namespace.',
    why: 'The control plane then shares a namespace (and its RBAC, quotas and network policies) with workloads; Dapr expects its own, conventionally dapr-system.',
    fix: 'Reinstall into its own namespace: export the trust bundle (daprup certs export --out ./certs), helm uninstall dapr -n default, then helm install dapr dapr/dapr -n dapr-system --create-namespace with --set-file dapr_sentry.tls.{root.certPEM,issuer.certPEM,issuer.keyPEM} from ./certs.',
  };
}

/** `--watch-interval X`, `--watch-interval=X` (or one dash, as Go flags allow). */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const f of [`--${flag}`, `-${flag}`]) {
      if (a === f) return args[i + 1];
      if (a.startsWith(`${f}=`)) return a.slice(f.length + 1);
    }
  }
  return undefined;
}

export function checkWatchdog(input: CheckInput): CheckResult {
  const operator = input.controlPlaneWorkloads.find((w) => w.metadata.name === 'dapr-operator');
  const container = operator && mainContainer(operator);
  const fromArgs = container && flagValue([...(container.command ?? []), ...(container.args ?? [])], 'watch-interval');
  const fromValues = getPath(input.values ?? {}, 'dapr_operator.watchInterval');
  const interval = fromArgs ?? (fromValues === undefined || fromValues === null ? undefined : String(fromValues));
  const source = fromArgs !== undefined ? 'operator --watch-interval' : 'dapr_operator.watchInterval';
  if (interval !== undefined && !['', '0', '0s'].includes(interval.trim())) {
    return ok(
      'control-plane-watchdog',
      GROUP,
      interval === 'once'
        ? 'The injector watchdog runs once, when the operator starts (--watch-interval=once).'
        : `The injector watchdog is on (${source} ${interval}).`,
    );
  }
  return {
    id: 'control-plane-watchdog',
    group: GROUP,
    severity: 'warning',
    finding: `The injector watchdog is off (${interval === undefined ? 'dapr_operator.watchInterval not set' : `${source} "${interval}"`}).`,
    why: 'The injector webhook fails open (failurePolicy Ignore): a pod created while it is down runs without a sidecar and nothing reports it. The watchdog deletes such pods so they are recreated with one.',
    fix: daprupSet(input, 'dapr_operator.watchInterval=1m'),
  };
}

/**
 * Scheduler storage as it is bound: each replica's claim keeps the size it was created with, whatever the
 * StatefulSet's template says later (the chart's 16Gi default from 1.17.7 never reaches an existing 1Gi claim).
 */
export function checkSchedulerStorage(input: CheckInput): CheckResult {
  const id = 'control-plane-scheduler-storage';
  const ns = input.release.namespace;
  const scheduler = input.controlPlaneWorkloads.find((w) => w.kind === 'StatefulSet' && w.metadata.name === 'dapr-scheduler-server');
  if (!scheduler) return { ...ok(id, GROUP, 'Scheduler storage: not checked, no scheduler StatefulSet.'), severity: 'info' };
  const claim =
    scheduler.spec.volumeClaimTemplates?.find((v) => v.metadata.name === SCHEDULER_CLAIM) ?? scheduler.spec.volumeClaimTemplates?.[0];
  if (!claim) {
    return {
      id,
      group: GROUP,
      severity: 'warning',
      finding: 'The scheduler keeps its data in memory (no volumeClaimTemplates).',
      why: "Jobs, actor reminders and workflow timers live in the scheduler's embedded etcd: in memory they are lost whenever the scheduler pods restart.",
      fix: `${daprupSet(input, 'dapr_scheduler.cluster.inMemoryStorage=false', `dapr_scheduler.cluster.storageSize=${SCHEDULER_MIN_STORAGE}`)} (volumeClaimTemplates are immutable: daprup recreates the scheduler StatefulSet).`,
    };
  }
  const templateSize = claim.spec.resources?.requests?.storage;
  const bound = boundClaims(input.claims ?? [], claim.metadata.name, scheduler.metadata.name, ns);
  const min = parseKubeQuantity(SCHEDULER_MIN_STORAGE)!;
  const cls = claim.spec.storageClassName ? `, storage class ${claim.spec.storageClassName}` : '';
  if (!bound.length) {
    // No claim to read (none bound yet, or claims unreadable): the template is all there is.
    const bytes = parseKubeQuantity(templateSize);
    if (bytes !== undefined && bytes >= min)
      return ok(id, GROUP, `Scheduler storage is persistent: ${templateSize} per replica${cls} (no bound claim read).`);
    return {
      id,
      group: GROUP,
      severity: 'warning',
      finding: `Scheduler storage is persistent but ${templateSize ?? 'of unknown size'} per replica (Dapr advises at least ${SCHEDULER_MIN_STORAGE}).`,
      why: SCHEDULER_FULL,
      fix: `Set dapr_scheduler.cluster.storageSize=${SCHEDULER_MIN_STORAGE} and dapr_scheduler.etcdSpaceQuota=${SCHEDULER_MIN_STORAGE} (the claim template is immutable: daprup recreates the scheduler StatefulSet).`,
    };
  }
  const sizes = [...new Set(bound.map((c) => claimSize(c) ?? '?'))];
  const template =
    templateSize && sizes.some((s) => parseKubeQuantity(s) !== parseKubeQuantity(templateSize))
      ? ` (the StatefulSet's template asks ${templateSize} for new claims only)`
      : '';
  const small = bound.filter((c) => (parseKubeQuantity(claimSize(c)) ?? 0) < min);
  if (!small.length)
    return ok(
      id,
      GROUP,
      `Scheduler storage is persistent: ${sizes.join(', ')} per replica, ${bound.length} bound claim${bound.length === 1 ? '' : 's'}${cls}${template}.`,
    );
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `Scheduler storage is persistent but its bound claims hold ${sizes.join(', ')} per replica (Dapr advises at least ${SCHEDULER_MIN_STORAGE})${template}.`,
    why: SCHEDULER_FULL,
    fix: `Grow each claim in place (${expansionNote(small[0]!, input.storageClasses ?? [])}): ${small.map((c) => growClaimCommand(c, SCHEDULER_MIN_STORAGE)).join('; ')}; and set dapr_scheduler.etcdSpaceQuota=${SCHEDULER_MIN_STORAGE}.`,
    affected: affected(small.map((c) => `${ns}/${c.metadata.name}`)),
  };
}

const SCHEDULER_FULL =
  'When etcd fills its volume the scheduler fails with "mvcc: database space exceeded" and jobs, reminders and workflows stop.';

export function controlPlaneChecks(input: CheckInput): CheckResult[] {
  return [
    checkReady(input),
    checkHighAvailability(input),
    checkDisruptionBudgets(input),
    checkSpread(input),
    checkResourceRequests(input),
    checkMemoryLimits(input),
    checkPriorityClass(input),
    checkNamespace(input),
    checkWatchdog(input),
    checkSchedulerStorage(input),
  ];
}
