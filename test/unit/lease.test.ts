// The run Lease over a fake API server: one mutating run per release, cluster-wide. Time is a fake clock: ages
// and renewals are computed from it, nothing sleeps.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { CommandError } from '../../src/cluster/runner.js';
import { ExitCode } from '../../src/errors.js';
import { RunLease } from '../../src/state/lease.js';
import { FakeRunner } from './fake-runner.js';

const NOW = Date.parse('2025-11-20T10:00:00.000Z');
/** A MicroTime as the API server writes it, `seconds` before NOW. */
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString().replace(/Z$/, '000Z');
const ME = `${hostname()}/${process.pid}`;
const GET_LEASE = 'kubectl get leases.coordination.k8s.io daprup-dapr -o json --ignore-not-found --namespace dapr-system';
const DELETE_LEASE = 'kubectl delete leases.coordination.k8s.io daprup-dapr --namespace dapr-system --ignore-not-found';

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

const heldBy = (holder: string, renewedSecondsAgo: number): LeaseObject => ({
  metadata: { name: 'daprup-dapr', namespace: 'dapr-system', resourceVersion: '41', annotations: { 'daprup.io/run-id': 'run-old' } },
  spec: { holderIdentity: holder, leaseDurationSeconds: 30, acquireTime: ago(3600), renewTime: ago(renewedSecondsAgo) },
});

/** An API server holding at most one Lease; create and replace answer with what they were sent. */
function fakeApi(existing?: LeaseObject) {
  const runner = new FakeRunner();
  const sent = () => runner.calls.at(-1)!.input!;
  runner
    .on('kubectl', ['get', 'leases.coordination.k8s.io'], () => (existing ? JSON.stringify(existing) : ''))
    .on('kubectl', ['create', '-f', '-'], () => sent())
    .on('kubectl', ['replace', '-f', '-'], () => sent())
    .on('kubectl', ['delete', 'leases.coordination.k8s.io'], '');
  const written = (verb: 'create' | 'replace') =>
    runner.calls.filter((c) => c.args[0] === verb).map((c) => JSON.parse(c.input!) as LeaseObject);
  return { runner, kubectl: new Kubectl(runner, 'kubectl'), written };
}

const acquire = (kubectl: Kubectl, log: (line: string) => void = () => undefined) =>
  RunLease.acquire(kubectl, { namespace: 'dapr-system', release: 'dapr', runId: 'run-new', log });

describe('RunLease', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date', 'setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates the Lease when there is none, held by this process for this run, and deletes it on release', async () => {
    const api = fakeApi();
    const lease = await acquire(api.kubectl);
    expect(api.runner.commandLines()).toEqual([GET_LEASE, 'kubectl create -f - -o json']);
    const [created] = api.written('create');
    expect(created).toMatchObject({
      metadata: { name: 'daprup-dapr', namespace: 'dapr-system', annotations: { 'daprup.io/run-id': 'run-new' } },
      spec: { holderIdentity: ME, leaseDurationSeconds: 30, acquireTime: ago(0), renewTime: ago(0) },
    });
    expect(lease.tookOver).toBeUndefined();
    await lease.release();
    expect(api.runner.commandLines().at(-1)).toBe(DELETE_LEASE);
  });

  it('refuses while another run renews it, naming its holder, run id and age, and changes nothing', async () => {
    const api = fakeApi(heldBy('build-agent-7/4242', 12));
    const refused = acquire(api.kubectl);
    await expect(refused).rejects.toThrow(
      'Another daprup run holds the lease for release dapr in dapr-system: build-agent-7/4242, run run-old, renewed 12s ago.',
    );
    await expect(refused).rejects.toMatchObject({ exitCode: ExitCode.refused });
    expect(api.runner.commandLines()).toEqual([GET_LEASE]);
  });

  it('takes over a Lease not renewed for longer than its duration, and says so', async () => {
    const api = fakeApi(heldBy('build-agent-7/4242', 45));
    const log: string[] = [];
    const lease = await acquire(api.kubectl, (line) => log.push(line));
    const said = 'Took over the lease of run run-old (build-agent-7/4242), last renewed 45s ago.';
    expect(log).toEqual([said]);
    expect(lease.tookOver).toBe(said);
    // Replaced at the version read: a run that renewed meanwhile makes this fail instead of losing its Lease.
    const [replaced] = api.written('replace');
    expect(replaced).toMatchObject({
      metadata: { resourceVersion: '41', annotations: { 'daprup.io/run-id': 'run-new' } },
      spec: { holderIdentity: ME, renewTime: ago(0) },
    });
  });

  it('takes over at once a Lease whose holder died on this machine', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const api = fakeApi(heldBy(`${hostname()}/${dead}`, 2));
    const log: string[] = [];
    await acquire(api.kubectl, (line) => log.push(line));
    expect(log).toEqual([`Took over the lease of run run-old (${hostname()}/${dead}), last renewed 2s ago.`]);
    expect(api.written('replace')).toHaveLength(1);
  });

  it('renews every 10 seconds; a renewal that finds another holder marks the Lease lost, and release leaves it to that holder', async () => {
    const api = fakeApi();
    const lease = await acquire(api.kubectl);
    lease.startRenewing();
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(api.written('replace')).toHaveLength(1));
    expect(api.written('replace')[0]!.spec.renewTime).toBe(new Date(NOW + 10_000).toISOString().replace(/Z$/, '000Z'));
    expect(lease.lost).toBe(false);

    // Another run took it over (its holder expired it while this one was cut off from the API server).
    api.runner
      .on(
        'kubectl',
        ['replace', '-f', '-'],
        (args) =>
          new CommandError(
            'kubectl',
            args,
            1,
            'Error from server (Conflict): Operation cannot be fulfilled on leases.coordination.k8s.io "daprup-dapr": the object has been modified',
          ),
      )
      .on('kubectl', ['get', 'leases.coordination.k8s.io'], JSON.stringify(heldBy('build-agent-7/4242', 1)));
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(lease.lost).toBe(true));
    await lease.release();
    expect(api.runner.commandLines()).not.toContain(DELETE_LEASE);
  });

  it('keeps the Lease when a renewal conflicts with its own earlier write, or the API server is briefly away', async () => {
    const api = fakeApi();
    const lease = await acquire(api.kubectl);
    lease.startRenewing();
    api.runner.on(
      'kubectl',
      ['replace', '-f', '-'],
      (args) => new CommandError('kubectl', args, 1, 'The connection to the server was refused - did you specify the right host or port?'),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(api.written('replace')).toHaveLength(1));

    api.runner
      .on(
        'kubectl',
        ['replace', '-f', '-'],
        (args) => new CommandError('kubectl', args, 1, 'Error from server (Conflict): the object has been modified'),
      )
      .on('kubectl', ['get', 'leases.coordination.k8s.io'], JSON.stringify(heldBy(ME, 5)));
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(api.runner.commandLines().filter((l) => l === GET_LEASE)).toHaveLength(2));
    expect(lease.lost).toBe(false);
    await lease.release();
    expect(api.runner.commandLines().at(-1)).toBe(DELETE_LEASE);
  });
});
