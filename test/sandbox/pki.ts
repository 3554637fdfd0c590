// Certificates for the sandbox, made with the openssl CLI (present on every Linux box we use; node:crypto
// cannot issue X.509 certificates). One CA signs everything, as kwokctl does. ECDSA P-256 keys: generated in
// milliseconds (RSA key generation costs up to a second each), and Kubernetes accepts them everywhere, including
// for signing service account tokens (ES256).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  ca: string;
  /** CN=daprup-sandbox-admin, O=system:masters: the apiserver's serving cert and every component's client cert. */
  admin: CertPair;
  /** Signs service account tokens (kube-apiserver, kube-controller-manager). */
  serviceAccountKeyFile: string;
  /** Verifies them: kube-apiserver reads public keys from PKCS#8 EC key files only in their public form. */
  serviceAccountPublicKeyFile: string;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

function genKey(file: string): Promise<void> {
  return openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

export async function createPki(dir: string, serverIps: string[]): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caKeyFile = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const serviceAccountKeyFile = join(dir, 'sa.key');
  const serviceAccountPublicKeyFile = join(dir, 'sa.pub');
  await Promise.all([genKey(caKeyFile), genKey(serviceAccountKeyFile)]);
  await openssl(['pkey', '-in', serviceAccountKeyFile, '-pubout', '-out', serviceAccountPublicKeyFile]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKeyFile,
    '-subj',
    '/CN=daprup-sandbox-ca',
    '-days',
    '3650',
    '-out',
    caFile,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = await readFile(caFile, 'utf8');
  const partial = { dir, caFile, caKeyFile, ca };
  // 10.96.0.1 is the `kubernetes` Service IP of --service-cluster-ip-range=10.96.0.0/16.
  const admin = await issueCert(partial, 'admin', '/O=system:masters/CN=daprup-sandbox-admin', {
    dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ips: ['127.0.0.1', '10.96.0.1', ...serverIps],
  });
  return { ...partial, admin, serviceAccountKeyFile, serviceAccountPublicKeyFile };
}

/** Issues a serving+client certificate signed by the sandbox CA. */
export async function issueCert(
  pki: Pick<Pki, 'dir' | 'caFile' | 'caKeyFile'>,
  name: string,
  subject: string,
  san: { dns?: string[]; ips?: string[] },
): Promise<CertPair> {
  const keyFile = join(pki.dir, `${name}.key`);
  const csrFile = join(pki.dir, `${name}.csr`);
  const certFile = join(pki.dir, `${name}.crt`);
  const extFile = join(pki.dir, `${name}.ext`);
  const altNames = [...(san.dns ?? []).map((d) => `DNS:${d}`), ...(san.ips ?? []).map((ip) => `IP:${ip}`)];
  await writeFile(
    extFile,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${altNames.join(',')}`,
      '',
    ].join('\n'),
  );
  await genKey(keyFile);
  await openssl(['req', '-new', '-key', keyFile, '-subj', subject, '-out', csrFile]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    pki.caFile,
    '-CAkey',
    pki.caKeyFile,
    '-set_serial',
    `0x${randomSerial()}`,
    '-days',
    '3650',
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

function randomSerial(): string {
  // A random positive serial (Go rejects negative ones; -CAcreateserial's shared file would race between issues).
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return bytes.toString('hex');
}
