// `daprup plan`: with --to, everything the upgrade would do on its way there (every hop when it crosses several
// minors); without, the targets worth having from the running version, like `kubeadm upgrade plan`.
import type { Tools } from '../cluster/tools.js';
import { checkTools, findRelease, type DiscoveryOptions } from '../dapr/discovery.js';
import { upgradeTargets, type UpgradeTarget } from '../dapr/upgrade-path.js';
import { refusal } from '../errors.js';
import { preparePath } from '../runbook/path.js';
import { buildPathPlan, type UpgradePlan } from '../runbook/plan.js';
import { listChartVersions } from '../runbook/steps/chart.js';
import type { UpgradeOptions } from '../runbook/types.js';

export async function planUpgrade(tools: Tools, options: UpgradeOptions, workDir: string): Promise<UpgradePlan> {
  // The path starts from the release's version, so the release is found before discovery: tools checked first.
  await checkTools(tools);
  const release = await findRelease(tools, { release: options.release, namespace: options.namespace });
  const prepared = await preparePath(tools, options, { workDir, log: () => undefined, current: release.version });
  return buildPathPlan(prepared);
}

export interface TargetList {
  release: { name: string; namespace: string; version: string };
  chart: string;
  targets: UpgradeTarget[];
}

/** The newest patch of the running minor and of each newer supported minor, with the hops and notes of each. */
export async function listUpgradeTargets(
  tools: Tools,
  o: DiscoveryOptions & { chart: string; includePrerelease?: boolean; includeRecalled?: boolean },
): Promise<TargetList> {
  await checkTools(tools);
  const release = await findRelease(tools, o);
  const versions = await listChartVersions(tools, o.chart);
  if (!versions)
    throw refusal(
      `Chart ${o.chart} names one version only, so daprup cannot list the versions to upgrade to.`,
      'Give the target with --to, or pass a chart repository reference such as --chart dapr/dapr.',
    );
  return {
    release: { name: release.name, namespace: release.namespace, version: release.version },
    chart: o.chart,
    targets: upgradeTargets(release.version, versions, { includePrerelease: o.includePrerelease, includeRecalled: o.includeRecalled }),
  };
}
