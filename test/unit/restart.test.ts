// The restart engine: a sliding window of `concurrency` rollouts, restarts batched per namespace, every
// restart journaled before and after (a resumed run never restarts a workload twice).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kubectl } from '../../src/cluster/kubectl.js';
import { CommandError, type CommandResult, type CommandRunner } from '../../src/cluster/runner.js';
import type { DataPlaneWorkload } from '../../src/dapr/data-plane.js';
import { restartWorkloads } from '../../src/runbook/restart.js';
import { Journal, type JournalData } from '../../src/state/journal.js';

const workload = (namespace: string, name: string, restartedAt?: string): DataPlaneWorkload => ({
  key: `Deployment/${namespace}/${name}`,
  kind: 'Deployment',
  namespace,
  name,
  pods: 1,
  podsWithSidecar: 1,
  sidecarVersions: ['1.16.19'],
  restartedAt,
  method: 'rollout-restart',
  nativeSidecars: 0,
  podList: [],
});

/**
 * A cluster that records `rollout restart` and `rollout status` calls. A rollout finishes when the test says so
 * (`hold`), else at once; `failStatus` makes one rollout fail.
 */
class RolloutCluster implements CommandRunner {
  readonly events: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly live = new Map<string, string>();
  private readonly held = new Map<string, () => void>();

  constructor(
    private readonly o: { hold?: (ref: string, cluster: RolloutCluster) => Promise<void> | undefined; failStatus?: string } = {},
  ) {}

  async run(_file: string, args: readonly string[]): Promise<CommandResult> {
    const ok = (stdout = '') => ({ stdout, stderr: '', exitCode: 0 });
    const ns = args[args.indexOf('--namespace') + 1]!;
    if (args[0] === 'rollout' && args[1] === 'restart') {
      const refs = args.slice(2, args.indexOf('--namespace'));
      this.events.push(`restart ${ns} ${refs.join(' ')}`);
      this.inFlight += refs.length;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      for (const r of refs) this.live.set(`${ns}/${r}`, 'now');
      return ok();
    }
    if (args[0] === 'rollout' && args[1] === 'status') {
      const r = `${ns}/${args[2]}`;
      await new Promise((resolve) => setImmediate(resolve));
      await this.o.hold?.(r, this);
      this.inFlight--;
      if (r === this.o.failStatus) {
        this.failed = true;
        throw new CommandError('kubectl', args, 1, `error: deployment "${args[2]}" exceeded its progress deadline`);
      }
      this.events.push(`done ${r}`);
      return ok();
    }
    if (args[0] === 'get') {
      const name = `${ns}/${args[1]}/${args[2]}`;
      const at = this.live.get(name);
      return ok(
        JSON.stringify({
          kind: 'Deployment',
          metadata: { name: args[2], namespace: ns },
          spec: { template: { metadata: { annotations: at ? { 'kubectl.kubernetes.io/restartedAt': at } : {} } } },
        }),
      );
    }
    throw new Error(`unexpected call: ${args.join(' ')}`);
  }

  failed = false;

  async whenFailed(): Promise<void> {
    while (!this.failed) await new Promise((resolve) => setImmediate(resolve));
  }

  done(): number {
    return this.events.filter((e) => e.startsWith('done ')).length;
  }

  /** Resolves when `count` rollouts have finished. */
  async whenDone(count: number): Promise<void> {
    while (this.done() < count) await new Promise((resolve) => setImmediate(resolve));
  }
}

async function journalWith(restarts: JournalData['restarts'] = {}): Promise<Journal> {
  const dir = await mkdtemp(join(tmpdir(), 'daprup-restart-test-'));
  return new Journal(join(dir, 'journal.json'), { runId: 'r1', restarts, steps: {} } as unknown as JournalData);
}

const options = (concurrency: number, journal?: Journal) => ({
  concurrency,
  timeout: '1m',
  target: '1.16.19',
  journal,
  report: () => undefined,
});

