// A root and an issuer certificate made the way Dapr's Sentry makes its self-signed trust bundle
// (dapr/dapr pkg/sentry/server/ca/bundle/cert.go and bundle.go, with Go's crypto/x509 defaults):
//   root:   subject O=<trust domain>, basicConstraints critical CA:TRUE (no path length), keyUsage critical
//           digitalSignature + keyCertSign, a subject key identifier, no SAN, no authority key identifier.
//   issuer: subject O=spiffe://<trust domain>/ns/<namespace>/dapr-sentry, the same constraints, keyUsage
//           adds cRLSign; no SAN, no authority key identifier (Go takes it from the root *template*, which has none).
//   both:   a random 128-bit serial, valid from now minus the allowed clock skew (15 minutes) for 365 days.
// Dapr 1.18 made both keys Ed25519; up to 1.17 they were ECDSA P-256 and key usage also had keyEncipherment.
// The templates follow the key type chosen, so an ECDSA bundle looks like one from Sentry 1.17.
// Keys are PKCS#8 ("PRIVATE KEY"), what Sentry writes (dapr/kit crypto/pem.EncodePrivateKey).
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { derToPem, keyTypeOf, readCertificates } from './cert.js';

export type GeneratedKeyType = 'ecdsa-p256' | 'ed25519';

export interface GenerateOptions {
  /** Ed25519 is what Sentry generates from Dapr 1.18; ECDSA P-256 before. */
  keyType: GeneratedKeyType;
  /** SPIFFE trust domain (default `cluster.local`, Sentry's default). */
  trustDomain?: string;
  /** Validity in days from `now` (default 365, Sentry's CA TTL). */
  validityDays?: number;
  /** The moment of issue (default: now). */
  now?: Date;
  /** How far notBefore is backdated (default 15 minutes, Sentry's allowedClockSkew). */
  clockSkewMs?: number;
  /** The Dapr control plane namespace, named in the issuer's subject (default `dapr-system`). */
  namespace?: string;
}

