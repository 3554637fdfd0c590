// Checks a trust bundle the way Dapr's Sentry loads it (dapr/dapr pkg/sentry/server/ca/validate.go,
// verifyX509Bundle, with dapr/kit crypto/pem and Go's crypto/x509 Verify), plus what would break the
// sidecars later although Sentry starts (a non-CA issuer, a root path length of 0) and what a rotation
// needs to see coming (expiry, an issuer that outlives its root). Never throws: every finding is a problem
// with one sentence.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import {
  checkSignatureFrom,
  CertParseError,
  daysLeft,
  fingerprint,
  isInsecureSignature,
  keyType,
  keyTypeOf,
  pemBlocks,
  readCertificates,
  type Cert,
  type CertKeyType,
  type CertList,
  type SignatureCheck,
} from './cert.js';

/** The three entries of Secret `dapr-trust-bundle` (TrustBundle from trust-bundle.ts fits). */
export interface BundlePems {
  /** ca.crt: one or more trust anchors. */
  rootCert: string;
  /** issuer.crt: the issuer certificate, optionally followed by intermediates (and the root). */
  issuerCert: string;
  /** issuer.key: the issuer's private key. */
  issuerKey: string;
}

export interface ValidateOptions {
  now?: Date;
  /** Warn when a certificate expires within this many days (default 30). */
  warnDays?: number;
  /** Check the trust domain the certificates name (Sentry itself does not): e.g. `cluster.local`. */
  trustDomain?: string;
}

export type BundleFile = 'ca.crt' | 'issuer.crt' | 'issuer.key';

export type ProblemCode =
  | 'unreadable'
  | 'extra-pem-block'
  | 'private-key-in-ca'
  | 'anchor-not-self-signed'
  | 'not-a-ca'
  | 'cannot-sign-certificates'
  | 'insecure-signature'
  | 'negative-serial'
  | 'weak-key'
  | 'issuer-chain-broken'
  | 'issuer-not-signed-by-anchor'
  | 'path-length'
  | 'extended-key-usage'
  | 'not-yet-valid'
  | 'expired'
  | 'expires-soon'
  | 'issuer-outlives-root'
  | 'key-format'
  | 'key-mismatch'
  | 'trust-domain';

export interface BundleProblem {
  code: ProblemCode;
  /** failure: Sentry refuses the bundle or workloads cannot talk; warning: works, but look. */
  severity: 'failure' | 'warning';
  file: BundleFile;
  message: string;
}

export interface BundleValidation {
  /** No failure among the problems. */
  ok: boolean;
  problems: BundleProblem[];
  anchors: Cert[];
  /** The issuer first, then any intermediates, without a trailing root (as Sentry keeps it). */
  issuerChain: Cert[];
  /** Indexes in `anchors` of the roots that signed the issuer chain (two during an overlap is fine). */
  signingAnchors: number[];
  issuerKeyType?: CertKeyType;
}

const DAY_MS = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EKU = '2.5.29.37.0';
const SENTRY_KEY_BLOCKS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);

const iso = (d: Date) => d.toISOString();
const withArticle = (word: string) => (/^[AEIOU]/i.test(word) ? `an ${word}` : `a ${word}`);
const short = (c: Cert) => fingerprint(c).slice(0, 11);

class Findings {
  readonly problems: BundleProblem[] = [];
  failure(code: ProblemCode, file: BundleFile, message: string) {
    this.problems.push({ code, severity: 'failure', file, message });
  }
  warning(code: ProblemCode, file: BundleFile, message: string) {
    this.problems.push({ code, severity: 'warning', file, message });
  }
}

function read(pem: string, file: BundleFile, f: Findings): CertList | undefined {
  try {
    return readCertificates(pem, file);
  } catch (e) {
    f.failure('unreadable', file, e instanceof CertParseError ? e.message : `${file} could not be read.`);
    return undefined;
  }
}

