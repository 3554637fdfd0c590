// Trust-bundle rotation as Dapr's docs describe it, as data: which bundle goes live in each phase and which Dapr
// pods must be recreated after it. Sidecars and control-plane services read the trust anchors only when they
// start, and Sentry signs with the issuer it loaded at start, so every phase is "publish a bundle, then restart
// in order":
// - renew-issuer (the root key is at hand): a new issuer under the same root; only Sentry restarts.
// - replace-root: 1. trust both roots (old issuer still signs), everything restarts so every pod trusts both;
//   2. the new issuer (signed by the new root) signs: Sentry first, then the rest of the control plane, then the
//   workloads; 3. the old root is dropped, everything restarts once more.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import semver from 'semver';
import type { TrustBundle } from './trust-bundle.js';
import {
  generateIssuer,
  generateRoot,
  parseAnchors,
  validateTrustBundle,
  type BundleProblem,
  type CertAndKey,
  type GeneratedKeyType,
} from './x509.js';

export type RotationMode = 'renew-issuer' | 'replace-root';

/** What restarts after a phase's bundle is live, in this order. */
export type RestartScope = 'sentry' | 'everything';

export interface RotationPhase {
  /** The journal's step id. */
  id: 'rotate-issuer' | 'trust-both-roots' | 'switch-issuer' | 'drop-old-root';
  title: string;
  bundle: { rootCert: string; issuerCert: string; issuerKey: string };
  restart: RestartScope;
}

/** The certificates a rotation moves to: kept in the cluster (Secret daprup-rotation-<release>) until it ends. */
export interface PendingBundle {
  mode: RotationMode;
  /** The anchors that run now (ca.crt before the rotation). */
  oldRoots: string;
  oldIssuerCert: string;
  oldIssuerKey: string;
  /** The root after the rotation (the same as oldRoots when renewing the issuer). */
  newRoot: string;
  newIssuerCert: string;
  newIssuerKey: string;
}

const join = (...pems: string[]) => pems.map((p) => `${p.trim()}\n`).join('');

export function rotationPhases(p: PendingBundle): RotationPhase[] {
  const both = join(p.oldRoots, p.newRoot);
  if (p.mode === 'renew-issuer') {
    return [
      {
        id: 'rotate-issuer',
        title: 'Renew the issuer under the same root, restart Sentry',
        bundle: { rootCert: p.oldRoots, issuerCert: p.newIssuerCert, issuerKey: p.newIssuerKey },
        restart: 'sentry',
      },
    ];
  }
  return [
    {
      id: 'trust-both-roots',
      title: 'Phase 1: trust the old and the new root, recreate every Dapr pod',
      bundle: { rootCert: both, issuerCert: p.oldIssuerCert, issuerKey: p.oldIssuerKey },
      restart: 'everything',
    },
    {
      id: 'switch-issuer',
      title: 'Phase 2: sign with the new issuer, restart Sentry, the control plane, then the workloads',
      bundle: { rootCert: both, issuerCert: p.newIssuerCert, issuerKey: p.newIssuerKey },
      restart: 'everything',
    },
    {
      id: 'drop-old-root',
      title: 'Phase 3: drop the old root, recreate every Dapr pod',
      bundle: { rootCert: join(p.newRoot), issuerCert: p.newIssuerCert, issuerKey: p.newIssuerKey },
      restart: 'everything',
    },
  ];
}

/** Do the cluster's bundle and a phase's bundle hold the same certificates and key (whitespace aside)? */
export function sameBundle(
  a: Pick<TrustBundle, 'rootCert' | 'issuerCert' | 'issuerKey'>,
  b: Pick<TrustBundle, 'rootCert' | 'issuerCert' | 'issuerKey'>,
): boolean {
  const n = (s: string) => s.replace(/\s+/g, '');
  return n(a.rootCert) === n(b.rootCert) && n(a.issuerCert) === n(b.issuerCert) && n(a.issuerKey) === n(b.issuerKey);
}

