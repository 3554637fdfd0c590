// Observability checks: control-plane metrics (chart value global.prometheus.enabled, default true) and a
// tracing configuration.
import { getPath } from '../values.js';
import { affected, daprupUpgrade, ok, type CheckInput, type CheckResult } from './types.js';

const GROUP = 'observability';
const METRICS_VALUE = 'global.prometheus.enabled';

/** From the computed values (absent = the chart default, true); without values, from the operator's flags. */
function metricsEnabled(input: CheckInput): boolean | undefined {
  if (input.values) {
    const value = getPath(input.values, METRICS_VALUE);
    return value === undefined || value === null ? true : value === true || value === 'true';
  }
  const operator = input.controlPlaneWorkloads.find((w) => w.metadata.name === 'dapr-operator');
  const args = operator?.spec.template.spec.containers.flatMap((c) => c.args ?? []) ?? [];
  // A boolean flag: `--enable-metrics` or `--enable-metrics=false`.
  const flag = args.find((a) => /^--?enable-metrics(=|$)/.test(a));
  return flag === undefined ? undefined : !/=(false|0)$/.test(flag);
}

export function checkMetrics(input: CheckInput): CheckResult {
  const id = 'metrics';
  const enabled = metricsEnabled(input);
  if (enabled) return ok(id, GROUP, `Control-plane metrics are on (${METRICS_VALUE}).`);
  if (enabled === undefined)
    return { ...ok(id, GROUP, `Metrics: not checked, the release's values could not be read (helm get values --all).`), severity: 'info' };
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `Metrics are off (${METRICS_VALUE}=false).`,
    why: 'Without metrics nobody sees certificate errors, injection failures or placement churn before users do, and the control plane cannot be sized from data.',
    fix: `${daprupUpgrade(input, `--set ${METRICS_VALUE}=true`)}, then scrape port global.prometheus.port (9090) with Prometheus.`,
  };
}

export function checkTracing(input: CheckInput): CheckResult {
  const id = 'tracing';
  if (input.unreadable?.includes('configurations'))
    return { ...ok(id, GROUP, 'Configurations could not be read: not checked.'), severity: 'info' };
  const traced = input.configurations.filter((c) => c.spec?.tracing && c.spec.tracing.samplingRate !== '0');
  if (traced.length) {
    const names = traced.map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
    return { ...ok(id, GROUP, `Tracing is configured in ${names.join(', ')}.`), affected: affected(names) };
  }
  return {
    id,
    group: GROUP,
    severity: 'info',
    finding: 'No Configuration enables tracing.',
    why: 'Distributed traces show where a slow or failed call between services spent its time; Dapr emits them only when a Configuration asks.',
    fix: 'A Configuration with spec.tracing: {samplingRate: "1", otel: {endpointAddress: "<collector>:4317", isSecure: false, protocol: grpc}}, referenced from pod templates with dapr.io/config: "<name>".',
  };
}

export function observabilityChecks(input: CheckInput): CheckResult[] {
  return [checkMetrics(input), checkTracing(input)];
}
