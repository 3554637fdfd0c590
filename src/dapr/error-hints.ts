// Fragments of the errors helm, kubectl and the Kubernetes API print when a Dapr upgrade goes wrong, each
// answered with what to do; and `explain`, which turns any failed command into one sentence and such a hint.
// Every layer that runs helm or kubectl (discovery, the runbook, the run journal and its Lease) explains its
// failures here, so this module depends on nothing above the adapters.
import { CommandError } from '../cluster/runner.js';
import { DaprupError, ExitCode } from '../errors.js';

const ERROR_HINTS: readonly { fragment: RegExp; hint: string }[] = [
  {
    fragment: /updates to statefulset spec for fields other than/,
    hint: 'A StatefulSet field that cannot be patched changed (HA toggle or scheduler storage). Rerun daprup: its recreate-statefulsets step deletes the StatefulSet (background cascade) before the upgrade.',
  },
  {
    fragment: /another operation \(install\/upgrade\/rollback\) is in progress/,
    hint: 'The release is stuck in a pending state. Roll back to the last deployed revision: helm rollback <release> <revision> -n <namespace> (see helm history).',
  },
  {
    fragment: /unknown field "(sentryAddress|controlPlaneTrustDomain)"/,
    hint: 'The Dapr CRDs are older than the control plane, or a minor version was skipped. Apply the CRDs of the target chart (the apply-crds step) and upgrade one minor at a time.',
  },
  {
    fragment: /no matches for kind "Subscription" in version "dapr.io\/v2alpha1"/,
    hint: 'The Dapr CRDs are stale. Apply the CRDs of the target chart.',
  },
  {
    fragment: /spec\.preserveUnknownFields: Invalid value: true/,
    hint: 'A legacy CRD is installed. Replace it: kubectl replace -f <crd> from the chart crds/ directory.',
  },
  {
    fragment: /rendered manifests contain a resource that already exists/,
    hint: 'An object exists that this release does not own (a chart restructure or a manual install). Adopt it with the meta.helm.sh/release-name annotations or delete it.',
  },
  {
    fragment: /x509: certificate has expired or is not yet valid/,
    hint: 'The root or issuer certificate expired, or a clock is skewed. Check with `daprup certs check` and renew the trust bundle.',
  },
  {
    fragment: /generating self signed CA/,
    hint: 'Sentry generated a new trust bundle: every sidecar must be restarted (`daprup restart --all`).',
  },
  {
    fragment: /token audiences .* is invalid for the target audiences/,
    hint: 'Old sidecars are talking to a new control plane: restart them (`daprup restart`).',
  },
  {
    fragment: /context deadline exceeded|timed out waiting for the condition/,
    hint: 'A wait timed out. Look at pending pods and unbound PersistentVolumeClaims in the Dapr namespace (kubectl get pods,pvc -n <namespace>), then rerun daprup to resume, perhaps with a longer --timeout.',
  },
  {
    fragment: /release name is invalid|could not find release|release: not found/,
    hint: 'Dapr was not installed with Helm under that name, or is managed by GitOps. Check --release and --dapr-namespace.',
  },
  {
    fragment: /Unable to connect to the server|connection refused|no such host/,
    hint: 'The cluster is not reachable. Check --kube-context / --kubeconfig and your network.',
  },
  {
    fragment: /is forbidden: User .* cannot/,
    hint: 'Your Kubernetes user lacks a permission daprup needs. Ask for it, or run as a user that can manage the Dapr namespace and restart workloads.',
  },
];

export function hintFor(text: string): string | undefined {
  return ERROR_HINTS.find((h) => h.fragment.test(text))?.hint;
}

/** Turns a failing command into one sentence ("<what> failed: <first line of its error>") and a hint. */
export function explain(error: unknown, what: string): DaprupError {
  if (error instanceof DaprupError) return error;
  const text = error instanceof CommandError ? error.stderr || error.message : String(error);
  const firstLine =
    text
      .trim()
      .split('\n')
      .find((l) => l.trim()) ?? 'unknown error';
  return new DaprupError(
    `${what} failed: ${firstLine.replace(/^error: /i, '')}`,
    hintFor(text) ?? 'Run the command shown with --verbose by hand to see the whole output.',
    ExitCode.stepFailed,
  );
}