function extraBlock(list: CertList, file: BundleFile, f: Findings): void {
  if (list.stoppedAt === undefined) return;
  if (file === 'ca.crt' && list.stoppedAt.includes('PRIVATE KEY')) {
    f.failure(
      'private-key-in-ca',
      file,
      `ca.crt holds ${withArticle(list.stoppedAt)} block, and ca.crt is published to every pod through the ConfigMap dapr-trust-bundle: remove it.`,
    );
  } else {
    f.warning(
      'extra-pem-block',
      file,
      `${file} has ${withArticle(list.stoppedAt)} block after its certificates; Sentry stops reading there and ignores anything after it.`,
    );
  }
}

// What each certificate must satisfy whatever its place: Go's parser and signature policy.
function certHygiene(c: Cert, name: string, file: BundleFile, f: Findings): void {
  if (c.negativeSerial)
    f.failure('negative-serial', file, `The ${name} has a negative serial number, which Go (and so Sentry) refuses to parse.`);
  const type = keyType(c);
  if (type.startsWith('rsa-')) {
    const bits = Number(type.slice(4));
    if (bits < 1024) f.failure('weak-key', file, `The ${name} has a ${bits}-bit RSA key, which Go refuses (1024 bits at least).`);
    else if (bits < 2048)
      f.warning('weak-key', file, `The ${name} has a ${bits}-bit RSA key; use 2048 bits or more, or ECDSA P-256 or Ed25519.`);
  }
}

function validity(
  c: Cert,
  name: string,
  file: BundleFile,
  now: Date,
  warnDays: number,
  f: Findings,
  severity: 'failure' | 'warning',
): void {
  const add = severity === 'failure' ? f.failure.bind(f) : f.warning.bind(f);
  if (now < c.notBefore) {
    add(
      'not-yet-valid',
      file,
      `The ${name} is not valid before ${iso(c.notBefore)}; Sentry's verification fails until then (a clock behind, or a bundle dated in the future).`,
    );
  } else if (now > c.notAfter) {
    add('expired', file, `The ${name} expired on ${iso(c.notAfter)}.`);
  } else if (daysLeft(c, now) < warnDays) {
    f.warning('expires-soon', file, `The ${name} expires in ${daysLeft(c, now)} days (${iso(c.notAfter)}).`);
  }
}

const signatureProblem: Record<Exclude<SignatureCheck, 'ok'>, ProblemCode> = {
  'parent-not-ca': 'not-a-ca',
  'parent-cannot-sign': 'cannot-sign-certificates',
  'insecure-algorithm': 'insecure-signature',
  'bad-signature': 'anchor-not-self-signed',
};

function checkAnchor(a: Cert, name: string, f: Findings): void {
  certHygiene(a, name, 'ca.crt', f);
  const self = checkSignatureFrom(a, a);
  if (self === 'ok') return;
  const code = signatureProblem[self];
  const why: Record<typeof self, string> = {
    'parent-not-ca': 'is not a CA certificate (basicConstraints CA:TRUE), so Sentry refuses it as a trust anchor',
    'parent-cannot-sign': 'has a key usage without keyCertSign, so Sentry refuses it as a trust anchor',
    'insecure-algorithm': `is signed with ${a.signatureAlgorithm}, which Go refuses`,
    'bad-signature': 'is not self-signed, and Sentry accepts only self-signed roots in ca.crt',
  };
  f.failure(code, 'ca.crt', `The ${name} ${why[self]}.`);
}

// Sentry only refuses an issuer with none of CA, basicConstraints and keyCertSign (validate.go), but a
// workload certificate verifies only under a CA issuer: either way mTLS breaks.
function checkIssuerIsCa(issuer: Cert, f: Findings): void {
  const bc = issuer.basicConstraints;
  if (bc === undefined && !issuer.keyUsage?.includes('keyCertSign')) {
    f.failure(
      'not-a-ca',
      'issuer.crt',
      'The issuer certificate is not a CA (no basicConstraints, no keyCertSign): Sentry refuses it ("intermediate certificate is not valid for signing").',
    );
  } else if (!bc?.ca) {
    f.failure(
      'not-a-ca',
      'issuer.crt',
      'The issuer certificate is not a CA (basicConstraints CA:TRUE): sidecars would reject every workload certificate it signs.',
    );
  }
  if (issuer.keyUsage !== undefined && !issuer.keyUsage.includes('keyCertSign')) {
    f.failure(
      'cannot-sign-certificates',
      'issuer.crt',
      "The issuer certificate's key usage lacks keyCertSign: sidecars would reject every workload certificate it signs.",
    );
  }
}