describe('restartWorkloads', () => {
  it('keeps `concurrency` rollouts going: one slow rollout does not hold the others back', async () => {
    const ws = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => workload('shop', n));
    // a finishes only after every other workload has been restarted and rolled out.
    const cluster = new RolloutCluster({ hold: (r, c) => (r === 'shop/deployment/a' ? c.whenDone(5) : undefined) });
    const out = await restartWorkloads(new Kubectl(cluster, 'kubectl'), ws, options(2));
    expect(out.restarted).toEqual(ws.map((w) => w.key));
    expect(cluster.events.at(-1)).toBe('done shop/deployment/a');
    expect(cluster.maxInFlight).toBe(2);
  });

  it('restarts what starts together with one call per namespace', async () => {
    const ws = [workload('shop', 'a'), workload('shop', 'b'), workload('pay', 'c'), workload('shop', 'd'), workload('pay', 'e')];
    const cluster = new RolloutCluster();
    await restartWorkloads(new Kubectl(cluster, 'kubectl'), ws, options(8));
    expect(cluster.events.filter((e) => e.startsWith('restart')).sort()).toEqual([
      'restart pay deployment/c deployment/e',
      'restart shop deployment/a deployment/b deployment/d',
    ]);
    expect(cluster.done()).toBe(5);
  });

  it('journals each restart and never restarts a workload twice on resume', async () => {
    const ws = [
      workload('shop', 'done'),
      workload('shop', 'ran', 'old'),
      workload('shop', 'crashed-after', 'old'),
      workload('shop', 'crashed-before', 'old'),
      workload('shop', 'new'),
    ];
    const journal = await journalWith({
      'Deployment/shop/done': { status: 'done', before: 'old' },
      'Deployment/shop/ran': { status: 'restarted', before: 'old' },
      'Deployment/shop/crashed-after': { status: 'restarting', before: 'old' },
      'Deployment/shop/crashed-before': { status: 'restarting', before: 'old' },
    });
    const cluster = new RolloutCluster();
    cluster.live.set('shop/deployment/crashed-after', 'newer'); // the restart reached the API server
    cluster.live.set('shop/deployment/crashed-before', 'old');
    const out = await restartWorkloads(new Kubectl(cluster, 'kubectl'), ws, options(8, journal));
    expect(out.skipped).toEqual(['Deployment/shop/done']);
    expect(out.resumed.sort()).toEqual(['Deployment/shop/crashed-after', 'Deployment/shop/ran']);
    expect(out.restarted.sort()).toEqual(['Deployment/shop/crashed-before', 'Deployment/shop/new']);
    expect(cluster.events.filter((e) => e.startsWith('restart'))).toEqual(['restart shop deployment/crashed-before deployment/new']);
    expect(Object.values(journal.data.restarts).map((r) => r.status)).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('stops restarting at the first failed rollout, waits for those started, and reports the failure', async () => {
    const ws = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => workload('shop', n));
    const journal = await journalWith();
    // b and c finish only once a has failed.
    const cluster = new RolloutCluster({
      failStatus: 'shop/deployment/a',
      hold: (r, c) => (r === 'shop/deployment/a' ? undefined : c.whenFailed()),
    });
    await expect(restartWorkloads(new Kubectl(cluster, 'kubectl'), ws, options(3, journal))).rejects.toThrow(
      /Waiting for shop\/deployment\/a failed: .*progress deadline/,
    );
    expect(cluster.events.filter((e) => e.startsWith('restart'))).toEqual(['restart shop deployment/a deployment/b deployment/c']);
    expect(Object.fromEntries(Object.entries(journal.data.restarts).map(([k, r]) => [k, r.status]))).toEqual({
      'Deployment/shop/a': 'restarted',
      'Deployment/shop/b': 'done',
      'Deployment/shop/c': 'done',
    });
  });
});
