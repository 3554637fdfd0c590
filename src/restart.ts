// `daprup restart`: the data-plane step on its own, for workloads whose sidecar differs from the control plane.
import { findRelease, type Tools } from './dapr/discovery.js';
import { DaprupError, ExitCode } from './errors.js';
import { restartWorkloads, type RestartOutcome } from './runbook/restart.js';
import { judgeDataPlane, liveDataPlane, type WorkloadVerdict } from './runbook/steps/data-plane.js';
import type { Prompter } from './ui/prompter.js';

export interface RestartCommandOptions {
  release?: string;
  daprNamespace?: string;
  namespace?: string;
  selector?: string;
  all: boolean;
  concurrency: number;
  timeout: string;
  prompter: Prompter;
  report: (line: string) => void;
}

export interface RestartReport {
  controlPlaneVersion: string;
  selected: WorkloadVerdict[];
  notes: WorkloadVerdict[];
  outcome?: RestartOutcome;
}

export async function restartCommand(tools: Tools, o: RestartCommandOptions): Promise<RestartReport> {
  const release = await findRelease(tools, { release: o.release, namespace: o.daprNamespace });
  const version = release.version;
  const live = judgeDataPlane(await liveDataPlane(tools.kubectl, release.namespace, o.namespace, o.selector), version);
  const selected = live.filter((w) => (o.all ? w.pods > 0 && w.podsWithSidecar > 0 : w.decision === 'restart'));
  const notes = live.filter((w) => w.decision === 'pinned' || w.decision === 'no-sidecar');
  if (!selected.length) return { controlPlaneVersion: version, selected, notes };
  if (!(await o.prompter.confirm(`Restart ${selected.length} Dapr-enabled workloads (${selected.slice(0, 3).map((w) => w.key).join(', ')}${selected.length > 3 ? ', …' : ''})?`))) {
    throw new DaprupError('Restart not confirmed; nothing was changed.', 'Run again and confirm, or pass --yes.', ExitCode.confirmationNeeded);
  }
  const outcome = await restartWorkloads(tools.kubectl, selected, { concurrency: o.concurrency, timeout: o.timeout, report: o.report });
  return { controlPlaneVersion: version, selected, notes, outcome };
}
