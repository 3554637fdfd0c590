// One X.509 certificate as Dapr's Sentry sees it. node:crypto parses the certificate, checks signatures and
// keys (ECDSA, Ed25519, RSA, all through OpenSSL); @peculiar/asn1-x509 reads the extensions node:crypto does
// not expose (basicConstraints path length, key usage bits, extended key usage, URI SANs, the signature OID).
import { type KeyObject, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  type Name,
  SubjectAlternativeName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';

const DAY_MS = 86_400_000;
const OID_ORGANIZATION = '2.5.4.10';

/** Key usage bits in RFC 5280 order (bit 0 first). */
const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGES)[number];

/** The key types Sentry can hold: what Go's crypto/x509 parses. `rsa-2048` and so on carry the modulus size. */
export type CertKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | `rsa-${number}` | 'unsupported';

export interface BasicConstraintsInfo {
  ca: boolean;
  /** Absent when the certificate sets no path length limit. */
  pathLen?: number;
}

/** A parsed certificate: what node:crypto offers, plus the extensions Sentry and Go's verifier look at. */
export interface Cert {
  readonly der: Buffer;
  /** The certificate alone, re-encoded as Sentry re-encodes anchors: no comments, LF line ends. */
  readonly pem: string;
  readonly x509: X509Certificate;
  /** The subject public key, decoded when the certificate is parsed (node:crypto decodes it lazily). */
  readonly publicKey: KeyObject;
  /** X.509 version: 1, 2 or 3. */
  readonly version: number;
  /** Subject on one line, e.g. `O=cluster.local`. */
  readonly subject: string;
  readonly issuer: string;
  /** The subject's organization (O) values: Sentry writes the trust domain there. */
  readonly organizations: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Undefined when the extension is absent (Go: BasicConstraintsValid false). */
  readonly basicConstraints?: BasicConstraintsInfo;
  /** Undefined when the extension is absent: then no usage is restricted. */
  readonly keyUsage?: KeyUsageName[];
  /** Extended key usage OIDs; undefined when the extension is absent. */
  readonly extKeyUsage?: string[];
  readonly uris: string[];
  readonly dnsNames: string[];
  /** Signature algorithm name (`ecdsa-with-SHA256`, `Ed25519`, `sha256WithRSAEncryption`, …) or its OID. */
  readonly signatureAlgorithm: string;
  /** The DER of the issuer and subject names: Go matches a certificate to its parent on these bytes. */
  readonly rawIssuer: Buffer;
  readonly rawSubject: Buffer;
  /** A negative serial number, which Go refuses to parse. */
  readonly negativeSerial: boolean;
}

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.3.14.3.2.29': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
};

/** Signatures Go's verifier refuses (SHA-1 and older) — so does Sentry when it loads the bundle. */
export function isInsecureSignature(algorithm: string): boolean {
  return /^(md2|md5|sha1)with|with-SHA1$/i.test(algorithm);
}