// A CA with path length n allows n CA certificates below it in a workload's chain.
function checkPathLengths(chain: Cert[], anchors: Cert[], signing: number[], f: Findings): void {
  chain.forEach((c, i) => {
    const limit = c.basicConstraints?.pathLen;
    if (limit !== undefined && limit < i) {
      f.failure(
        'path-length',
        'issuer.crt',
        `Certificate ${i + 1} of issuer.crt allows ${limit} CA certificates below it but has ${i}: workload certificates would not verify.`,
      );
    }
  });
  for (const i of signing) {
    const limit = anchors[i]!.basicConstraints?.pathLen;
    if (limit !== undefined && limit < chain.length) {
      f.failure(
        'path-length',
        'ca.crt',
        `Trust anchor ${i + 1} has a path length limit of ${limit} but ${chain.length} CA certificate(s) sit below it: Sentry starts, yet workload certificates would not verify.`,
      );
    }
  }
}

// Go's Verify (no KeyUsages given) asks for serverAuth through the whole chain, root included.
function checkExtendedKeyUsage(certs: { cert: Cert; name: string; file: BundleFile }[], f: Findings): void {
  for (const { cert, name, file } of certs) {
    const eku = cert.extKeyUsage;
    if (eku !== undefined && !eku.includes(SERVER_AUTH) && !eku.includes(ANY_EKU)) {
      f.failure(
        'extended-key-usage',
        file,
        `The ${name} restricts extended key usage without serverAuth, so Sentry's chain verification fails.`,
      );
    }
  }
}

function findSigningAnchors(top: Cert, anchors: Cert[]): { signing: number[]; sameName: number[] } {
  const signing: number[] = [];
  const sameName: number[] = [];
  anchors.forEach((a, i) => {
    if (a.der.equals(top.der)) {
      signing.push(i);
      return;
    }
    // Go looks parents up by the exact issuer name, then checks the signature.
    if (!a.rawSubject.equals(top.rawIssuer)) return;
    sameName.push(i);
    if (checkSignatureFrom(top, a) === 'ok') signing.push(i);
  });
  return { signing, sameName };
}

