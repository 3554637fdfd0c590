// How far a daprd is from the control plane, as status, plan and the Dapr Shared table show it.
import semver from 'semver';

/** How far a sidecar is from the control plane: none, patch, or N minor versions. */
export function skew(sidecar: string | undefined, controlPlane: string): string {
  const s = semver.valid(sidecar ?? '');
  const c = semver.valid(controlPlane);
  if (!s || !c) return sidecar ? 'unknown' : '-';
  if (semver.eq(s, c)) return 'none';
  const minors = (semver.major(c) - semver.major(s)) * 100 + semver.minor(c) - semver.minor(s);
  return minors === 0 ? `patch (${s})` : `${Math.abs(minors)} minor ${minors > 0 ? 'behind' : 'ahead'}`;
}
