// Flags shared by `plan` and `upgrade`, and their validation into a plain options object. Every check here
// runs before daprup talks to the cluster.
import { existsSync, readFileSync } from 'node:fs';
import { Flags, type Interfaces } from '@oclif/core';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CHART } from '../dapr/chart.js';
import { DEFAULT_SHARED_CHART } from '../dapr/dapr-shared.js';
import { parseSetFlag } from '../dapr/values.js';
import { parseTargetVersion } from '../dapr/version-policy.js';
import { usageError } from '../errors.js';
import type { UpgradeOptions } from '../runbook/types.js';
import { certWarnDaysFlag } from './cert-flags.js';

/** What daprup may do beyond rolling restarts; `plan`, `upgrade` and `restart` share them. */
export const reachFlags = {
  'recreate-pods': Flags.boolean({
    description:
      'delete the pods of OnDelete StatefulSets/DaemonSets and bare ReplicaSets one at a time, each after the last replacement is Ready',
    default: false,
  }),
  'recreate-bare-pods': Flags.boolean({
    description: 'recreate bare Pods from their last-applied manifest (kubectl replace --force)',
    default: false,
  }),
};

export const upgradeFlags = {
  to: Flags.string({ description: 'target Dapr version (chart version = APP VERSION), e.g. 1.16.19', required: true }),
  chart: Flags.string({
    description: 'chart reference; the dapr repo (https://dapr.github.io/helm-charts/) is added if missing',
    default: DEFAULT_CHART,
  }),
  values: Flags.string({ char: 'f', description: 'extra values file, applied after your current values', multiple: true, default: [] }),
  set: Flags.string({ description: 'extra value (key=value), applied last', multiple: true, default: [] }),
  'enable-ha': Flags.boolean({ description: 'turn on high availability (recreates the placement StatefulSet)', exclusive: ['disable-ha'] }),
  'disable-ha': Flags.boolean({ description: 'turn off high availability', exclusive: ['enable-ha'] }),
  timeout: Flags.string({ description: 'how long each wait may take (helm/kubectl duration)', default: '10m' }),
  concurrency: Flags.integer({ description: 'workloads restarted at once', default: 4 }),
  'allow-skip-minor': Flags.boolean({ description: 'safety override: allow skipping a minor version', default: false }),
  'allow-downgrade': Flags.boolean({ description: 'safety override: allow a downgrade', default: false }),
  'allow-prerelease': Flags.boolean({ description: 'safety override: allow a release candidate', default: false }),
  ...certWarnDaysFlag,
  ...reachFlags,
  strict: Flags.boolean({
    description: 'fail verify when any daprd is out of reach (paused, OnDelete, bare Pods, running Jobs, other owners)',
    default: false,
  }),
  'accept-scheduler-data-loss': Flags.boolean({
    description:
      'go on where a hop loses scheduler data (jobs, reminders, workflows) and no VolumeSnapshotClass exists to snapshot it first',
    default: false,
  }),
  'shared-chart': Flags.string({
    description: 'chart Dapr Shared releases are upgraded with (their chart version is kept)',
    default: DEFAULT_SHARED_CHART,
  }),
};

/** What a rollback shares with an upgrade: waits, restarts, reach; never a target, values or HA of its own. */
export const rollbackFlags = (() => {
  const {
    to: _to,
    values: _v,
    set: _s,
    'enable-ha': _e,
    'disable-ha': _d,
    'allow-skip-minor': _k,
    'allow-downgrade': _g,
    'allow-prerelease': _p,
    ...rest
  } = upgradeFlags;
  return rest;
})();

/** How a run that changes the cluster is confirmed and resumed: `upgrade` and `rollback`. */
export const runFlags = {
  yes: Flags.boolean({
    char: 'y',
    description: 'answer every confirmation with yes (never overrides a failed safety check)',
    default: false,
  }),
  abandon: Flags.boolean({ description: 'give up an unfinished run to another target version', default: false }),
  'recover-pending': Flags.boolean({
    description: 'safety override: roll a release stuck in pending-* back to its last deployed revision, then continue',
    default: false,
  }),
};

export type UpgradeFlags = Interfaces.InferredFlags<typeof upgradeFlags> & { release?: string; 'dapr-namespace'?: string };

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

export function validateDuration(value: string): string {
  if (!DURATION.test(value))
    throw usageError(`--timeout "${value}" is not a duration.`, 'Use a helm/kubectl duration such as 90s, 10m or 1h30m.');
  return value;
}

export function validateConcurrency(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 256)
    throw usageError(`--concurrency ${value} is out of range.`, 'Use a whole number from 1 to 256.');
  return value;
}

function validateValueFlags(files: string[], sets: string[]): void {
  for (const f of files) {
    if (!existsSync(f)) throw usageError(`The values file ${f} does not exist.`, 'Check the path given with -f/--values.');
    try {
      const parsed: unknown = parseYaml(readFileSync(f, 'utf8'));
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('not a map');
    } catch {
      throw usageError(`The values file ${f} is not a YAML map.`, "A values file holds keys and values, like the chart's values.yaml.");
    }
  }
  for (const s of sets) {
    if (!parseSetFlag(s))
      throw usageError(`--set "${s}" is not of the form key=value.`, 'Write --set dapr_operator.logLevel=debug (dotted key, "=", value).');
  }
}

export type RollbackFlags = Interfaces.InferredFlags<typeof rollbackFlags> & { release?: string; 'dapr-namespace'?: string };

/** What every run that changes the cluster is given: where, how long, how many at once, how far it may reach. */
export type RunOptions = Omit<UpgradeOptions, 'target' | 'valuesFiles' | 'set' | 'ha' | 'overrides'>;

export function runOptions(flags: RollbackFlags): RunOptions {
  return {
    chart: flags.chart,
    release: flags.release,
    namespace: flags['dapr-namespace'],
    timeout: validateDuration(flags.timeout),
    concurrency: validateConcurrency(flags.concurrency),
    certWarnDays: flags['cert-warn-days'],
    recreatePods: flags['recreate-pods'],
    recreateBarePods: flags['recreate-bare-pods'],
    strict: flags.strict,
    sharedChart: flags['shared-chart'],
    acceptSchedulerDataLoss: flags['accept-scheduler-data-loss'],
  };
}

export function upgradeOptions(flags: UpgradeFlags): UpgradeOptions {
  const target = parseTargetVersion(flags.to);
  validateValueFlags(flags.values, flags.set);
  return {
    ...runOptions(flags),
    target,
    valuesFiles: flags.values,
    set: flags.set,
    ha: flags['enable-ha'] ? true : flags['disable-ha'] ? false : undefined,
    overrides: {
      allowSkipMinor: flags['allow-skip-minor'],
      allowDowngrade: flags['allow-downgrade'],
      allowPrerelease: flags['allow-prerelease'],
    },
  };
}
