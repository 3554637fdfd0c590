import { describe, expect, it } from 'vitest';
import { bundleChecksums, checkTrustBundle, trustBundleFromCluster } from '../../src/dapr/trust-bundle.js';
import { makeTrustBundle } from '../support/certs.js';

const bundleOf = (p: ReturnType<typeof makeTrustBundle>) => ({
  rootCert: p.rootCert,
  issuerCert: p.issuerCert,
  issuerKey: p.issuerKey,
  configMapRootCert: p.rootCert,
});
const severity = (r: ReturnType<typeof checkTrustBundle>, id: string) => r.checks.find((c) => c.id === id)?.severity;

describe('trust bundle checks', () => {
  it('accepts a good bundle', () => {
    const r = checkTrustBundle(bundleOf(makeTrustBundle()));
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.severity)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.root!.daysLeft).toBeGreaterThan(360);
  });

  it('fails an issuer not signed by the root', () => {
    const r = checkTrustBundle(bundleOf(makeTrustBundle({ issuerSignedBy: 'other-root' })));
    expect(r.ok).toBe(false);
    expect(severity(r, 'issuer-signed-by-root')).toBe('failure');
  });

  it('fails an issuer key that does not match the certificate', () => {
    const r = checkTrustBundle(bundleOf(makeTrustBundle({ issuerKeyMismatch: true })));
    expect(severity(r, 'issuer-key-matches')).toBe('failure');
  });

  it('fails an expired root and warns inside the threshold', () => {
    expect(severity(checkTrustBundle(bundleOf(makeTrustBundle({ rootValidDays: 10, rootNotBeforeDaysAgo: 20 }))), 'root-expiry')).toBe(
      'failure',
    );
    const soon = checkTrustBundle(bundleOf(makeTrustBundle({ issuerValidDays: 10 })), { warnDays: 30 });
    expect(severity(soon, 'issuer-expiry')).toBe('warning');
    expect(soon.ok).toBe(true);
  });

  it('fails when the ConfigMap root differs from the Secret root', () => {
    const a = makeTrustBundle();
    const b = makeTrustBundle();
    const r = checkTrustBundle({ ...bundleOf(a), configMapRootCert: b.rootCert });
    expect(severity(r, 'roots-equal')).toBe('failure');
  });

  it('reads the Secret and ConfigMap as the chart stores them, and checksums without keeping the key', () => {
    const p = makeTrustBundle();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const bundle = trustBundleFromCluster(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dapr-trust-bundle' },
        data: { 'ca.crt': b64(p.rootCert), 'issuer.crt': b64(p.issuerCert), 'issuer.key': b64(p.issuerKey) },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dapr-trust-bundle' }, data: { 'ca.crt': p.rootCert } },
    )!;
    expect(checkTrustBundle(bundle).ok).toBe(true);
    const sums = JSON.stringify(bundleChecksums(bundle));
    expect(sums).not.toContain('PRIVATE');
    expect(Object.values(bundleChecksums(bundle))).toHaveLength(3);
  });
});
