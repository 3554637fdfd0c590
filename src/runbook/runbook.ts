// The documented Dapr upgrade path, in order. Step ids are stable: run journals depend on them.
import type { Step } from './types.js';
import { preflight } from './steps/preflight.js';
import { exportTrustBundle } from './steps/trust-bundle.js';
import { backup } from './steps/backup.js';
import { protectSchedulerData } from './steps/scheduler-data.js';
import { applyCrds, checkChart } from './steps/chart.js';
import { recreateStatefulSets } from './steps/statefulsets.js';
import { helmUpgrade } from './steps/helm-upgrade.js';
import { waitControlPlane } from './steps/control-plane.js';
import { restartDataPlane, verify } from './steps/data-plane.js';
import { upgradeDaprShared } from './steps/dapr-shared.js';

export const RUNBOOK: readonly Step[] = [
  preflight,
  exportTrustBundle,
  backup,
  protectSchedulerData,
  checkChart,
  applyCrds,
  recreateStatefulSets,
  helmUpgrade,
  waitControlPlane,
  restartDataPlane,
  upgradeDaprShared,
  verify,
];

/** The runbook's step ids in order: what an upgrade's journal records (JournalStore takes them from here). */
export const STEP_IDS: readonly Step['id'][] = RUNBOOK.map((s) => s.id);
