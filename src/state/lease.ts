// One mutating run per Dapr release, cluster-wide: a coordination.k8s.io/v1 Lease in the Dapr namespace,
// renewed while the run lives. A second run is refused with the holder, run id and age; a Lease whose holder
// stopped renewing past its duration (or died on this very machine) is taken over, and says so.
import { hostname } from 'node:os';
import type { K8sObject } from '../cluster/k8s-types.js';
import type { Kubectl } from '../cluster/kubectl.js';
import { explain } from '../dapr/error-hints.js';
import { refusal } from '../errors.js';
import { processAlive } from './process.js';

export const LEASE_DURATION_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;

interface Lease extends K8sObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

const RUN_ID = 'daprup.io/run-id';
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/** A holder `host/pid` on this host whose process is gone cannot renew: no need to wait for expiry. */
function holderDiedHere(holder: string): boolean {
  const [host, pid] = holder.split('/');
  return host === hostname() && !!pid && !processAlive(Number(pid));
}

export class RunLease {
  private timer?: NodeJS.Timeout;
  private current: Lease;
  /** Set when a renewal found the Lease taken by someone else: the run must stop. */
  lost = false;

  private constructor(
    private readonly kubectl: Kubectl,
    lease: Lease,
    readonly tookOver?: string,
  ) {
    this.current = lease;
  }

  static leaseName(release: string): string {
    return `daprup-${release}`;
  }

  static async acquire(
    kubectl: Kubectl,
    o: { namespace: string; release: string; runId: string; log: (line: string) => void },
  ): Promise<RunLease> {
    const name = RunLease.leaseName(o.release);
    const holder = `${hostname()}/${process.pid}`;
    const now = microTime();
    const fresh: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': 'daprup' }, annotations: { [RUN_ID]: o.runId } },
      spec: { holderIdentity: holder, leaseDurationSeconds: LEASE_DURATION_SECONDS, acquireTime: now, renewTime: now },
    };
    const existing = await kubectl.getOptional<Lease>('leases.coordination.k8s.io', name, o.namespace);
    if (!existing) {
      try {
        return new RunLease(kubectl, await kubectl.create<Lease>(fresh));
      } catch (e) {
        if (!/AlreadyExists/.test(String((e as { stderr?: string }).stderr)))
          throw explain(e, `Creating the run Lease ${name} in ${o.namespace}`);
        throw refusal(
          `Another daprup run took the lease for release ${o.release} in ${o.namespace} a moment ago.`,
          'Wait for it to finish (`daprup status` shows the run).',
        );
      }
    }
    const prev = existing.spec.holderIdentity ?? '';
    const renewed = Date.parse(existing.spec.renewTime ?? existing.spec.acquireTime ?? '') || 0;
    const ageSeconds = Math.round((Date.now() - renewed) / 1000);
    const expired = ageSeconds > (existing.spec.leaseDurationSeconds ?? LEASE_DURATION_SECONDS);
    const prevRun = existing.metadata.annotations?.[RUN_ID] ?? 'unknown';
    if (prev && !expired && !holderDiedHere(prev)) {
      throw refusal(
        `Another daprup run holds the lease for release ${o.release} in ${o.namespace}: ${prev}, run ${prevRun}, renewed ${ageSeconds}s ago.`,
        `Wait for it to finish. If it died, its lease expires ${LEASE_DURATION_SECONDS}s after its last renewal and the next run takes it over.`,
      );
    }
    const tookOver = prev ? `Took over the lease of run ${prevRun} (${prev}), last renewed ${ageSeconds}s ago.` : undefined;
    if (tookOver) o.log(tookOver);
    try {
      const lease = await kubectl.replace<Lease>({
        ...fresh,
        metadata: { ...fresh.metadata, resourceVersion: existing.metadata.resourceVersion },
      });
      return new RunLease(kubectl, lease, tookOver);
    } catch (e) {
      if (!/Conflict|the object has been modified/i.test(String((e as { stderr?: string }).stderr)))
        throw explain(e, `Taking over the run Lease ${name} in ${o.namespace}`);
      throw refusal(
        `Another daprup run took the lease for release ${o.release} in ${o.namespace} a moment ago.`,
        'Wait for it to finish (`daprup status` shows the run).',
      );
    }
  }

  /** Renews in the background until released; a lost Lease is noticed at the next step. */
  startRenewing(): void {
    this.timer = setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.timer.unref();
  }

  private renewing = false;

  private async renew(): Promise<void> {
    // One renewal at a time: during an API outage they would pile up and conflict with each other afterwards.
    if (this.renewing) return;
    this.renewing = true;
    try {
      this.current = await this.kubectl.replace<Lease>({ ...this.current, spec: { ...this.current.spec, renewTime: microTime() } });
    } catch (e) {
      if (!/Conflict|the object has been modified|not found/i.test(String((e as { stderr?: string }).stderr ?? e))) return; // a blip: next tick
      // A conflict is ours to lose only if the Lease now names another holder.
      const m = this.current.metadata;
      const live = await this.kubectl.getOptional<Lease>('leases.coordination.k8s.io', m.name, m.namespace).catch(() => undefined);
      if (live && live.spec.holderIdentity === this.current.spec.holderIdentity) this.current = live;
      else this.lost = true;
    } finally {
      this.renewing = false;
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.lost) return;
    const m = this.current.metadata;
    await this.kubectl.deleteObject('leases.coordination.k8s.io', m.name, m.namespace ?? '').catch(() => undefined);
  }
}
