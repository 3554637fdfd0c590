// Security checks: mTLS, the trust bundle (reusing trust-bundle.ts), plaintext secrets in Components, and
// Components without scopes. Secret values are never read into a finding: only metadata item names are.
import { SYSTEM_CONFIGURATION, TRUST_BUNDLE } from '../chart.js';
import { checkTrustBundle, type BundleCheck } from '../trust-bundle.js';
import { discoverDataPlane } from '../data-plane.js';
import { sentryOnPort80, sharedDaprd } from '../dapr-shared.js';
import { skew } from '../skew.js';
import { affected, daprupUpgrade, listed, ok, type CheckInput, type CheckResult, type DaprComponent } from './types.js';

const GROUP = 'security';

export function checkMtls(input: CheckInput): CheckResult {
  const id = 'mtls';
  if (input.mtlsEnabled === true) return ok(id, GROUP, `mTLS is enabled (Configuration ${SYSTEM_CONFIGURATION}).`);
  const fix = `${daprupUpgrade(input, '--set global.mtls.enabled=true')} (the chart writes it into Configuration ${SYSTEM_CONFIGURATION}), then restart the Dapr-enabled workloads (daprup restart --all).`;
  if (input.mtlsEnabled === false) {
    return {
      id,
      group: GROUP,
      severity: 'failure',
      finding: `mTLS is disabled in Configuration ${SYSTEM_CONFIGURATION}.`,
      why: 'Sidecars then talk to each other and to the control plane in plaintext and without workload identity: anyone on the network can read and impersonate services.',
      fix,
    };
  }
  return {
    id,
    group: GROUP,
    severity: 'warning',
    finding: `Configuration ${SYSTEM_CONFIGURATION} was not found in ${input.release.namespace}: mTLS settings are unknown.`,
    why: `Sentry and every sidecar read mTLS settings from ${SYSTEM_CONFIGURATION}; without it they fall back to defaults nobody chose.`,
    fix,
  };
}

const BUNDLE_ADVICE: Record<BundleCheck['id'], { why: string; fix: (ns: string) => string }> = {
  parse: {
    why: 'Sentry cannot sign workload certificates from a bundle it cannot read; it may generate a new CA, which breaks every running sidecar.',
    fix: (ns) =>
      `Restore Secret ${TRUST_BUNDLE} in ${ns} from your backup (daprup certs export output), or provide new PEMs with --set-file dapr_sentry.tls.{root.certPEM,issuer.certPEM,issuer.keyPEM}.`,
  },
  'issuer-signed-by-root': {
    why: 'Sidecars trust the root; certificates from an issuer the root did not sign are rejected, so service invocation fails.',
    fix: () =>
      'Issue a new issuer certificate from the root (dapr mtls renew-certificate, or --set-file dapr_sentry.tls.issuer.{certPEM,keyPEM}), then daprup restart --all.',
  },
  'issuer-key-matches': {
    why: 'Sentry signs with the issuer key: a key that does not match its certificate makes every signed workload certificate invalid.',
    fix: () => 'Put the matching issuer.key back (daprup certs check --dir DIR verifies a set of files before you apply it).',
  },
  'root-expiry': {
    why: 'When the root expires every sidecar and control-plane connection fails with "x509: certificate has expired or is not yet valid".',
    fix: () =>
      'Rotate before it expires, with no downtime: daprup certs rotate (a new root rolled in over three phases; daprup certs rotate --dry-run shows them).',
  },
  'issuer-expiry': {
    why: 'When the issuer expires Sentry cannot issue workload certificates: new and restarting pods cannot join the mesh.',
    fix: () =>
      'Renew the issuer under the same root: daprup certs rotate --root-key <root key file> (only Sentry restarts); without the root key, daprup certs rotate replaces the root too.',
  },
  'roots-equal': {
    why: 'Sentry compares them at start and silently generates a new CA when they differ: every sidecar must then restart (dapr/docs#5248).',
    fix: (ns) =>
      `Make ConfigMap ${TRUST_BUNDLE} in ${ns} hold the Secret's ca.crt again (daprup upgrade passes the Secret's bundle with --set-file, which rewrites both).`,
  },
};

export function checkTrustBundleHealth(input: CheckInput): CheckResult[] {
  const ns = input.release.namespace;
  if (!input.trustBundle) {
    return [
      {
        id: 'trust-bundle',
        group: GROUP,
        severity: 'failure',
        finding: `Secret ${TRUST_BUNDLE} is missing or empty in ${ns}.`,
        why: 'Without it Sentry generates a new CA at its next start and every running sidecar loses trust.',
        fix: BUNDLE_ADVICE.parse.fix(ns),
      },
    ];
  }
  const report = checkTrustBundle(input.trustBundle, { warnDays: input.certWarnDays, now: input.now });
  return report.checks.map((c) => {
    const id = `trust-bundle-${c.id}`;
    if (c.severity === 'ok') return ok(id, GROUP, c.message);
    const advice = BUNDLE_ADVICE[c.id];
    return { id, group: GROUP, severity: c.severity, finding: c.message, why: advice.why, fix: advice.fix(ns) };
  });
}

