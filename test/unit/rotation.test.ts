// Trust-bundle rotation as data: the phases and their bundles, the inputs each mode accepts, and what `certs check`
// says while two roots overlap and when a certificate nears expiry.
import { describe, expect, it } from 'vitest';
import {
  bringYourOwn,
  newRoot,
  renewIssuer,
  rotationPhases,
  RotationInputError,
  sameBundle,
  sentryKeyType,
} from '../../src/dapr/rotation.js';
import { checkTrustBundle, rotationAdvice } from '../../src/dapr/trust-bundle.js';
import { generateTrustBundle, parseAnchors, validateTrustBundle } from '../../src/dapr/x509.js';
import { makeTrustBundle } from '../support/certs.js';

const fps = (pem: string) => parseAnchors(pem).map((c) => c.x509.fingerprint256);
const current = () => {
  const b = generateTrustBundle({ keyType: 'ecdsa-p256' });
  return { bundle: { rootCert: b.rootCert, issuerCert: b.issuerCert, issuerKey: b.issuerKey }, rootKey: b.rootKey };
};

describe('rotation phases', () => {
  it('replaces a root in three phases: both roots with the old issuer, both with the new, the new alone', () => {
    const { bundle } = current();
    const { pending, rootKey } = newRoot(bundle, { keyType: 'ed25519', namespace: 'dapr-system' });
    expect(rootKey).toContain('PRIVATE KEY');
    const phases = rotationPhases(pending);
    expect(phases.map((p) => [p.id, p.restart])).toEqual([
      ['trust-both-roots', 'everything'],
      ['switch-issuer', 'everything'],
      ['drop-old-root', 'everything'],
    ]);
    const [oldRoot] = fps(bundle.rootCert);
    const [nextRoot] = fps(pending.newRoot);
    expect(phases.map((p) => fps(p.bundle.rootCert))).toEqual([[oldRoot, nextRoot], [oldRoot, nextRoot], [nextRoot]]);
    expect(sameBundle(phases[0]!.bundle, { ...bundle, rootCert: phases[0]!.bundle.rootCert })).toBe(true);
    // Every phase's bundle is one Sentry loads: the issuer chains to one of the anchors, the key matches.
    for (const p of phases)
      expect(
        validateTrustBundle(p.bundle).problems.filter((x) => x.severity === 'failure'),
        p.id,
      ).toEqual([]);
    expect(validateTrustBundle(phases[1]!.bundle).signingAnchors).toEqual([1]);
  });

  it('renews the issuer with the root key: one phase, the same root, Sentry only', () => {
    const { bundle, rootKey } = current();
    const pending = renewIssuer(bundle, rootKey, { keyType: 'ecdsa-p256', namespace: 'dapr-system' });
    const phases = rotationPhases(pending);
    expect(phases.map((p) => [p.id, p.restart])).toEqual([['rotate-issuer', 'sentry']]);
    expect(fps(phases[0]!.bundle.rootCert)).toEqual(fps(bundle.rootCert));
    expect(fps(phases[0]!.bundle.issuerCert)).not.toEqual(fps(bundle.issuerCert));
    expect(validateTrustBundle(phases[0]!.bundle).ok).toBe(true);
  });

  it("refuses a root key that is not the running root's, and a cluster already trusting two roots", () => {
    const { bundle } = current();
    expect(() => renewIssuer(bundle, current().rootKey, { keyType: 'ecdsa-p256', namespace: 'dapr-system' })).toThrow(RotationInputError);
    expect(() => renewIssuer(bundle, 'not a key', { keyType: 'ecdsa-p256', namespace: 'dapr-system' })).toThrow('not a PEM private key');
    const two = { ...bundle, rootCert: `${bundle.rootCert}${current().bundle.rootCert}` };
    expect(() => renewIssuer(two, current().rootKey, { keyType: 'ecdsa-p256', namespace: 'dapr-system' })).toThrow('already half done');
  });

  it('brings your own bundle: checked first; the same root renews the issuer, another root overlaps', () => {
    const { bundle, rootKey } = current();
    const sameRoot = renewIssuer(bundle, rootKey, { keyType: 'ecdsa-p256', namespace: 'dapr-system' });
    expect(
      bringYourOwn(bundle, { rootCert: bundle.rootCert, issuerCert: sameRoot.newIssuerCert, issuerKey: sameRoot.newIssuerKey }).pending
        .mode,
    ).toBe('renew-issuer');
    const other = makeTrustBundle();
    expect(bringYourOwn(bundle, other).pending.mode).toBe('replace-root');
    const expired = makeTrustBundle({ issuerNotBeforeDaysAgo: 400, issuerValidDays: 365 });
    expect(bringYourOwn(bundle, expired).problems.map((p) => p.code)).toContain('expired');
    const mismatch = makeTrustBundle({ issuerKeyMismatch: true });
    expect(bringYourOwn(bundle, mismatch).problems.map((p) => p.code)).toContain('key-mismatch');
  });

  it('makes keys as the running Dapr does: Ed25519 from 1.18, ECDSA P-256 before', () => {
    expect(sentryKeyType('1.17.13')).toBe('ecdsa-p256');
    expect(sentryKeyType('1.18.3')).toBe('ed25519');
  });
});

describe('certs check during and around a rotation', () => {
  it('accepts an issuer signed by the second of two trusted roots', () => {
    const { bundle } = current();
    const { pending } = newRoot(bundle, { keyType: 'ecdsa-p256', namespace: 'dapr-system' });
    const phase2 = rotationPhases(pending)[1]!.bundle;
    const report = checkTrustBundle({ ...phase2, configMapRootCert: phase2.rootCert });
    expect(report.ok).toBe(true);
    expect(report.roots).toBe(2);
  });

  it('says when to rotate and with which command', () => {
    const soon = makeTrustBundle({ rootNotBeforeDaysAgo: 350 });
    expect(checkTrustBundle(soon, { warnDays: 30 }).rotate).toBe('daprup certs rotate');
    const issuerSoon = makeTrustBundle({ issuerNotBeforeDaysAgo: 350, rootValidDays: 3650 });
    expect(checkTrustBundle(issuerSoon, { warnDays: 30 }).rotate).toMatch(/^daprup certs rotate --root-key/);
    expect(checkTrustBundle(makeTrustBundle(), { warnDays: 30 }).rotate).toBeUndefined();
    expect(rotationAdvice({ checks: [] })).toBeUndefined();
  });
});
