// Bad input gets one clear sentence, a hint and a documented exit code, before daprup touches a cluster.
// Real helm and kubectl binaries; no cluster is needed for any of these.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { daprup } from '../support/cli.js';
import { HELM_FLAVOURS } from '../support/tools.js';

const [{ helm, kubectl }] = HELM_FLAVOURS as [(typeof HELM_FLAVOURS)[number]];
let dir: string;
let unreachable: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daprup-cli-'));
  unreachable = join(dir, 'kubeconfig');
  // A kubeconfig pointing at a closed loopback port: nothing listens there.
  await writeFile(
    unreachable,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`,
  );
});

const base = (o: { helm?: string; kubectl?: string } = {}) => [
  '--helm',
  o.helm ?? helm,
  '--kubectl',
  o.kubectl ?? kubectl,
  '--kubeconfig',
  unreachable,
  '--state-dir',
  join(dir, 'state'),
];

describe('bad input', () => {
  it.each([
    ['a malformed version', ['plan', '--to', '1.16'], 2, 'is not a Dapr version'],
    ['a word for a version', ['plan', '--to', 'latest'], 2, 'is not a Dapr version'],
    [
      'a namespace with shell metacharacters',
      ['plan', '--to', '1.16.19', '--dapr-namespace', 'dapr;rm -rf /'],
      2,
      'not a valid Kubernetes name',
    ],
    ['an invalid --set', ['plan', '--to', '1.16.19', '--set', 'novalue'], 2, 'is not of the form key=value'],
    ['a values file that does not exist', ['plan', '--to', '1.16.19', '-f', '/nonexistent/values.yaml'], 2, 'does not exist'],
    ['--concurrency 0', ['plan', '--to', '1.16.19', '--concurrency', '0'], 2, 'out of range'],
    ['a bad timeout', ['plan', '--to', '1.16.19', '--timeout', 'soon'], 2, 'is not a duration'],
    ['an unknown flag', ['plan', '--to', '1.16.19', '--frobnicate'], 2, 'Nonexistent flag'],
    ['both HA flags', ['plan', '--to', '1.16.19', '--enable-ha', '--disable-ha'], 2, 'cannot also be provided'],
    ['an unattended upgrade without --yes', ['upgrade', '--to', '1.16.19'], 4, 'nobody is here to confirm'],
    ['an unattended restart without --yes', ['restart'], 4, 'nobody is here'],
  ])('%s', async (_name, args, code, sentence) => {
    const r = await daprup([...args, ...base()]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(sentence);
    expect(r.stderr).toMatch(/\nHint: \S/);
  });

  it('helm missing', async () => {
    const r = await daprup(['plan', '--to', '1.16.19', ...base({ helm: '/nonexistent/helm' })]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('helm was not found');
    expect(r.stderr).toContain('Hint: Install helm, or pass --helm');
  });

  it('kubectl missing', async () => {
    const r = await daprup(['status', ...base({ kubectl: '/nonexistent/kubectl' })]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('kubectl was not found');
  });

  it('cluster unreachable', async () => {
    const r = await daprup(['status', ...base()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Reaching the cluster failed');
    expect(r.stderr).toMatch(/Hint: .*(not reachable|kube-context)/);
  });

  it('--json errors are machine-readable too', async () => {
    const r = await daprup(['plan', '--to', 'x.y', '--json', ...base()]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.exitCode).toBe(2);
  });

  it('plan --detailed-exitcode turns any error into 1', async () => {
    const r = await daprup(['plan', '--to', '1.16', '--detailed-exitcode', ...base()]);
    expect(r.code).toBe(1);
  });

  it('--help lists every command with examples', async () => {
    const root = await daprup(['--help']);
    for (const c of ['plan', 'upgrade', 'status', 'restart', 'certs export', 'certs check']) expect(root.stdout).toContain(c);
    for (const c of ['plan', 'upgrade', 'status', 'restart', 'certs export', 'certs check']) {
      const h = await daprup([...c.split(' '), '--help']);
      expect(h.stdout).toContain('EXAMPLES');
    }
  });
});
