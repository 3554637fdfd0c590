// Dapr trust bundles for tests, made the way Sentry makes them (ECDSA P-256, as up to Dapr 1.17) by daprup's own
// generator (src/dapr/x509.ts), with knobs for the broken bundles users end up with: expired or not yet valid,
// an issuer signed by another root or by itself, a key that is not the issuer's.
import { generateIssuer, generateRoot, type CertAndKey, type GenerateOptions } from '../../src/dapr/x509.js';

export interface TrustBundlePems {
  rootCert: string;
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  rootKey: string;
  issuerCert: string;
  /** PKCS#8 PEM ("PRIVATE KEY"). */
  issuerKey: string;
}

export interface TrustBundleOptions {
  /** Root validity from its notBefore, in days (default 365, Dapr's self-signed default). */
  rootValidDays?: number;
  /** Issuer validity from its notBefore, in days (default 365). */
  issuerValidDays?: number;
  /** When the bundle was made: both certificates start this many days ago (default 0; negative = in the future). */
  rootNotBeforeDaysAgo?: number;
  /** Issuer start, when it differs from the root's (defaults to rootNotBeforeDaysAgo). */
  issuerNotBeforeDaysAgo?: number;
  /**
   * Who signs the issuer: the bundle's root (default), the issuer itself (a self-signed CA in issuer.crt), or a
   * look-alike root not in the bundle (same subject, other key).
   */
  issuerSignedBy?: 'root' | 'self' | 'other-root';
  /** Return an issuer key that does not belong to the issuer certificate. */
  issuerKeyMismatch?: boolean;
  /** SPIFFE trust domain (default cluster.local): the root's O and the issuer's spiffe:// O, as Sentry writes them. */
  trustDomain?: string;
}

const DAY_MS = 86_400_000;

export function makeTrustBundle(opts: TrustBundleOptions = {}): TrustBundlePems {
  // Sentry's templates: validity from `now` minus the allowed clock skew (15 minutes), so a fresh bundle is valid at once.
  const made = (daysAgo: number, validityDays: number): GenerateOptions => ({
    keyType: 'ecdsa-p256',
    trustDomain: opts.trustDomain ?? 'cluster.local',
    now: new Date(Date.now() - daysAgo * DAY_MS),
    validityDays,
  });
  const rootDaysAgo = opts.rootNotBeforeDaysAgo ?? 0;
  const rootOptions = made(rootDaysAgo, opts.rootValidDays ?? 365);
  const issuerOptions = made(opts.issuerNotBeforeDaysAgo ?? rootDaysAgo, opts.issuerValidDays ?? 365);
  const root = generateRoot(rootOptions);

  let issuer: CertAndKey;
  const signedBy = opts.issuerSignedBy ?? 'root';
  if (signedBy === 'root') issuer = generateIssuer(root, issuerOptions);
  // Sentry's root template makes a self-signed CA; in issuer.crt it names itself (the root's look-alike) as issuer.
  else if (signedBy === 'self') issuer = generateRoot(issuerOptions);
  else issuer = generateIssuer(generateRoot(rootOptions), issuerOptions);

  return {
    rootCert: root.cert,
    rootKey: root.key,
    issuerCert: issuer.cert,
    // The key of another issuer under the same root: the right type, the wrong key.
    issuerKey: opts.issuerKeyMismatch ? generateIssuer(root, issuerOptions).key : issuer.key,
  };
}
