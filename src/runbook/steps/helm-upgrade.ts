// helm-upgrade: user values kept (--reset-then-reuse-values where helm has it, else the backed-up values
// file), the exported certificates passed with --set-file so Sentry keeps the same CA, HA from the flags or
// what runs, a pinned image tag moved to the target, the user's -f/--set last, and --wait. Each of daprup's own
// values is passed only where the user's -f/--set do not set it: helm applies every --set after every -f.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { stringify } from 'yaml';
import type { Values } from '../../cluster/helm.js';
import { HA_VALUE, TAG_VALUE, TLS_VALUES } from '../../dapr/chart.js';
import { explain } from '../../dapr/error-hints.js';
import { getPath, withoutTlsValues } from '../../dapr/values.js';
import type { RunContext, Step, UpgradeOptions } from '../types.js';
import { backupFiles } from './backup.js';
import { certFiles, ensureCertFiles } from './trust-bundle.js';

/** helm 3.14 added --reset-then-reuse-values: new chart defaults, then the user's values. */
export const hasResetThenReuse = (ctx: Pick<RunContext, 'facts'>) => {
  const v = ctx.facts.helmVersion;
  return v.major > 3 || (v.major === 3 && v.minor >= 14);
};

/** The user's values for the dry run of an older helm (the backup does not exist before the run). */
export const dryRunValuesFile = (workDir: string) => join(workDir, 'dry-run-values.yaml');

/** A rollback's values: the target revision's own (PEMs removed; daprup passes today's bundle with --set-file). */
export const rollbackValuesFile = (workDir: string) => join(workDir, 'rollback-values.yaml');

/** The user's own -f and --set, always last so they win. */
export const userValueFlags = (o: UpgradeOptions): string[] => [
  ...o.valuesFiles.flatMap((f) => ['--values', f]),
  ...o.set.flatMap((s) => ['--set', s]),
];

/** daprup's own values, each only where the user's -f/--set leave it unset. */
function daprupValueFlags(ctx: RunContext, dryRun: boolean): string[] {
  const own = ctx.userOverrides;
  const certs = certFiles(ctx.workDir);
  return [
    // The dry run renders without them: the PEMs only fill the trust-bundle Secret, which it hides anyway.
    ...(dryRun || ctx.userTrustBundle
      ? []
      : [
          '--set-file',
          `${TLS_VALUES.rootCert}=${certs.rootCert}`,
          '--set-file',
          `${TLS_VALUES.issuerCert}=${certs.issuerCert}`,
          '--set-file',
          `${TLS_VALUES.issuerKey}=${certs.issuerKey}`,
        ]),
    ...(getPath(own, HA_VALUE) === undefined ? ['--set', `${HA_VALUE}=${ctx.haAfter}`] : []),
    ...(ctx.tagAfter && getPath(own, TAG_VALUE) === undefined ? ['--set', `${TAG_VALUE}=${ctx.tagAfter}`] : []),
  ];
}

/** The upgrade's arguments; with dryRun, the same upgrade simulated server-side (prepare renders it so). */
export function helmUpgradeArgs(ctx: RunContext, o: { dryRun?: boolean } = {}): string[] {
  const r = ctx.facts.release;
  const dryRun = o.dryRun ?? false;
  const valueArgs = [
    ...(ctx.options.rollback
      ? ['--reset-values', '--values', rollbackValuesFile(ctx.workDir)]
      : hasResetThenReuse(ctx)
        ? ['--reset-then-reuse-values']
        : ['--reset-values', '--values', dryRun ? dryRunValuesFile(ctx.workDir) : backupFiles(ctx.workDir).values]),
    ...daprupValueFlags(ctx, dryRun),
    ...userValueFlags(ctx.options),
  ];
  const { helm } = ctx.tools;
  return dryRun
    ? helm.upgradeDryRunArgs(r.name, ctx.chartDir, r.namespace, ctx.options.target, valueArgs, ctx.facts.helmVersion)
    : helm.upgradeArgs(r.name, ctx.chartDir, r.namespace, ctx.options.target, valueArgs, ctx.options.timeout);
}

/**
 * The backed-up values an older helm upgrades with (--reset-values -f): a run resumed on another machine has no
 * backup, so they are re-read from the revision the run started from, which is exactly what was backed up.
 */
export async function ensureBackupValues(ctx: RunContext): Promise<void> {
  const file = backupFiles(ctx.workDir).values;
  if (hasResetThenReuse(ctx) || existsSync(file) || !ctx.journal) return;
  const r = ctx.facts.release;
  let values: Values;
  try {
    values = await ctx.tools.helm.userValuesAt(r.name, r.namespace, ctx.journal.data.startRevision);
  } catch (e) {
    throw explain(e, `Reading the values of revision ${ctx.journal.data.startRevision}`);
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, stringify(withoutTlsValues(values)), { mode: 0o600 });
}

const hasUserChanges = (ctx: RunContext) => ctx.options.set.length > 0 || ctx.options.valuesFiles.length > 0 || !!ctx.tagAfter;

export const helmUpgrade: Step = {
  id: 'helm-upgrade',
  title: 'helm upgrade the control plane',
  async plan(ctx) {
    const done = await this.isDone(ctx);
    const skip = done ? `release already at ${ctx.options.target} with HA ${ctx.haAfter ? 'on' : 'off'}` : undefined;
    const kept = [ctx.tagAfter && `${TAG_VALUE} → ${ctx.tagAfter}`, ctx.userTrustBundle && 'trust bundle from your values'].filter(Boolean);
    return {
      summary:
        skip ??
        `${ctx.facts.release.name} ${ctx.verdict.current} → ${ctx.options.target}, HA ${ctx.facts.haEnabled ? 'on' : 'off'} → ${ctx.haAfter ? 'on' : 'off'}, user values kept${kept.length ? `, ${kept.join(', ')}` : ''}`,
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
      return (
        !!last &&
        last.revision > journal.startRevision &&
        last.status === 'deployed' &&
        last.chart === `${ctx.targetChart.name}-${ctx.options.target}`
      );
    }
    return r.chartVersion === ctx.options.target && r.status === 'deployed' && ctx.haAfter === ctx.facts.haEnabled && !hasUserChanges(ctx);
  },
  async apply(ctx) {
    await Promise.all([ctx.userTrustBundle ? undefined : ensureCertFiles(ctx), ensureBackupValues(ctx)]);
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
