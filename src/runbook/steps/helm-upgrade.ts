// helm-upgrade: user values kept (--reset-then-reuse-values where helm has it, else the backed-up values
// file), the exported certificates passed with --set-file so Sentry keeps the same CA, HA from the flags or
// what runs, the user's -f/--set last, and --wait.
import { HA_VALUE, TLS_VALUES } from '../../dapr/chart.js';
import { explain } from '../../dapr/discovery.js';
import { userValueFlags } from '../prepare.js';
import type { RunContext, Step } from '../types.js';
import { backupFiles } from './backup.js';
import { certFiles, ensureCertFiles } from './trust-bundle.js';

/** helm 3.14 added --reset-then-reuse-values: new chart defaults, then the user's values. */
export const hasResetThenReuse = (ctx: RunContext) => {
  const v = ctx.facts.helmVersion;
  return v.major > 3 || (v.major === 3 && v.minor >= 14);
};

export function helmUpgradeArgs(ctx: RunContext): string[] {
  const r = ctx.facts.release;
  const certs = certFiles(ctx.workDir);
  const valueArgs = [
    ...(hasResetThenReuse(ctx) ? ['--reset-then-reuse-values'] : ['--reset-values', '--values', backupFiles(ctx.workDir).values]),
    '--set-file', `${TLS_VALUES.rootCert}=${certs.rootCert}`,
    '--set-file', `${TLS_VALUES.issuerCert}=${certs.issuerCert}`,
    '--set-file', `${TLS_VALUES.issuerKey}=${certs.issuerKey}`,
    '--set', `${HA_VALUE}=${ctx.haAfter}`,
    ...userValueFlags(ctx.options),
  ];
  return ctx.tools.helm.upgradeArgs(r.name, ctx.chartDir, r.namespace, ctx.options.target, valueArgs, ctx.options.timeout);
}

const hasUserChanges = (ctx: RunContext) => ctx.options.set.length > 0 || ctx.options.valuesFiles.length > 0;

export const helmUpgrade: Step = {
  id: 'helm-upgrade',
  title: 'helm upgrade the control plane',
  async plan(ctx) {
    const done = await this.isDone(ctx);
    const skip = done ? `release already at ${ctx.options.target} with HA ${ctx.haAfter ? 'on' : 'off'}` : undefined;
    return {
      summary: skip ?? `${ctx.facts.release.name} ${ctx.verdict.current} → ${ctx.options.target}, HA ${ctx.facts.haEnabled ? 'on' : 'off'} → ${ctx.haAfter ? 'on' : 'off'}, user values kept`,
      commands: skip ? [] : [ctx.tools.helm.commandLine(helmUpgradeArgs(ctx))],
      destructive: !skip,
      skip,
    };
  },
  async isDone(ctx) {
    const r = ctx.facts.release;
    const journal = ctx.journal?.data;
    if (journal) {
      // Done when a revision newer than the run's start is deployed at the target.
      const history = await ctx.tools.helm.history(r.name, r.namespace);
      const last = history.at(-1);
      return !!last && last.revision > journal.startRevision && last.status === 'deployed' && last.chart === `${ctx.targetChart.name}-${ctx.options.target}`;
    }
    return r.chartVersion === ctx.options.target && r.status === 'deployed' && ctx.haAfter === ctx.facts.haEnabled && !hasUserChanges(ctx);
  },
  async apply(ctx) {
    await ensureCertFiles(ctx);
    try {
      await ctx.tools.helm.upgrade(helmUpgradeArgs(ctx));
    } catch (e) {
      throw explain(e, 'helm upgrade');
    }
  },
  async verify(ctx) {
    const r = ctx.facts.release;
    const last = (await ctx.tools.helm.history(r.name, r.namespace)).at(-1);
    if (last?.status !== 'deployed') throw new Error(`release ${r.name} is ${last?.status ?? 'missing'} after the upgrade`);
  },
};
