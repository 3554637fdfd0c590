// Trust bundles made as Dapr's Sentry makes them (ECDSA P-256 up to 1.17, Ed25519 from 1.18), and the
// checks Sentry applies when it loads one. The generated certificates are read back with node:crypto
// and compared with the DER Go's crypto/x509 writes for Sentry's templates.
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import {
  CertParseError,
  daysLeft,
  fingerprint,
  generateIssuer,
  generateRoot,
  generateTrustBundle,
  keyType,
  parseAnchors,
  validateTrustBundle,
  type BundleValidation,
  type CertAndKey,
  type GeneratedKeyType,
} from '../../src/dapr/x509.js';
import { makeTrustBundle } from '../support/certs.js';

const DAY = 86_400_000;
const NOW = new Date('2026-06-01T12:00:00Z');
const daysFrom = (d: Date, n: number) => new Date(d.getTime() + n * DAY);

const problems = (v: BundleValidation) => v.problems.map((p) => `${p.severity} ${p.file} ${p.code}`);
const bundle = (root: CertAndKey | string, issuer: CertAndKey, key = issuer.key) => ({
  rootCert: typeof root === 'string' ? root : root.cert,
  issuerCert: issuer.cert,
  issuerKey: key,
});

// The extensions as Go's x509.CreateCertificate encodes Sentry's templates, byte for byte (checked
// against Go 1.26): key usage (critical), basic constraints (critical, CA:TRUE, no path length).
const KEY_USAGE_EXT = {
  ed25519: { root: '300e0603551d0f0101ff040403020284', issuer: '300e0603551d0f0101ff040403020186' },
  'ecdsa-p256': { root: '300e0603551d0f0101ff0404030202a4', issuer: '300e0603551d0f0101ff0404030201a6' },
};
const BASIC_CONSTRAINTS_CA_EXT = '300f0603551d130101ff040530030101ff';
const hasDer = (cert: X509Certificate, hex: string) => cert.raw.includes(Buffer.from(hex, 'hex'));

