// The Dapr trust bundle: root certificate, issuer certificate and issuer key, kept in Secret
// `dapr-trust-bundle` (and the root again in ConfigMap `dapr-trust-bundle`). Checked with node:crypto,
// which reads the EC P-256 and Ed25519 keys Dapr's Sentry writes.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { ConfigMap, Secret } from '../cluster/k8s-types.js';

export interface TrustBundle {
  rootCert: string;
  issuerCert: string;
  issuerKey: string;
  /** ca.crt of the ConfigMap, when it was read. */
  configMapRootCert?: string;
}

export type Severity = 'ok' | 'warning' | 'failure';

export interface BundleCheck {
  id: 'parse' | 'issuer-signed-by-root' | 'issuer-key-matches' | 'root-expiry' | 'issuer-expiry' | 'roots-equal';
  severity: Severity;
  message: string;
}

export interface CertSummary {
  subject: string;
  notAfter: string;
  daysLeft: number;
}

export interface BundleReport {
  root?: CertSummary;
  issuer?: CertSummary;
  /** How many roots ca.crt holds (two while a rotation overlaps them). */
  roots?: number;
  checks: BundleCheck[];
  ok: boolean;
  /** When a certificate expires within the warning window (or has expired): the command that rotates it. */
  rotate?: string;
}

/** Every certificate in a PEM text (ca.crt holds two roots while a rotation overlaps them). */
function certificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

/**
 * What to run when the bundle nears expiry: a root needs a new root (three phases, no root key needed); an issuer
 * alone is renewed under its root with the root's key, or replaced with the root when the key is not at hand.
 */
export function rotationAdvice(report: Pick<BundleReport, 'checks'>): string | undefined {
  const due = (id: BundleCheck['id']) => report.checks.some((c) => c.id === id && c.severity !== 'ok');
  if (due('root-expiry')) return 'daprup certs rotate';
  if (due('issuer-expiry')) return 'daprup certs rotate --root-key <root key file> (or daprup certs rotate, which also replaces the root)';
  return undefined;
}

const decode = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

export function trustBundleFromCluster(secret: Secret | undefined, configMap: ConfigMap | undefined): TrustBundle | undefined {
  if (!secret?.data) return undefined;
  return {
    rootCert: decode(secret.data['ca.crt']),
    issuerCert: decode(secret.data['issuer.crt']),
    issuerKey: decode(secret.data['issuer.key']),
    configMapRootCert: configMap?.data?.['ca.crt'],
  };
}

/** Checksums of the public parts and the key, to notice a regenerated bundle without storing the key. */
export function bundleChecksums(b: TrustBundle): Record<string, string> {
  const sha = (s: string) => createHash('sha256').update(s.trim()).digest('hex');
  return { 'ca.crt': sha(b.rootCert), 'issuer.crt': sha(b.issuerCert), 'issuer.key': sha(b.issuerKey) };
}

function summary(cert: X509Certificate, now: Date): CertSummary {
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
  };
}

function expiryCheck(
  id: 'root-expiry' | 'issuer-expiry',
  name: string,
  s: CertSummary,
  warnDays: number,
  cert: X509Certificate,
  now: Date,
): BundleCheck {
  if (new Date(cert.validFrom) > now)
    return {
      id,
      severity: 'failure',
      message: `The ${name} certificate is not valid before ${new Date(cert.validFrom).toISOString()} (clock skew?).`,
    };
  if (s.daysLeft < 0) return { id, severity: 'failure', message: `The ${name} certificate expired on ${s.notAfter}.` };
  if (s.daysLeft < warnDays)
    return { id, severity: 'warning', message: `The ${name} certificate expires in ${s.daysLeft} days (${s.notAfter}).` };
  return { id, severity: 'ok', message: `The ${name} certificate is valid for ${s.daysLeft} more days.` };
}

export function checkTrustBundle(b: TrustBundle, opts: { warnDays?: number; now?: Date } = {}): BundleReport {
  const warnDays = opts.warnDays ?? 30;
  const now = opts.now ?? new Date();
  const checks: BundleCheck[] = [];
  let roots: X509Certificate[], issuer: X509Certificate;
  try {
    roots = certificates(b.rootCert);
    if (!roots.length) throw new Error('no certificate');
  } catch {
    return {
      checks: [{ id: 'parse', severity: 'failure', message: 'The root certificate (ca.crt) is missing or is not a PEM certificate.' }],
      ok: false,
    };
  }
  try {
    issuer = new X509Certificate(b.issuerCert);
  } catch {
    return {
      checks: [
        { id: 'parse', severity: 'failure', message: 'The issuer certificate (issuer.crt) is missing or is not a PEM certificate.' },
      ],
      ok: false,
    };
  }
  // The root that signed the issuer (any of them while a rotation overlaps two), else the first.
  const root = roots.find((r) => issuer.checkIssued(r) && issuer.verify(r.publicKey)) ?? roots[0]!;
  const rootSummary = summary(root, now);
  const issuerSummary = summary(issuer, now);

  const signed = issuer.checkIssued(root) && issuer.verify(root.publicKey);
  checks.push(
    signed
      ? { id: 'issuer-signed-by-root', severity: 'ok', message: 'The issuer certificate is signed by the root.' }
      : { id: 'issuer-signed-by-root', severity: 'failure', message: 'The issuer certificate is not signed by the root certificate.' },
  );

  let keyMatches = false;
  try {
    keyMatches = issuer.checkPrivateKey(createPrivateKey(b.issuerKey));
  } catch {
    keyMatches = false;
  }
  checks.push(
    keyMatches
      ? { id: 'issuer-key-matches', severity: 'ok', message: 'The issuer key matches the issuer certificate.' }
      : {
          id: 'issuer-key-matches',
          severity: 'failure',
          message: 'The issuer key does not match the issuer certificate (or is not a PEM private key).',
        },
  );

  checks.push(expiryCheck('root-expiry', 'root', rootSummary, warnDays, root, now));
  for (const other of roots.filter((r) => r !== root)) {
    const s = summary(other, now);
    if (s.daysLeft < 0)
      checks.push({
        id: 'root-expiry',
        severity: 'warning',
        message: `A second trusted root expired on ${s.notAfter} (a rotation left it in ca.crt).`,
      });
  }
  checks.push(expiryCheck('issuer-expiry', 'issuer', issuerSummary, warnDays, issuer, now));

  if (b.configMapRootCert !== undefined) {
    const equal = b.configMapRootCert.trim() === b.rootCert.trim();
    checks.push(
      equal
        ? { id: 'roots-equal', severity: 'ok', message: 'The Secret and the ConfigMap hold the same root certificate.' }
        : {
            id: 'roots-equal',
            severity: 'failure',
            message: 'The ConfigMap dapr-trust-bundle holds a different root than the Secret: Sentry would generate a new CA.',
          },
    );
  }
  return {
    root: rootSummary,
    issuer: issuerSummary,
    roots: roots.length,
    checks,
    ok: checks.every((c) => c.severity !== 'failure'),
    rotate: rotationAdvice({ checks }),
  };
}
