// Real Dapr-style trust bundles for tests: a self-signed root CA and an intermediate issuer CA signed by
// it, with knobs for the broken bundles users end up with (expired, wrong signer, mismatched key).
// Dapr's Sentry uses EC P-256 (Ed25519 from 1.18); node-forge signs only with RSA, so these are RSA 2048.
// Keys come from node:crypto (native, milliseconds) rather than forge's pure-JS key generation (seconds).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface TrustBundlePems {
  rootCert: string;
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
  /** Who signs the issuer: the bundle's root (default), the issuer itself, or a root not in the bundle. */
  issuerSignedBy?: 'root' | 'self' | 'other-root';
  /** Return an issuer key that does not belong to the issuer certificate. */
  issuerKeyMismatch?: boolean;
  /** SPIFFE trust domain (default cluster.local), as in the issuer's URI SAN. */
  trustDomain?: string;
}

const DAY_MS = 86_400_000;
// Sentry backdates certificates by the allowed clock skew (15m), so a fresh bundle is valid at once.
const CLOCK_SKEW_MS = 15 * 60_000;

interface KeyPair {
  privatePem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privatePem: privateKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
  };
}

function validity(cert: forge.pki.Certificate, daysAgo: number, validDays: number): void {
  const start = Date.now() - daysAgo * DAY_MS;
  cert.validity.notBefore = new Date(start - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(start + validDays * DAY_MS);
}

function newCert(key: KeyPair, subject: forge.pki.CertificateField[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  // Positive 128-bit serial: a leading 0x01 byte keeps the DER integer positive.
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.setSubject(subject);
  return cert;
}

// forge writes CRLF line ends; Sentry and openssl write LF.
const toPem = (cert: forge.pki.Certificate) => forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');

function makeRoot(key: KeyPair, trustDomain: string, daysAgo: number, validDays: number): forge.pki.Certificate {
  const cert = newCert(key, [{ shortName: 'O', value: trustDomain }, { shortName: 'CN', value: 'dapr-trust-root' }]);
  validity(cert, daysAgo, validDays);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.privateKey, forge.md.sha256.create());
  return cert;
}

export function makeTrustBundle(opts: TrustBundleOptions = {}): TrustBundlePems {
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const rootDaysAgo = opts.rootNotBeforeDaysAgo ?? 0;
  const rootKey = newKeyPair();
  const root = makeRoot(rootKey, trustDomain, rootDaysAgo, opts.rootValidDays ?? 365);

  const issuerKey = newKeyPair();
  const issuer = newCert(issuerKey, [{ shortName: 'O', value: trustDomain }, { shortName: 'CN', value: 'dapr-trust-issuer' }]);
  validity(issuer, opts.issuerNotBeforeDaysAgo ?? rootDaysAgo, opts.issuerValidDays ?? 365);

  // The signer: the bundle's root, the issuer itself, or a look-alike root (same subject, other key).
  const signedBy = opts.issuerSignedBy ?? 'root';
  let signer: { cert: forge.pki.Certificate; key: KeyPair };
  if (signedBy === 'root') signer = { cert: root, key: rootKey };
  else if (signedBy === 'self') signer = { cert: issuer, key: issuerKey };
  else {
    const otherKey = newKeyPair();
    signer = { cert: makeRoot(otherKey, trustDomain, rootDaysAgo, opts.rootValidDays ?? 365), key: otherKey };
  }
  issuer.setIssuer(signer.cert.subject.attributes);
  issuer.setExtensions([
    // An intermediate CA that may only sign workload (leaf) certificates, as Sentry's issuer.
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: signedBy === 'self' ? true : signer.cert.generateSubjectKeyIdentifier().getBytes(),
    },
    { name: 'subjectAltName', altNames: [{ type: 6, value: `spiffe://${trustDomain}/ns/dapr-system/dapr-sentry` }] },
  ]);
  issuer.sign(signer.key.privateKey, forge.md.sha256.create());

  return {
    rootCert: toPem(root),
    rootKey: rootKey.privatePem,
    issuerCert: toPem(issuer),
    issuerKey: opts.issuerKeyMismatch ? newKeyPair().privatePem : issuerKey.privatePem,
  };
}
