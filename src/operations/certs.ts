// `daprup certs export` and `daprup certs check`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tools } from '../cluster/tools.js';
import { findRelease } from '../dapr/discovery.js';
import { explain } from '../dapr/error-hints.js';
import { checkTrustBundle, type BundleReport, type TrustBundle } from '../dapr/trust-bundle.js';
import { readTrustBundle, writeBundleFiles } from '../dapr/trust-bundle-io.js';
import { refusal, usageError } from '../errors.js';

async function liveBundle(tools: Tools, o: { release?: string; namespace?: string }): Promise<TrustBundle> {
  const release = await findRelease(tools, o);
  const bundle = await readTrustBundle(tools.kubectl, release.namespace).catch((e: unknown) => {
    throw explain(e, 'Reading the trust bundle');
  });
  if (!bundle)
    throw refusal(
      `The trust bundle (Secret dapr-trust-bundle in ${release.namespace}) is missing.`,
      'Sentry creates it at install; restore it from a backup.',
    );
  return bundle;
}

export async function exportCertificates(tools: Tools, o: { release?: string; namespace?: string; out: string }) {
  const bundle = await liveBundle(tools, o);
  await writeBundleFiles(o.out, bundle);
  return { dir: o.out, files: ['ca.crt', 'issuer.crt', 'issuer.key'].map((f) => join(o.out, f)), report: checkTrustBundle(bundle) };
}

export async function checkCertificates(
  tools: Tools | undefined,
  o: { release?: string; namespace?: string; dir?: string; warnDays: number },
): Promise<BundleReport> {
  let bundle: TrustBundle;
  if (o.dir) {
    const read = (f: string) =>
      readFile(join(o.dir!, f), 'utf8').catch(() => {
        throw usageError(
          `${join(o.dir!, f)} cannot be read.`,
          'The directory must hold ca.crt, issuer.crt and issuer.key (as `daprup certs export` writes them).',
        );
      });
    bundle = { rootCert: await read('ca.crt'), issuerCert: await read('issuer.crt'), issuerKey: await read('issuer.key') };
  } else {
    bundle = await liveBundle(tools!, o);
  }
  return checkTrustBundle(bundle, { warnDays: o.warnDays });
}
