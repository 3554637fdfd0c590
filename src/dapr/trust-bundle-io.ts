// The trust bundle where it lives: read from the cluster (Secret and ConfigMap dapr-trust-bundle), written to
// disk as `dapr mtls export` writes it. Parsing and checks are in trust-bundle.ts.
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { ConfigMap, Secret } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import { TRUST_BUNDLE } from './chart.js';
import { trustBundleFromCluster, type TrustBundle } from './trust-bundle.js';

/** The trust bundle in the Dapr namespace (both objects in one call), or undefined when the Secret is missing. */
export async function readTrustBundle(kubectl: Kubectl, namespace: string): Promise<TrustBundle | undefined> {
  const objs = await kubectl.list<Secret | ConfigMap>([`secret/${TRUST_BUNDLE}`, `configmap/${TRUST_BUNDLE}`], {
    namespace,
    ignoreNotFound: true,
  });
  return trustBundleFromCluster(
    objs.find((o) => o.kind === 'Secret') as Secret | undefined,
    objs.find((o) => o.kind === 'ConfigMap') as ConfigMap | undefined,
  );
}

/** Writes the three PEMs as `dapr mtls export` does: 0600 files in a 0700 directory. */
export async function writeBundleFiles(dir: string, b: TrustBundle): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFileAtomic(join(dir, 'ca.crt'), b.rootCert, { mode: 0o600 });
  await writeFileAtomic(join(dir, 'issuer.crt'), b.issuerCert, { mode: 0o600 });
  await writeFileAtomic(join(dir, 'issuer.key'), b.issuerKey, { mode: 0o600 });
}