/** A certificate and its private key, both PEM. */
export interface CertAndKey {
  cert: string;
  /** PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
  key: string;
}

const DAY_MS = 86_400_000;
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_NAMESPACE = 'dapr-system';
export const DEFAULT_CA_VALIDITY_DAYS = 365;
export const DEFAULT_CLOCK_SKEW_MS = 15 * 60_000;
const OID_ORGANIZATION = '2.5.4.10';

// go-spiffe's rules: a trust domain is lower-case letters, digits, dots, dashes and underscores; a path
// segment (the namespace) also allows upper case.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

function newKeyPair(keyType: GeneratedKeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return keyType === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

interface Signer {
  algorithm: AlgorithmIdentifier;
  sign(tbs: Buffer): Buffer;
}

// Go's defaults for a signing key (crypto/x509 signingParamsForKey): SHA-256 for RSA (PKCS #1 v1.5) and
// P-256, SHA-384 for P-384, SHA-512 for P-521, pure Ed25519.
function signerFor(key: KeyObject): Signer {
  const type = keyTypeOf(key);
  const ecdsa = (oid: string, hash: string): Signer => ({
    algorithm: new AlgorithmIdentifier({ algorithm: oid }),
    sign: (tbs) => sign(hash, tbs, { key, dsaEncoding: 'der' }),
  });
  if (type === 'ed25519') return { algorithm: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), sign: (tbs) => sign(null, tbs, key) };
  if (type === 'ecdsa-p256') return ecdsa('1.2.840.10045.4.3.2', 'sha256');
  if (type === 'ecdsa-p384') return ecdsa('1.2.840.10045.4.3.3', 'sha384');
  if (type === 'ecdsa-p521') return ecdsa('1.2.840.10045.4.3.4', 'sha512');
  if (type.startsWith('rsa-')) {
    return {
      algorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: null }),
      sign: (tbs) => sign('sha256', tbs, key),
    };
  }
  throw new Error(`A ${key.asymmetricKeyType ?? 'unknown'} key cannot sign a Dapr certificate: use ECDSA, Ed25519 or RSA.`);
}

// Go's encoding/asn1 writes a PrintableString when every character allows it, else a UTF8String.
function directoryString(value: string): AttributeValue {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
    ? new AttributeValue({ printableString: value })
    : new AttributeValue({ utf8String: value });
}

function organizationName(o: string): Name {
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_ORGANIZATION, value: directoryString(o) })])]);
}

// A random serial below 2^128 (Sentry's bundle.serialNumber), DER-encoded as a positive INTEGER.
function serialNumber(): ArrayBuffer {
  let bytes = randomBytes(16);
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.every((b) => b === 0)) bytes = Buffer.from([1]);
  const der = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : Buffer.from(bytes);
  return new Uint8Array(der).buffer;
}

const extension = (extnID: string, critical: boolean, value: unknown) =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

interface Template {
  subject: Name;
  usage: number;
  publicKey: KeyObject;
  validityDays: number;
  now: Date;
  clockSkewMs: number;
}

function createCertificate(t: Template, issuer: Name, signingKey: KeyObject): string {
  const spki = AsnConvert.parse(t.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  // Go (1.25+) derives a CA's subject key identifier from the leftmost 160 bits of the SHA-256 of the key.
  const ski = createHash('sha256').update(new Uint8Array(spki.subjectPublicKey)).digest().subarray(0, 20);
  const signer = signerFor(signingKey);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: signer.algorithm,
    issuer,
    validity: new Validity({
      notBefore: new Date(t.now.getTime() - t.clockSkewMs),
      notAfter: new Date(t.now.getTime() + t.validityDays * DAY_MS),
    }),
    subject: t.subject,
    subjectPublicKeyInfo: spki,
    // Go's order: key usage, basic constraints, subject key identifier.
    extensions: new Extensions([
      extension(id_ce_keyUsage, true, new KeyUsage(t.usage)),
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(new Uint8Array(ski))),
    ]),
  });
  const signature = signer.sign(Buffer.from(AsnConvert.serialize(tbs)));
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: signer.algorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return derToPem(Buffer.from(AsnConvert.serialize(cert)));
}

function template(o: GenerateOptions, subject: Name, usage: number, publicKey: KeyObject): Template {
  const validityDays = o.validityDays ?? DEFAULT_CA_VALIDITY_DAYS;
  if (!(validityDays > 0)) throw new Error(`The validity must be a positive number of days, not ${validityDays}.`);
  return { subject, usage, publicKey, validityDays, now: o.now ?? new Date(), clockSkewMs: o.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS };
}

function trustDomainOf(o: GenerateOptions): string {
  const td = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  if (!TRUST_DOMAIN.test(td))
    throw new Error(`"${td}" is not a SPIFFE trust domain: use lower-case letters, digits, dots, dashes and underscores.`);
  return td;
}

// Sentry up to 1.17 (ECDSA) also set keyEncipherment; 1.18 (Ed25519) dropped it.
const baseUsage = (keyType: GeneratedKeyType) =>
  KeyUsageFlags.digitalSignature | (keyType === 'ecdsa-p256' ? KeyUsageFlags.keyEncipherment : 0);

/** A self-signed root (trust anchor) as Sentry generates it. */
export function generateRoot(o: GenerateOptions): CertAndKey {
  const { privateKey, publicKey } = newKeyPair(o.keyType);
  const subject = organizationName(trustDomainOf(o));
  const cert = createCertificate(template(o, subject, baseUsage(o.keyType) | KeyUsageFlags.keyCertSign, publicKey), subject, privateKey);
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/**
 * An issuer (intermediate CA) signed by `root`, as Sentry generates it. The root may be any key Sentry
 * accepts (ECDSA, Ed25519, RSA): the signature algorithm follows the root key, the new key follows `keyType`.
 */
export function generateIssuer(root: CertAndKey, o: GenerateOptions): CertAndKey {
  const namespace = o.namespace ?? DEFAULT_NAMESPACE;
  if (!PATH_SEGMENT.test(namespace)) throw new Error(`"${namespace}" is not a Kubernetes namespace name.`);
  const rootKey = createPrivateKey(root.key);
  const [rootCert] = readCertificates(root.cert, 'root.cert').certs;
  if (!rootCert!.x509.checkPrivateKey(rootKey)) throw new Error('The root key does not belong to the root certificate.');
  const { privateKey, publicKey } = newKeyPair(o.keyType);
  const subject = organizationName(`spiffe://${trustDomainOf(o)}/ns/${namespace}/dapr-sentry`);
  const usage = baseUsage(o.keyType) | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;
  // The issuer name is the root's subject as encoded in the root, as Go copies it: chains match on these bytes.
  const cert = createCertificate(template(o, subject, usage, publicKey), AsnConvert.parse(rootCert!.rawSubject, Name), rootKey);
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export interface GeneratedBundle {
  rootCert: string;
  rootKey: string;
  issuerCert: string;
  issuerKey: string;
}

/** A whole trust bundle (root and issuer), as Sentry writes it on first start. */
export function generateTrustBundle(o: GenerateOptions): GeneratedBundle {
  const at = { ...o, now: o.now ?? new Date() };
  const root = generateRoot(at);
  const issuer = generateIssuer(root, at);
  return { rootCert: root.cert, rootKey: root.key, issuerCert: issuer.cert, issuerKey: issuer.key };
}