/** Names of metadata items that hold credentials in Dapr components (case-insensitive). */
const SECRET_NAME = /password|passwd|token|secret|connectionstring|credential|key(?![a-z])/i;
/** Item names that match SECRET_NAME but hold no secret. */
const NOT_SECRET = new Set(['partitionkey', 'routingkey', 'keyprefix', 'secretstore', 'usetokenprovider', 'tokenexpiry']);

export const looksSecret = (itemName: string) => SECRET_NAME.test(itemName) && !NOT_SECRET.has(itemName.toLowerCase());

const componentName = (c: DaprComponent) => `${c.metadata.namespace}/${c.metadata.name}`;

/** Metadata items with a secret-looking name and a plain value (never the value itself). */
function plaintextSecrets(c: DaprComponent): string[] {
  return (c.spec?.metadata ?? [])
    .filter((m) => looksSecret(m.name) && !m.secretKeyRef && m.value !== undefined && m.value !== null && String(m.value) !== '')
    .map((m) => m.name);
}

export function checkComponentSecrets(input: CheckInput): CheckResult {
  const id = 'component-secrets';
  if (input.unreadable?.includes('components'))
    return { ...ok(id, GROUP, 'Components could not be read (permission?): not checked.'), severity: 'info' };
  const offenders = input.components.flatMap((c) => {
    const items = plaintextSecrets(c);
    return items.length ? [`${componentName(c)} (${items.join(', ')})`] : [];
  });
  if (!offenders.length)
    return ok(id, GROUP, `No plaintext secrets in ${input.components.length} Component${input.components.length === 1 ? '' : 's'}.`);
  return {
    id,
    group: GROUP,
    severity: 'failure',
    finding: `Plaintext secrets in Component metadata: ${listed(offenders)}.`,
    why: 'A plain value is stored unencrypted in the Component object, readable by anyone who may get Components, and lands in every backup, GitOps repository and `kubectl get -o yaml`.',
    fix: 'Move each value into a Kubernetes Secret (kubectl create secret generic <secret> --from-literal=<key>=...) and replace `value:` by `secretKeyRef: {name: <secret>, key: <key>}` in the item (auth.secretStore names another secret store).',
    affected: affected(offenders),
  };
}

export function checkComponentScopes(input: CheckInput): CheckResult {
  const id = 'component-scopes';
  if (input.unreadable?.includes('components')) return { ...ok(id, GROUP, 'Components could not be read: not checked.'), severity: 'info' };
  const unscoped = input.components.filter((c) => !c.scopes?.length).map(componentName);
  if (!unscoped.length)
    return ok(id, GROUP, input.components.length ? 'Every Component is scoped to the apps that use it.' : 'No Components.');
  return {
    id,
    group: GROUP,
    severity: 'info',
    finding: `${unscoped.length} Component${unscoped.length === 1 ? ' has' : 's have'} no scopes (loaded by every app in the namespace): ${listed(unscoped)}.`,
    why: 'Every sidecar in the namespace loads an unscoped component and may use its credentials.',
    fix: 'List the app ids that need it: scopes: [<app-id>, ...] at the top level of the Component.',
    affected: affected(unscoped),
  };
}

/**
 * Dapr Shared releases: the chart's default Sentry address ends in :80, which Dapr 1.14+ no longer serves (443
 * only), and its default leaves mTLS off (values shared.controlPlane.sentry.port, shared.daprd.mtls.enabled).
 */
export function checkDaprShared(input: CheckInput): CheckResult | undefined {
  const id = 'dapr-shared';
  const releases = sharedDaprd(input.sharedReleases ?? [], discoverDataPlane(input));
  if (!releases.length) return undefined;
  const port80 = releases.filter((r) => sentryOnPort80(r.sentryAddress)).map((r) => `${r.namespace}/${r.name} (${r.sentryAddress})`);
  const plain = releases.filter((r) => r.mtls === false).map((r) => `${r.namespace}/${r.name}`);
  const versions = listed(
    releases.map((r) => `${r.namespace}/${r.name} daprd ${r.tag ?? '?'} (skew ${skew(r.version, input.release.version)})`),
  );
  if (!port80.length && !plain.length) return ok(id, GROUP, `Dapr Shared: ${versions}; Sentry on 443 and mTLS on.`);
  const parts = [
    port80.length ? `Sentry address on port 80: ${listed(port80)}` : '',
    plain.length ? `mTLS off: ${listed(plain)}` : '',
  ].filter(Boolean);
  return {
    id,
    group: GROUP,
    severity: port80.length ? 'failure' : 'warning',
    finding: `Dapr Shared (${versions}): ${parts.join('; ')}.`,
    why: 'Dapr 1.14 and later serve Sentry on port 443 only: a daprd pointed at :80 gets no workload certificate. Without mTLS, traffic between this daprd and other sidecars is neither encrypted nor authenticated.',
    fix: `helm upgrade <release> ${'oci://registry-1.docker.io/daprio/dapr-shared-chart'} --reuse-values --set shared.controlPlane.sentry.port=443 --set shared.daprd.mtls.enabled=true`,
    affected: affected([...port80, ...plain]),
  };
}

export function securityChecks(input: CheckInput): CheckResult[] {
  const shared = checkDaprShared(input);
  return [
    checkMtls(input),
    ...checkTrustBundleHealth(input),
    checkComponentSecrets(input),
    checkComponentScopes(input),
    ...(shared ? [shared] : []),
  ];
}