// A minimal DER walker, only to cut the raw issuer and subject names out of the TBSCertificate.
interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let valueStart = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[valueStart + i]!;
    valueStart += n;
  }
  return { tag, start: at, valueStart, end: valueStart + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function tbsFields(der: Buffer) {
  const tbs = children(der, readTlv(der, 0))[0]!;
  const fields = children(der, tbs);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version is optional (v1)
  const serial = fields[offset]!;
  return {
    serialNegative: (der[serial.valueStart]! & 0x80) !== 0,
    rawIssuer: der.subarray(fields[offset + 2]!.start, fields[offset + 2]!.end),
    rawSubject: der.subarray(fields[offset + 4]!.start, fields[offset + 4]!.end),
  };
}

function bitsOf(bits: KeyUsage): KeyUsageName[] {
  const bytes = new Uint8Array(bits.value);
  return KEY_USAGES.filter((_, i) => ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
}

function organizationsOf(name: Name): string[] {
  return name.flatMap((rdn) => rdn.filter((atv) => atv.type === OID_ORGANIZATION).map((atv) => atv.value.toString()));
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Parses one DER certificate; throws what node:crypto or the ASN.1 reader throw on malformed input. */
export function parseCert(der: Buffer): Cert {
  const x509 = new X509Certificate(der);
  const publicKey = x509.publicKey; // throws here on a key that does not decode, not later
  const asn = AsnConvert.parse(der, Certificate);
  const tbs = asn.tbsCertificate;
  let basicConstraints: BasicConstraintsInfo | undefined;
  let keyUsage: KeyUsageName[] | undefined;
  let extKeyUsage: string[] | undefined;
  const uris: string[] = [];
  const dnsNames: string[] = [];
  for (const ext of tbs.extensions ?? []) {
    const value = ext.extnValue.buffer;
    if (ext.extnID === id_ce_basicConstraints) {
      const bc = AsnConvert.parse(value, BasicConstraints);
      basicConstraints = bc.pathLenConstraint === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen: bc.pathLenConstraint };
    } else if (ext.extnID === id_ce_keyUsage) {
      keyUsage = bitsOf(AsnConvert.parse(value, KeyUsage));
    } else if (ext.extnID === id_ce_extKeyUsage) {
      extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
    } else if (ext.extnID === id_ce_subjectAltName) {
      for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
        if (name.uniformResourceIdentifier !== undefined) uris.push(name.uniformResourceIdentifier);
        if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
      }
    }
  }
  const oid = asn.signatureAlgorithm.algorithm;
  const raw = tbsFields(der);
  return {
    der,
    pem: derToPem(der),
    x509,
    publicKey,
    version: tbs.version + 1,
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    organizations: organizationsOf(tbs.subject),
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    ...(basicConstraints && { basicConstraints }),
    ...(keyUsage && { keyUsage }),
    ...(extKeyUsage && { extKeyUsage }),
    uris,
    dnsNames,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[oid] ?? oid,
    rawIssuer: raw.rawIssuer,
    rawSubject: raw.rawSubject,
    negativeSerial: raw.serialNegative,
  };
}

export interface PemBlock {
  type: string;
  der: Buffer;
}

/**
 * The PEM blocks of a text, in order. Like Go's encoding/pem, text outside blocks is ignored (comments
 * are allowed) and a `-----BEGIN` counts only at the start of a line.
 */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /(?:^|\n)-----BEGIN ([^\n-][^\n]*?)-----\r?\n([\s\S]*?)(?:^|\n)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") end at the first blank line; only base64 counts.
    const body = m[2]!
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('');
    blocks.push({ type: m[1]!, der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

/** Why a certificate list could not be read, in one sentence. */
export class CertParseError extends Error {
  override name = 'CertParseError';
}

export interface CertList {
  certs: Cert[];
  /** The first PEM block that is not a certificate: Go's reader (and so Sentry) stops there. */
  stoppedAt?: string;
}

/**
 * The certificates of a PEM text as Sentry reads them (dapr/kit crypto/pem.DecodePEMCertificates):
 * certificate blocks in order, stopping at the first block of another type. Throws CertParseError when
 * there is no certificate or one does not parse. `what` names the text in the error, e.g. `ca.crt`.
 */
export function readCertificates(pem: string, what: string): CertList {
  const certs: Cert[] = [];
  let stoppedAt: string | undefined;
  for (const [i, block] of pemBlocks(pem).entries()) {
    if (block.type !== 'CERTIFICATE') {
      stoppedAt = block.type;
      break;
    }
    try {
      certs.push(parseCert(block.der));
    } catch {
      throw new CertParseError(`Certificate ${i + 1} in ${what} is not a valid X.509 certificate (corrupt or truncated PEM).`);
    }
  }
  if (certs.length === 0) throw new CertParseError(`${what} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  return stoppedAt === undefined ? { certs } : { certs, stoppedAt };
}

/** The trust anchors of a `ca.crt`: one or more root certificates, concatenated. Throws CertParseError. */
export function parseAnchors(pem: string): Cert[] {
  return readCertificates(pem, 'ca.crt').certs;
}

/** Whole days until the certificate expires; negative once it has. */
export function daysLeft(cert: Cert, now: Date = new Date()): number {
  return Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** SHA-256 fingerprint of the DER, as `AB:CD:…` (what `openssl x509 -fingerprint -sha256` prints). */
export function fingerprint(cert: Cert): string {
  return cert.x509.fingerprint256;
}

export function keyTypeOf(key: KeyObject): CertKeyType {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      return `rsa-${details.modulusLength ?? 0}`;
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
      if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
      if (details.namedCurve === 'secp521r1') return 'ecdsa-p521';
      return 'unsupported';
    default:
      return 'unsupported';
  }
}

/** The type of the certificate's public key. */
export function keyType(cert: Cert): CertKeyType {
  return keyTypeOf(cert.publicKey);
}

export type SignatureCheck = 'ok' | 'parent-not-ca' | 'parent-cannot-sign' | 'insecure-algorithm' | 'bad-signature';

/**
 * Go's `child.CheckSignatureFrom(parent)`, which Sentry uses for anchors ("self-signed") and issuer
 * chains: the parent must be a CA (a v3 certificate needs basicConstraints CA:TRUE), may sign certificates
 * if it restricts key usage, and its key must verify the child's signature (checked by OpenSSL).
 */
export function checkSignatureFrom(child: Cert, parent: Cert): SignatureCheck {
  const bc = parent.basicConstraints;
  if ((parent.version === 3 && bc === undefined) || (bc !== undefined && !bc.ca)) return 'parent-not-ca';
  if (parent.keyUsage !== undefined && !parent.keyUsage.includes('keyCertSign')) return 'parent-cannot-sign';
  if (isInsecureSignature(child.signatureAlgorithm)) return 'insecure-algorithm';
  try {
    return child.x509.verify(parent.publicKey) ? 'ok' : 'bad-signature';
  } catch {
    return 'bad-signature';
  }
}
