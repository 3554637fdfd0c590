// export-trust-bundle: the root, issuer certificate and issuer key written to the run's directory (0700,
// files 0600) for `helm upgrade --set-file`, validated, and their checksums recorded to notice a regenerated
// bundle later. The key itself never enters the journal.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TRUST_BUNDLE } from '../../dapr/chart.js';
import { bundleChecksums, checkTrustBundle, type TrustBundle } from '../../dapr/trust-bundle.js';
import { readTrustBundle, writeBundleFiles } from '../../dapr/trust-bundle-io.js';
import { refusal } from '../../errors.js';
import type { RunContext, Step } from '../types.js';

export const certFiles = (workDir: string) => ({
  dir: join(workDir, 'certs'),
  rootCert: join(workDir, 'certs', 'ca.crt'),
  issuerCert: join(workDir, 'certs', 'issuer.crt'),
  issuerKey: join(workDir, 'certs', 'issuer.key'),
});

/** The trust bundle of the run's release (readTrustBundle for a RunContext). */
export const readLiveTrustBundle = (ctx: Pick<RunContext, 'tools' | 'facts'>): Promise<TrustBundle | undefined> =>
  readTrustBundle(ctx.tools.kubectl, ctx.facts.release.namespace);

// Moved to dapr/trust-bundle-io.ts; re-exported for the importers that still use this place.
export { writeBundleFiles };

async function filesMatch(ctx: RunContext): Promise<boolean> {
  const f = certFiles(ctx.workDir);
  const recorded = ctx.journal?.data.trustBundleChecksums;
  if (!recorded || ![f.rootCert, f.issuerCert, f.issuerKey].every((p) => existsSync(p))) return false;
  const onDisk = bundleChecksums({
    rootCert: await readFile(f.rootCert, 'utf8'),
    issuerCert: await readFile(f.issuerCert, 'utf8'),
    issuerKey: await readFile(f.issuerKey, 'utf8'),
  });
  return JSON.stringify(onDisk) === JSON.stringify(recorded);
}

/**
 * The files `helm upgrade --set-file` reads. A run resumed on another machine has none: they are re-read from
 * the cluster and must match the checksums this run recorded (a changed bundle is refused, not used).
 */
export async function ensureCertFiles(ctx: RunContext): Promise<void> {
  const f = certFiles(ctx.workDir);
  if ([f.rootCert, f.issuerCert, f.issuerKey].every((p) => existsSync(p))) return;
  const bundle = await readLiveTrustBundle(ctx);
  const recorded = ctx.journal?.data.trustBundleChecksums;
  if (!bundle || (recorded && JSON.stringify(bundleChecksums(bundle)) !== JSON.stringify(recorded))) {
    throw refusal(
      'The trust bundle in the cluster is not the one this run exported.',
      'Sentry may have generated a new CA since the run began; check `daprup certs check`, then start a new run with --abandon.',
    );
  }
  await writeBundleFiles(f.dir, bundle);
}

export const exportTrustBundle: Step = {
  id: 'export-trust-bundle',
  title: 'Export and check the trust bundle',
  async plan(ctx) {
    const ns = ctx.facts.release.namespace;
    const report = checkTrustBundle(ctx.facts.trustBundle!, { warnDays: ctx.options.certWarnDays });
    return {
      summary: `save ca.crt, issuer.crt, issuer.key to ${certFiles(ctx.workDir).dir} (0600); root expires ${report.root?.notAfter ?? '?'}, issuer ${report.issuer?.notAfter ?? '?'}`,
      commands: [ctx.tools.kubectl.getArgv([`secret/${TRUST_BUNDLE}`, `configmap/${TRUST_BUNDLE}`], { namespace: ns })],
      destructive: false,
      details: report.checks.filter((c) => c.severity !== 'ok').map((c) => c.message),
    };
  },
  isDone: filesMatch,
  async apply(ctx) {
    const bundle = await readLiveTrustBundle(ctx);
    if (!bundle)
      throw refusal(
        'The trust bundle Secret dapr-trust-bundle disappeared.',
        'Restore it before upgrading: without it Sentry generates a new CA.',
      );
    const report = checkTrustBundle(bundle, { warnDays: ctx.options.certWarnDays });
    const bad = report.checks.find((c) => c.severity === 'failure');
    if (bad) throw refusal(`The trust bundle is not usable: ${bad.message}`, 'Fix or renew the trust bundle first (`daprup certs check`).');
    // A run of several hops exports once per hop: the bundle must be the one its first hop exported.
    const recorded = ctx.journal?.data.trustBundleChecksums;
    if (recorded && JSON.stringify(bundleChecksums(bundle)) !== JSON.stringify(recorded))
      throw refusal(
        'The trust bundle in the cluster is not the one this run exported.',
        'Sentry may have generated a new CA since the run began; check `daprup certs check`, then start a new run with --abandon.',
      );
    await writeBundleFiles(certFiles(ctx.workDir).dir, bundle);
    if (ctx.journal) {
      await ctx.journal.setTrustBundleChecksums(bundleChecksums(bundle));
    }
  },
  async verify(ctx) {
    if (ctx.journal && !(await filesMatch(ctx))) throw new Error('the exported trust bundle files do not match their recorded checksums');
  },
};
