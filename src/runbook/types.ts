// The upgrade as data: ordered steps with stable ids, each with a probe (already done?), a plan (what it
// would run), an apply and a verify. Plan and upgrade walk the same steps; plan never calls apply.
import type { CheckObjects } from '../dapr/check-objects.js';
import type { ChartMetadata, Values } from '../cluster/helm.js';
import type { Workload } from '../cluster/k8s-types.js';
import type { Tools } from '../cluster/tools.js';
import type { ClusterFacts } from '../dapr/discovery.js';
import type { PolicyOverrides, PolicyVerdict } from '../dapr/version-policy.js';
import type { Journal } from '../state/journal.js';

/**
 * The upgrade runbook's step ids, checked against RUNBOOK (runbook.ts derives STEP_IDS from it) in
 * test/unit/execute.test.ts. The journal keeps any run's step ids as its caller gives them.
 */
export type StepId =
  | 'preflight'
  | 'export-trust-bundle'
  | 'backup'
  | 'protect-scheduler-data'
  | 'check-chart'
  | 'apply-crds'
  | 'recreate-statefulsets'
  | 'helm-upgrade'
  | 'wait-control-plane'
  | 'restart-data-plane'
  | 'upgrade-dapr-shared'
  | 'verify';

export interface UpgradeOptions {
  target: string;
  chart: string;
  release?: string;
  namespace?: string;
  valuesFiles: string[];
  set: string[];
  /** --enable-ha (true), --disable-ha (false), or keep what runs (undefined). */
  ha?: boolean;
  /** Helm-style duration for every wait, e.g. `10m`. */
  timeout: string;
  concurrency: number;
  overrides: PolicyOverrides;
  certWarnDays: number;
  /** --recreate-pods: delete the pods of OnDelete StatefulSets/DaemonSets and bare ReplicaSets one at a time. */
  recreatePods?: boolean;
  /** --recreate-bare-pods: recreate bare Pods from their last-applied manifest. */
  recreateBarePods?: boolean;
  /** --strict: daprd out of reach fails verify. */
  strict?: boolean;
  /** The chart Dapr Shared releases are upgraded with (--shared-chart). */
  sharedChart?: string;
  /** --accept-scheduler-data-loss: go on where scheduler data is lost and no VolumeSnapshotClass can protect it. */
  acceptSchedulerDataLoss?: boolean;
  /**
   * `daprup rollback`: back to this Helm revision's chart and user values (the trust bundle kept, CRDs never
   * downgraded). The target is that revision's Dapr version.
   */
  rollback?: { revision: number; values: Values };
}

export interface CrdChange {
  name: string;
  action: 'create' | 'update' | 'unchanged';
}

/** What the read-only probes found and derived; shared by every step. */
export interface RunContext {
  tools: Tools;
  options: UpgradeOptions;
  facts: ClusterFacts;
  verdict: PolicyVerdict;
  /** Where the certificates, backups and pulled chart of this run live (0700). */
  workDir: string;
  chartDir: string;
  targetChart: ChartMetadata;
  /** The chart version that runs: the release's, or its last deployed revision's when the last one failed. */
  installedChartVersion: string;
  haAfter: boolean;
  /** The user's -f files and --set flags merged: where they set a key, daprup adds nothing of its own. */
  userOverrides: Values;
  /** The user's values carry the trust-bundle PEMs themselves (the same bytes the cluster runs). */
  userTrustBundle: boolean;
  /** `global.tag` moved to the target with its variant kept (`1.17.13-mariner`), when the user had pinned it. */
  tagAfter?: string;
  /** Workloads the upgrade will apply, from `helm upgrade --dry-run=server` (lookups of live objects included). */
  rendered: Workload[];
  /** The user-supplied values the new revision will record (what that dry run reports; PEMs removed). */
  renderedConfig: Values;
  /** The CRD files daprup applies: the target chart's, with the live conversion webhook settings kept. */
  crdFiles: string[];
  crds: CrdChange[];
  /** What the production checks read beyond the facts (undefined when that read failed: checks are advice). */
  checkObjects?: CheckObjects;
  /** Versions the chart repository lists, when prepare searched it (for the supported-minors check). */
  chartVersions?: string[];
  journal?: Journal;
  /** Set when the run crosses several minors: which hop this context is, and whether it restarts the data plane. */
  hop?: HopPosition;
  log: (line: string) => void;
}

/** One hop's place in a run of several (1.15.12 → 1.16.19 → 1.17.13: hop 2 of 2 is 1.16.19 → 1.17.13). */
export interface HopPosition {
  /** 0-based. */
  index: number;
  count: number;
  /** The data plane is restarted after this hop (else it stays within one minor until a later hop restarts it). */
  restartDataPlane: boolean;
  /** The hop after which the data plane is next restarted (its target version), when not this one. */
  nextRestartAt?: string;
}

export interface StepPlan {
  /** What the step will do, in one line; when `skip` is set, why it has nothing to do. */
  summary: string;
  /** Each call the step makes, as the apply makes it: built by the adapter's own argument builder, never by hand. */
  commands: string[][];
  destructive: boolean;
  skip?: string;
  details?: string[];
}

/** A step of any run (an upgrade, a trust-bundle rotation) over its context `C`. */
export interface StepOf<C> {
  id: string;
  title: string;
  plan(ctx: C): Promise<StepPlan>;
  /** The probe: is the work of this step already visible in the cluster? */
  isDone(ctx: C): Promise<boolean>;
  apply(ctx: C, report: (message: string) => void): Promise<void>;
  verify(ctx: C): Promise<void>;
}

/** A step of the upgrade runbook. */
export interface Step extends StepOf<RunContext> {
  id: StepId;
}