function readIssuerKey(pem: string, f: Findings): KeyObject | undefined {
  const first = pemBlocks(pem)[0];
  if (first === undefined) {
    f.failure('unreadable', 'issuer.key', 'issuer.key holds no PEM private key.');
    return undefined;
  }
  if (!SENTRY_KEY_BLOCKS.has(first.type)) {
    const hint =
      first.type === 'ENCRYPTED PRIVATE KEY'
        ? 'it is encrypted; Sentry needs it unencrypted'
        : first.type === 'EC PARAMETERS'
          ? 'openssl ecparam -genkey writes it; remove it, or use -noout, since Sentry reads only the first block'
          : 'Sentry reads only the first block and accepts PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY';
    f.failure('key-format', 'issuer.key', `issuer.key starts with ${withArticle(first.type)} block: ${hint}.`);
    return undefined;
  }
  let key: KeyObject;
  try {
    const type = first.type === 'PRIVATE KEY' ? 'pkcs8' : first.type === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs1';
    key = createPrivateKey({ key: first.der, format: 'der', type });
  } catch {
    f.failure('unreadable', 'issuer.key', `The ${first.type} block in issuer.key is not a valid private key (corrupt or truncated PEM).`);
    return undefined;
  }
  if (!['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
    f.failure(
      'key-format',
      'issuer.key',
      `issuer.key holds ${withArticle(key.asymmetricKeyType ?? 'unknown')} key; Sentry signs only with ECDSA, Ed25519 or RSA keys.`,
    );
    return undefined;
  }
  return key;
}

function spiffeTrustDomain(id: string): string | undefined {
  return /^spiffe:\/\/([^/]+)/i.exec(id)?.[1]?.toLowerCase();
}

// Sentry writes the trust domain into the root's O and the issuer's O (spiffe://<td>/ns/<ns>/dapr-sentry);
// Dapr's docs make roots with CN=<td>. Nothing verifies these, but a mismatch means a bundle made for
// another installation or by hand.
function checkTrustDomain(td: string, anchors: Cert[], signing: number[], issuer: Cert, f: Findings): void {
  for (const i of signing) {
    const a = anchors[i]!;
    const cn = /(?:^|, )CN=([^,]*)/.exec(a.subject)?.[1];
    const names = [...a.organizations, ...(cn === undefined ? [] : [cn])];
    if (!names.includes(td)) {
      f.warning(
        'trust-domain',
        'ca.crt',
        `Trust anchor ${i + 1} (${a.subject}) does not name trust domain ${td}; Sentry does not check this, but Dapr's own roots do.`,
      );
    }
  }
  const ids = [...issuer.organizations, ...issuer.uris].map(spiffeTrustDomain).filter((d) => d !== undefined);
  const other = ids.find((d) => d !== td);
  if (other !== undefined) {
    f.warning(
      'trust-domain',
      'issuer.crt',
      `The issuer certificate names trust domain ${other}, not ${td}: was this bundle made for another installation?`,
    );
  }
}

const anchorName = (anchors: Cert[], i: number) =>
  `trust anchor ${i + 1} of ${anchors.length} in ca.crt (${anchors[i]!.subject}, SHA-256 ${short(anchors[i]!)})`;
const chainName = (i: number) => (i === 0 ? 'issuer certificate' : `intermediate certificate ${i + 1} in issuer.crt`);

function readAnchors(pem: string, f: Findings): Cert[] {
  const list = read(pem, 'ca.crt', f);
  if (!list) return [];
  extraBlock(list, 'ca.crt', f);
  list.certs.forEach((a, i) => {
    checkAnchor(a, anchorName(list.certs, i), f);
  });
  return list.certs;
}

// dapr/kit DecodePEMCertificatesChain: each certificate signed by the next; then Sentry drops a trailing root.
function readIssuerChain(pem: string, f: Findings): Cert[] {
  const list = read(pem, 'issuer.crt', f);
  if (!list) return [];
  extraBlock(list, 'issuer.crt', f);
  const certs = list.certs;
  for (let i = 0; i + 1 < certs.length; i++) {
    const check = checkSignatureFrom(certs[i]!, certs[i + 1]!);
    if (check !== 'ok' && check !== 'insecure-algorithm') {
      f.failure(
        'issuer-chain-broken',
        'issuer.crt',
        `Certificate ${i + 1} of issuer.crt is not signed by certificate ${i + 2}; Sentry refuses a chain out of order.`,
      );
    }
  }
  const chain = certs.length > 1 && checkSignatureFrom(certs.at(-1)!, certs.at(-1)!) === 'ok' ? certs.slice(0, -1) : certs;
  chain.forEach((c, i) => {
    certHygiene(c, chainName(i), 'issuer.crt', f);
    if (isInsecureSignature(c.signatureAlgorithm))
      f.failure(
        'insecure-signature',
        'issuer.crt',
        `The ${chainName(i)} is signed with ${c.signatureAlgorithm}, which Go (and so Sentry) refuses.`,
      );
  });
  return chain;
}

function checkKeyMatches(issuer: Cert, key: KeyObject, f: Findings): void {
  let matches = false;
  try {
    matches = issuer.x509.checkPrivateKey(key);
  } catch {
    // A key of another type than the certificate's: not a match either.
  }
  if (!matches)
    f.failure(
      'key-mismatch',
      'issuer.key',
      `issuer.key is not the key of the issuer certificate (${issuer.subject}, SHA-256 ${short(issuer)}).`,
    );
}

// Returns the indexes of the anchors that signed the top of the chain.
function checkChainToAnchors(chain: Cert[], anchors: Cert[], f: Findings): number[] {
  const top = chain.at(-1)!;
  const { signing, sameName } = findSigningAnchors(top, anchors);
  if (anchors.length === 0 || signing.length > 0 || isInsecureSignature(top.signatureAlgorithm)) return signing;
  const topName = chain.length === 1 ? 'The issuer certificate' : 'The last certificate of issuer.crt';
  f.failure(
    'issuer-not-signed-by-anchor',
    'issuer.crt',
    sameName.length > 0
      ? `${topName} names ${top.issuer} as its issuer, but none of the ${sameName.length} trust anchor(s) with that name signed it: it was signed by another key.`
      : `${topName} was issued by ${top.issuer}, which is not among the ${anchors.length} trust anchor(s) in ca.crt.`,
  );
  return signing;
}

// Sentry's Verify checks every certificate of the chain at the current time, and one valid root is
// enough: another anchor out of its dates only matters once something is signed by it.
function checkValidity(chain: Cert[], anchors: Cert[], signing: number[], now: Date, warnDays: number, f: Findings): void {
  chain.forEach((c, i) => {
    validity(c, chainName(i), 'issuer.crt', now, warnDays, f, 'failure');
  });
  const validNow = (c: Cert) => c.notBefore <= now && now <= c.notAfter;
  const noValidRoot = !signing.some((i) => validNow(anchors[i]!));
  anchors.forEach((a, i) => {
    validity(a, anchorName(anchors, i), 'ca.crt', now, warnDays, f, signing.includes(i) && noValidRoot ? 'failure' : 'warning');
  });
  if (signing.length === 0) return;
  const lastRootEnd = Math.max(...signing.map((i) => anchors[i]!.notAfter.getTime()));
  const firstChainEnd = Math.min(...chain.map((c) => c.notAfter.getTime()));
  // Sentry stamps root and issuer a moment apart: only a real gap is worth a warning.
  if (firstChainEnd - lastRootEnd > DAY_MS) {
    f.warning(
      'issuer-outlives-root',
      'issuer.crt',
      `The issuer chain is valid until ${iso(new Date(firstChainEnd))} but its root only until ${iso(new Date(lastRootEnd))}: rotate before the root expires.`,
    );
  }
}

export function validateTrustBundle(bundle: BundlePems, opts: ValidateOptions = {}): BundleValidation {
  const f = new Findings();
  const anchors = readAnchors(bundle.rootCert, f);
  const chain = readIssuerChain(bundle.issuerCert, f);
  const key = readIssuerKey(bundle.issuerKey, f);
  let signing: number[] = [];
  const issuer = chain[0];
  if (issuer) {
    checkIssuerIsCa(issuer, f);
    if (key) checkKeyMatches(issuer, key, f);
    signing = checkChainToAnchors(chain, anchors, f);
    checkValidity(chain, anchors, signing, opts.now ?? new Date(), opts.warnDays ?? 30, f);
    checkPathLengths(chain, anchors, signing, f);
    checkExtendedKeyUsage(
      [
        ...chain.map((cert, i) => ({ cert, name: chainName(i), file: 'issuer.crt' as const })),
        ...signing.map((i) => ({ cert: anchors[i]!, name: anchorName(anchors, i), file: 'ca.crt' as const })),
      ],
      f,
    );
    if (opts.trustDomain !== undefined) checkTrustDomain(opts.trustDomain, anchors, signing, issuer, f);
  }
  return {
    ok: f.problems.every((p) => p.severity !== 'failure'),
    problems: f.problems,
    anchors,
    issuerChain: chain,
    signingAnchors: signing,
    ...(key && { issuerKeyType: keyTypeOf(key) }),
  };
}