describe.each(['ecdsa-p256', 'ed25519'] as const)('a %s bundle made like Sentry', (kt: GeneratedKeyType) => {
  const nodeKeyType = kt === 'ed25519' ? 'ed25519' : 'ec';

  it('validates with no problem', () => {
    const b = generateTrustBundle({ keyType: kt });
    const v = validateTrustBundle(b, { trustDomain: 'cluster.local' });
    expect(problems(v)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.signingAnchors).toEqual([0]);
    expect(v.issuerKeyType).toBe(kt);
    expect(keyType(v.anchors[0]!)).toBe(kt);
  });

  it('has a root with Sentry’s subject, validity and constraints', () => {
    const root = new X509Certificate(generateRoot({ keyType: kt, now: NOW }).cert);
    expect(root.subject).toBe('O=cluster.local');
    expect(root.issuer).toBe('O=cluster.local');
    expect(root.validFromDate).toEqual(new Date(NOW.getTime() - 15 * 60_000));
    expect(root.validToDate).toEqual(daysFrom(NOW, 365));
    expect(root.ca).toBe(true);
    expect(root.subjectAltName).toBeUndefined();
    expect(root.publicKey.asymmetricKeyType).toBe(nodeKeyType);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(hasDer(root, KEY_USAGE_EXT[kt].root)).toBe(true);
    expect(hasDer(root, BASIC_CONSTRAINTS_CA_EXT)).toBe(true);
    expect(root.serialNumber).toMatch(/^[0-9A-F]{2,34}$/);
  });

  it('has an issuer with Sentry’s subject, validity and constraints, signed by the root', () => {
    const rootPems = generateRoot({ keyType: kt, now: NOW });
    const issuerPems = generateIssuer(rootPems, { keyType: kt, now: NOW });
    const root = new X509Certificate(rootPems.cert);
    const issuer = new X509Certificate(issuerPems.cert);
    expect(issuer.subject).toBe('O=spiffe://cluster.local/ns/dapr-system/dapr-sentry');
    expect(issuer.issuer).toBe('O=cluster.local');
    expect(issuer.validFromDate).toEqual(new Date(NOW.getTime() - 15 * 60_000));
    expect(issuer.validToDate).toEqual(daysFrom(NOW, 365));
    expect(issuer.ca).toBe(true);
    expect(issuer.subjectAltName).toBeUndefined();
    expect(hasDer(issuer, KEY_USAGE_EXT[kt].issuer)).toBe(true);
    expect(hasDer(issuer, BASIC_CONSTRAINTS_CA_EXT)).toBe(true);
    expect(issuer.checkIssued(root)).toBe(true);
    expect(issuer.verify(root.publicKey)).toBe(true);
    expect(issuer.serialNumber).not.toBe(root.serialNumber);
    // PKCS#8, as Sentry writes issuer.key.
    expect(issuerPems.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(issuerPems.key);
    expect(key.asymmetricKeyType).toBe(nodeKeyType);
    if (kt === 'ecdsa-p256') expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(issuer.checkPrivateKey(key)).toBe(true);
  });

  it('names the trust domain and namespace it is given', () => {
    const b = generateTrustBundle({ keyType: kt, trustDomain: 'example.org', namespace: 'dapr', validityDays: 30, now: NOW });
    const root = new X509Certificate(b.rootCert);
    const issuer = new X509Certificate(b.issuerCert);
    expect(root.subject).toBe('O=example.org');
    expect(issuer.subject).toBe('O=spiffe://example.org/ns/dapr/dapr-sentry');
    expect(issuer.validToDate).toEqual(daysFrom(NOW, 30));
  });
});

describe('generation refuses bad input', () => {
  it('rejects a trust domain go-spiffe would reject', () => {
    expect(() => generateRoot({ keyType: 'ed25519', trustDomain: 'Cluster Local' })).toThrow(/not a SPIFFE trust domain/);
  });

  it('rejects a root key that does not belong to the root certificate', () => {
    const a = generateRoot({ keyType: 'ed25519' });
    const b = generateRoot({ keyType: 'ed25519' });
    expect(() => generateIssuer({ cert: a.cert, key: b.key }, { keyType: 'ed25519' })).toThrow(/root key does not belong/);
  });
});

describe('validateTrustBundle', () => {
  const kt = 'ecdsa-p256';

  it('fails an expired issuer', () => {
    const root = generateRoot({ keyType: kt, now: daysFrom(NOW, -100) });
    const issuer = generateIssuer(root, { keyType: kt, now: daysFrom(NOW, -100), validityDays: 30 });
    const v = validateTrustBundle(bundle(root, issuer), { now: NOW });
    expect(problems(v)).toEqual(['failure issuer.crt expired']);
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.message).toBe(`The issuer certificate expired on ${daysFrom(NOW, -70).toISOString()}.`);
  });

  it('fails an issuer that is not valid yet', () => {
    const root = generateRoot({ keyType: kt, now: NOW });
    const issuer = generateIssuer(root, { keyType: kt, now: daysFrom(NOW, 2), validityDays: 300 });
    const v = validateTrustBundle(bundle(root, issuer), { now: NOW });
    expect(problems(v)).toEqual(['failure issuer.crt not-yet-valid']);
    expect(v.problems[0]!.message).toMatch(/^The issuer certificate is not valid before 2026-06-03T11:45:00.000Z;/);
  });

  it('fails a root that is not valid yet', () => {
    const root = generateRoot({ keyType: kt, now: daysFrom(NOW, 1) });
    const issuer = generateIssuer(root, { keyType: kt, now: daysFrom(NOW, -1) });
    expect(problems(validateTrustBundle(bundle(root, issuer), { now: NOW }))).toEqual(['failure ca.crt not-yet-valid']);
  });

  it('warns when the issuer expires soon, and when it outlives its root', () => {
    const root = generateRoot({ keyType: kt, now: NOW, validityDays: 100 });
    const soon = generateIssuer(root, { keyType: kt, now: NOW, validityDays: 10 });
    const v = validateTrustBundle(bundle(root, soon), { now: NOW, warnDays: 30 });
    expect(problems(v)).toEqual(['warning issuer.crt expires-soon']);
    expect(v.ok).toBe(true);
    expect(v.problems[0]!.message).toBe(`The issuer certificate expires in 10 days (${daysFrom(NOW, 10).toISOString()}).`);

    const long = generateIssuer(root, { keyType: kt, now: NOW, validityDays: 365 });
    expect(problems(validateTrustBundle(bundle(root, long), { now: NOW }))).toEqual(['warning issuer.crt issuer-outlives-root']);
  });

  it('fails an issuer signed by another root with the same name', () => {
    const root = generateRoot({ keyType: kt });
    const other = generateRoot({ keyType: kt });
    const v = validateTrustBundle(bundle(root, generateIssuer(other, { keyType: kt })));
    expect(problems(v)).toEqual(['failure issuer.crt issuer-not-signed-by-anchor']);
    expect(v.problems[0]!.message).toMatch(/none of the 1 trust anchor\(s\) with that name signed it/);
    expect(v.signingAnchors).toEqual([]);
  });

  it('fails an issuer from a root of another name', () => {
    const root = generateRoot({ keyType: kt });
    const other = generateRoot({ keyType: kt, trustDomain: 'other.example' });
    const v = validateTrustBundle(bundle(root, generateIssuer(other, { keyType: kt })));
    expect(problems(v)).toEqual(['failure issuer.crt issuer-not-signed-by-anchor']);
    expect(v.problems[0]!.message).toBe(
      'The issuer certificate was issued by O=other.example, which is not among the 1 trust anchor(s) in ca.crt.',
    );
  });

  it('fails an issuer key that belongs to another issuer', () => {
    const root = generateRoot({ keyType: kt });
    const issuer = generateIssuer(root, { keyType: kt });
    const stranger = generateIssuer(root, { keyType: kt });
    const v = validateTrustBundle(bundle(root, issuer, stranger.key));
    expect(problems(v)).toEqual(['failure issuer.key key-mismatch']);
    // A key of another type is a mismatch too, not an exception.
    const ed = generateIssuer(root, { keyType: 'ed25519' });
    expect(problems(validateTrustBundle(bundle(root, issuer, ed.key)))).toEqual(['failure issuer.key key-mismatch']);
  });

  describe('two trust anchors, as during a rotation without the old root key', () => {
    // Dapr 1.17 made ECDSA roots; a rotation on 1.18 may bring an Ed25519 one.
    const oldRoot = generateRoot({ keyType: 'ecdsa-p256' });
    const newRoot = generateRoot({ keyType: 'ed25519' });
    const both = oldRoot.cert + newRoot.cert;

    it('accepts an issuer from the old root', () => {
      const v = validateTrustBundle(bundle(both, generateIssuer(oldRoot, { keyType: 'ecdsa-p256' })));
      expect(problems(v)).toEqual([]);
      expect(v.anchors.map(keyType)).toEqual(['ecdsa-p256', 'ed25519']);
      expect(v.signingAnchors).toEqual([0]);
    });

    it('accepts an issuer from the new root', () => {
      const v = validateTrustBundle(bundle(both, generateIssuer(newRoot, { keyType: 'ed25519' })));
      expect(problems(v)).toEqual([]);
      expect(v.signingAnchors).toEqual([1]);
    });

    it('fails an issuer from neither', () => {
      const v = validateTrustBundle(bundle(both, generateIssuer(generateRoot({ keyType: 'ed25519' }), { keyType: 'ed25519' })));
      expect(problems(v)).toEqual(['failure issuer.crt issuer-not-signed-by-anchor']);
      expect(v.problems[0]!.message).toMatch(/none of the 2 trust anchor\(s\) with that name/);
    });

    it('only warns about an expired old root the issuer does not chain to', () => {
      const expiredOld = generateRoot({ keyType: 'ecdsa-p256', now: daysFrom(NOW, -400) });
      const fresh = generateRoot({ keyType: 'ed25519', now: NOW });
      const v = validateTrustBundle(
        bundle(expiredOld.cert + fresh.cert, generateIssuer(fresh, { keyType: 'ed25519', now: NOW, validityDays: 300 })),
        { now: NOW },
      );
      expect(problems(v)).toEqual(['warning ca.crt expired']);
      expect(v.ok).toBe(true);
      expect(v.problems[0]!.message).toMatch(/^The trust anchor 1 of 2 in ca\.crt \(O=cluster\.local, SHA-256 [0-9A-F:]{11}\) expired on /);
    });
  });

  it('warns when the certificates name another trust domain', () => {
    const b = generateTrustBundle({ keyType: kt, trustDomain: 'other.example' });
    const v = validateTrustBundle(b, { trustDomain: 'cluster.local' });
    expect(problems(v)).toEqual(['warning ca.crt trust-domain', 'warning issuer.crt trust-domain']);
    expect(v.ok).toBe(true);
    expect(v.problems[1]!.message).toBe(
      'The issuer certificate names trust domain other.example, not cluster.local: was this bundle made for another installation?',
    );
    expect(problems(validateTrustBundle(b, { trustDomain: 'other.example' }))).toEqual([]);
  });

  describe("the tests' bundles (test/support/certs.ts), broken as users break them", () => {
    it('validates a good one, ECDSA P-256 as Sentry makes it', () => {
      const v = validateTrustBundle(makeTrustBundle(), { trustDomain: 'cluster.local' });
      expect(problems(v)).toEqual([]);
      expect(keyType(v.anchors[0]!)).toBe('ecdsa-p256');
      expect(v.issuerKeyType).toBe('ecdsa-p256');
    });

    it('fails an issuer signed by a look-alike root (same name, other key)', () => {
      expect(problems(validateTrustBundle(makeTrustBundle({ issuerSignedBy: 'other-root' })))).toEqual([
        'failure issuer.crt issuer-not-signed-by-anchor',
      ]);
    });

    it('fails a self-signed issuer', () => {
      expect(problems(validateTrustBundle(makeTrustBundle({ issuerSignedBy: 'self' })))).toEqual([
        'failure issuer.crt issuer-not-signed-by-anchor',
      ]);
    });

    it('fails a mismatched key and an expired root', () => {
      expect(problems(validateTrustBundle(makeTrustBundle({ issuerKeyMismatch: true })))).toEqual(['failure issuer.key key-mismatch']);
      const expired = makeTrustBundle({ rootValidDays: 10, rootNotBeforeDaysAgo: 20, issuerValidDays: 60 });
      expect(problems(validateTrustBundle(expired))).toEqual(['failure ca.crt expired', 'warning issuer.crt issuer-outlives-root']);
    });

    it('warns about another trust domain in the root’s O and the issuer’s SPIFFE ID', () => {
      const v = validateTrustBundle(makeTrustBundle({ trustDomain: 'other.example' }), { trustDomain: 'cluster.local' });
      expect(problems(v)).toEqual(['warning ca.crt trust-domain', 'warning issuer.crt trust-domain']);
    });
  });

  describe('malformed input gives a problem, not an exception', () => {
    const good = generateTrustBundle({ keyType: 'ed25519' });

    it('reports text that holds no certificate', () => {
      const v = validateTrustBundle({ ...good, rootCert: 'not a certificate' });
      expect(problems(v)).toEqual(['failure ca.crt unreadable']);
      expect(v.problems[0]!.message).toBe('ca.crt holds no PEM certificate ("-----BEGIN CERTIFICATE-----").');
    });

    it('reports a corrupt certificate body', () => {
      const corrupt = good.issuerCert.replace(
        /\n[A-Za-z0-9+/]{64}\n/,
        '\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n',
      );
      const truncated = `${good.rootCert.split('\n').slice(0, 3).join('\n')}\n-----END CERTIFICATE-----\n`;
      const v = validateTrustBundle({ ...good, rootCert: truncated, issuerCert: corrupt });
      expect(problems(v)).toEqual(['failure ca.crt unreadable', 'failure issuer.crt unreadable']);
      expect(v.problems.map((p) => p.message)).toEqual([
        'Certificate 1 in ca.crt is not a valid X.509 certificate (corrupt or truncated PEM).',
        'Certificate 1 in issuer.crt is not a valid X.509 certificate (corrupt or truncated PEM).',
      ]);
    });

    it('reports empty entries', () => {
      const v = validateTrustBundle({ rootCert: '', issuerCert: '', issuerKey: '' });
      expect(problems(v)).toEqual(['failure ca.crt unreadable', 'failure issuer.crt unreadable', 'failure issuer.key unreadable']);
      expect(v.ok).toBe(false);
    });

    it('reports a corrupt key', () => {
      const v = validateTrustBundle({ ...good, issuerKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' });
      expect(problems(v)).toEqual(['failure issuer.key unreadable']);
    });
  });

  describe('issuer.key formats, as Sentry reads them', () => {
    const root = generateRoot({ keyType: 'ecdsa-p256' });
    const issuer = generateIssuer(root, { keyType: 'ecdsa-p256' });
    const key = createPrivateKey(issuer.key);

    it('accepts SEC1 (EC PRIVATE KEY)', () => {
      const sec1 = key.export({ type: 'sec1', format: 'pem' }).toString();
      expect(problems(validateTrustBundle(bundle(root, issuer, sec1)))).toEqual([]);
    });

    it('fails a key after an EC PARAMETERS block (openssl ecparam -genkey)', () => {
      const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
      const v = validateTrustBundle(bundle(root, issuer, params + key.export({ type: 'sec1', format: 'pem' }).toString()));
      expect(problems(v)).toEqual(['failure issuer.key key-format']);
      expect(v.problems[0]!.message).toMatch(/^issuer\.key starts with an EC PARAMETERS block: /);
    });

    it('fails an encrypted key', () => {
      const encrypted = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
      const v = validateTrustBundle(bundle(root, issuer, encrypted));
      expect(problems(v)).toEqual(['failure issuer.key key-format']);
      expect(v.problems[0]!.message).toMatch(/encrypted/);
    });
  });

  it('fails a private key in ca.crt, which the ConfigMap publishes', () => {
    const root = generateRoot({ keyType: 'ed25519' });
    const v = validateTrustBundle(bundle(root.cert + root.key, generateIssuer(root, { keyType: 'ed25519' })));
    expect(problems(v)).toEqual(['failure ca.crt private-key-in-ca']);
  });

  it('accepts an issuer.crt that carries the root after the issuer, as Sentry drops it', () => {
    const root = generateRoot({ keyType: 'ed25519' });
    const issuer = generateIssuer(root, { keyType: 'ed25519' });
    const v = validateTrustBundle({ rootCert: root.cert, issuerCert: issuer.cert + root.cert, issuerKey: issuer.key });
    expect(problems(v)).toEqual([]);
    expect(v.issuerChain).toHaveLength(1);
  });

  it('fails an issuer.crt whose certificates are out of order', () => {
    const root = generateRoot({ keyType: 'ed25519' });
    const issuer = generateIssuer(root, { keyType: 'ed25519' });
    const v = validateTrustBundle({ rootCert: root.cert, issuerCert: root.cert + issuer.cert, issuerKey: issuer.key });
    expect(problems(v)).toContain('failure issuer.crt issuer-chain-broken');
  });
});

// CAs Sentry's generator never makes but users do (RSA, as existing installs have): built with node-forge.
describe('hand-made CAs', () => {
  const rsaKey = () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    return { pem: privateKey, forge: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey };
  };
  interface Made {
    cert: forge.pki.Certificate;
    key: ReturnType<typeof rsaKey>;
    pem: string;
  }
  const make = (cn: string, signer: Made | undefined, extensions: object[]): Made => {
    const key = rsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.forge.n, key.forge.e);
    cert.serialNumber = '01';
    cert.validity.notBefore = daysFrom(NOW, -1);
    cert.validity.notAfter = daysFrom(NOW, 300);
    cert.setSubject([{ shortName: 'CN', value: cn }]);
    cert.setIssuer(signer ? signer.cert.subject.attributes : [{ shortName: 'CN', value: cn }]);
    cert.setExtensions(extensions);
    cert.sign((signer ?? { key }).key.forge, forge.md.sha256.create());
    return { cert, key, pem: forge.pki.certificateToPem(cert) };
  };
  const ca = (pathLen?: number) => ({
    name: 'basicConstraints',
    cA: true,
    critical: true,
    ...(pathLen === undefined ? {} : { pathLenConstraint: pathLen }),
  });
  const certSign = { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true };
  const check = (root: Made, issuer: Made) =>
    problems(validateTrustBundle({ rootCert: root.pem, issuerCert: issuer.pem, issuerKey: issuer.key.pem }, { now: NOW }));

  it('accepts a plain RSA root and issuer', () => {
    const root = make('root', undefined, [ca(), certSign]);
    const issuer = make('issuer', root, [ca(0), certSign]);
    expect(check(root, issuer)).toEqual([]);
    const v = validateTrustBundle({ rootCert: root.pem, issuerCert: issuer.pem, issuerKey: issuer.key.pem }, { now: NOW });
    expect(keyType(v.anchors[0]!)).toBe('rsa-2048');
    expect(v.issuerKeyType).toBe('rsa-2048');
  });

  it('signs a Sentry issuer under an existing RSA root (same-key renewal of an old install)', () => {
    const root = make('dapr-trust-root', undefined, [ca(), certSign]);
    const issuer = generateIssuer({ cert: root.pem, key: root.key.pem }, { keyType: 'ed25519', now: NOW, validityDays: 200 });
    const v = validateTrustBundle({ rootCert: root.pem, issuerCert: issuer.cert, issuerKey: issuer.key }, { now: NOW });
    expect(problems(v)).toEqual([]);
    expect(v.issuerChain[0]!.signatureAlgorithm).toBe('sha256WithRSAEncryption');
  });

  it('fails a root whose path length leaves no room for the issuer', () => {
    const root = make('root', undefined, [ca(0), certSign]);
    expect(check(root, make('issuer', root, [ca(0), certSign]))).toEqual(['failure ca.crt path-length']);
  });

  it('fails an issuer that is not a CA', () => {
    const root = make('root', undefined, [ca(), certSign]);
    expect(check(root, make('issuer', root, [{ name: 'basicConstraints', cA: false }]))).toEqual(['failure issuer.crt not-a-ca']);
    const bare = check(root, make('issuer', root, []));
    expect(bare).toEqual(['failure issuer.crt not-a-ca']);
  });

  it('fails a root that is not a CA', () => {
    const root = make('root', undefined, [{ name: 'basicConstraints', cA: false }, certSign]);
    expect(check(root, make('issuer', root, [ca(), certSign]))).toEqual([
      'failure ca.crt not-a-ca',
      'failure issuer.crt issuer-not-signed-by-anchor',
    ]);
  });

  it('fails an issuer whose extended key usage excludes serverAuth', () => {
    const root = make('root', undefined, [ca(), certSign]);
    expect(check(root, make('issuer', root, [ca(), certSign, { name: 'extKeyUsage', clientAuth: true }]))).toEqual([
      'failure issuer.crt extended-key-usage',
    ]);
    expect(check(root, make('issuer', root, [ca(), certSign, { name: 'extKeyUsage', serverAuth: true, clientAuth: true }]))).toEqual([]);
  });
});

describe('certificate helpers', () => {
  const a = generateRoot({ keyType: 'ecdsa-p256', now: NOW });
  const b = generateRoot({ keyType: 'ed25519', now: NOW });

  it('parseAnchors reads concatenated roots, with comments between them', () => {
    const anchors = parseAnchors(`# old root\n${a.cert}\n# new root\n${b.cert}`);
    expect(anchors.map(keyType)).toEqual(['ecdsa-p256', 'ed25519']);
    expect(anchors[0]!.pem).toBe(a.cert);
    expect(() => parseAnchors('nothing here')).toThrow(CertParseError);
  });

  it('daysLeft counts whole days, negative once expired', () => {
    const [cert] = parseAnchors(a.cert);
    expect(daysLeft(cert!, NOW)).toBe(365);
    expect(daysFrom(NOW, 365).getTime()).toBe(cert!.notAfter.getTime());
    expect(daysLeft(cert!, new Date(cert!.notAfter.getTime() + 1000))).toBe(-1);
  });

  it('fingerprint is the SHA-256 of the DER, as openssl prints it', () => {
    const [cert] = parseAnchors(b.cert);
    expect(fingerprint(cert!)).toBe(new X509Certificate(b.cert).fingerprint256);
    expect(fingerprint(cert!)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