/** Sentry's key type for a Dapr version: Ed25519 from 1.18 (dapr/dapr#9598), ECDSA P-256 before. */
export const sentryKeyType = (daprVersion: string): GeneratedKeyType =>
  semver.valid(daprVersion) && semver.gte(daprVersion, '1.18.0') ? 'ed25519' : 'ecdsa-p256';

export class RotationInputError extends Error {}

/** A new issuer under the running root, with the root key the user holds. */
export function renewIssuer(
  current: TrustBundle,
  rootKeyPem: string,
  o: { keyType: GeneratedKeyType; namespace: string; trustDomain?: string; now?: Date },
): PendingBundle {
  const anchors = parseAnchors(current.rootCert);
  if (anchors.length !== 1) throw new RotationInputError(`The cluster trusts ${anchors.length} roots: a rotation is already half done.`);
  let key: KeyObject;
  try {
    key = createPrivateKey(rootKeyPem);
  } catch {
    throw new RotationInputError('The root key is not a PEM private key.');
  }
  const root = new X509Certificate(current.rootCert);
  if (!root.checkPrivateKey(key)) throw new RotationInputError('The root key does not belong to the root certificate in the cluster.');
  const rootPair: CertAndKey = { cert: current.rootCert, key: rootKeyPem } as CertAndKey;
  const issuer = generateIssuer(rootPair, { keyType: o.keyType, namespace: o.namespace, trustDomain: o.trustDomain, now: o.now });
  return {
    mode: 'renew-issuer',
    oldRoots: current.rootCert,
    oldIssuerCert: current.issuerCert,
    oldIssuerKey: current.issuerKey,
    newRoot: current.rootCert,
    newIssuerCert: issuer.cert,
    newIssuerKey: issuer.key,
  };
}

/** A new root and issuer, made as Sentry makes them; the new root key is returned for the user to keep. */
export function newRoot(
  current: TrustBundle,
  o: { keyType: GeneratedKeyType; namespace: string; trustDomain?: string; now?: Date },
): { pending: PendingBundle; rootKey: string } {
  const root = generateRoot({ keyType: o.keyType, trustDomain: o.trustDomain, namespace: o.namespace, now: o.now });
  const issuer = generateIssuer(root, { keyType: o.keyType, trustDomain: o.trustDomain, namespace: o.namespace, now: o.now });
  return {
    pending: {
      mode: 'replace-root',
      oldRoots: current.rootCert,
      oldIssuerCert: current.issuerCert,
      oldIssuerKey: current.issuerKey,
      newRoot: root.cert,
      newIssuerCert: issuer.cert,
      newIssuerKey: issuer.key,
    },
    rootKey: root.key,
  };
}

/**
 * The user's own root, issuer and key, checked as Sentry would load them (chain, key, validity) before anything
 * changes. The same root as the cluster's renews the issuer; another root is rolled in with the overlap.
 */
export function bringYourOwn(
  current: TrustBundle,
  own: { rootCert: string; issuerCert: string; issuerKey: string },
  o: { now?: Date; trustDomain?: string } = {},
): { pending: PendingBundle; problems: BundleProblem[] } {
  const v = validateTrustBundle(own, { now: o.now, trustDomain: o.trustDomain, warnDays: 0 });
  const failures = v.problems.filter((p) => p.severity === 'failure');
  if (failures.length) return { pending: undefined as never, problems: failures };
  if (v.anchors.length !== 1) throw new RotationInputError(`--root-cert holds ${v.anchors.length} certificates: give the one new root.`);
  const same = parseAnchors(current.rootCert).some((a) => a.x509.fingerprint256 === v.anchors[0]!.x509.fingerprint256);
  return {
    pending: {
      mode: same ? 'renew-issuer' : 'replace-root',
      oldRoots: current.rootCert,
      oldIssuerCert: current.issuerCert,
      oldIssuerKey: current.issuerKey,
      newRoot: own.rootCert,
      newIssuerCert: own.issuerCert,
      newIssuerKey: own.issuerKey,
    },
    problems: [],
  };
}
