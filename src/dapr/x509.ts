// X.509 for Dapr's trust bundle: make a root and an issuer exactly as Sentry does (ECDSA P-256 as up to
// Dapr 1.17, Ed25519 as from 1.18) and check a bundle the way Sentry loads it. node:crypto does the
// cryptography (keys, signatures, verification); @peculiar/asn1-x509 only encodes and reads the DER.
export {
  daysLeft,
  fingerprint,
  keyType,
  parseAnchors,
  parseCert,
  readCertificates,
  CertParseError,
  type BasicConstraintsInfo,
  type Cert,
  type CertKeyType,
  type KeyUsageName,
} from './x509/cert.js';
export {
  generateIssuer,
  generateRoot,
  generateTrustBundle,
  DEFAULT_CA_VALIDITY_DAYS,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  type CertAndKey,
  type GeneratedBundle,
  type GeneratedKeyType,
  type GenerateOptions,
} from './x509/generate.js';
export {
  validateTrustBundle,
  type BundleFile,
  type BundlePems,
  type BundleProblem,
  type BundleValidation,
  type ProblemCode,
  type ValidateOptions,
} from './x509/validate.js';
