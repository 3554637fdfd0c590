import { describe, expect, it } from 'vitest';
import { dataPlaneRestarts, upgradePath, upgradeTargets, type UpgradePath } from '../../src/dapr/upgrade-path.js';
import { DaprupError, ExitCode } from '../../src/errors.js';

/** `1.16.0` … `1.16.<last>`. */
const patches = (minor: string, last: number) => Array.from({ length: last + 1 }, (_, i) => `${minor}.${i}`);

/** What `helm search repo dapr/dapr --versions` lists, plus a vendor build and release candidates mixed in. */
const INDEX = [
  ...patches('1.13', 6),
  ...patches('1.14', 5), // holds the recalled 1.14.3
  ...patches('1.15', 14),
  '1.15.3-msft.2',
  ...patches('1.16', 19),
  '1.16.20-rc.2',
  ...patches('1.17', 13),
  '1.17.14-msft.1',
  ...patches('1.18', 3),
  '1.19.0-rc.1',
];
const without = (...minors: string[]) => INDEX.filter((v) => !minors.some((m) => v.startsWith(`${m}.`)));
const stops = (p: UpgradePath) => p.hops.map((h) => h.to);

function refusedWith(fn: () => unknown): DaprupError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DaprupError);
    expect((e as DaprupError).exitCode).toBe(ExitCode.refused);
    return e as DaprupError;
  }
  throw new Error('expected a refusal');
}

describe('upgradePath', () => {
  it('goes through the newest patch of every minor in between', () => {
    const p = upgradePath('1.15.12', '1.18.3', INDEX);
    // 1.16.20-rc.2 and 1.17.14-msft.1 are newer but never stops.
    expect(p.hops).toEqual([
      { from: '1.15.12', to: '1.16.19' },
      { from: '1.16.19', to: '1.17.13' },
      { from: '1.17.13', to: '1.18.3' },
    ]);
    expect(p).toMatchObject({ from: '1.15.12', target: '1.18.3' });
  });

  it('takes one hop for a patch or the next minor', () => {
    expect(upgradePath('1.16.5', '1.16.19', INDEX).hops).toEqual([{ from: '1.16.5', to: '1.16.19' }]);
    expect(upgradePath('1.16.19', '1.17.2', INDEX).hops).toEqual([{ from: '1.16.19', to: '1.17.2' }]);
  });

  it('reads versions with a leading v', () => {
    expect(stops(upgradePath('v1.16.5', 'v1.18.3', ['v1.17.13', 'v1.18.3']))).toEqual(['1.17.13', '1.18.3']);
  });

  it('returns no hops for the running version', () => {
    expect(upgradePath('1.16.19', '1.16.19', INDEX).hops).toEqual([]);
  });

  it('refuses a gap in the index and names the missing minor', () => {
    const e = refusedWith(() => upgradePath('1.15.12', '1.18.3', without('1.16')));
    expect(e.message).toContain('1.16');
    expect(e.message).not.toContain('1.17');
    expect(e.hint).toContain('--allow-skip-minor');
    // A minor with only a release candidate and a vendor build is a gap too.
    const both = refusedWith(() => upgradePath('1.15.12', '1.18.3', [...without('1.16', '1.17'), '1.16.0-rc.1', '1.17.1-msft.1']));
    expect(both.message).toContain('1.16, 1.17');
  });

  it('never stops at a recalled release, and refuses one as the target', () => {
    const index = [...patches('1.13', 6), ...patches('1.14', 3), ...patches('1.15', 14)];
    expect(stops(upgradePath('1.13.6', '1.15.14', index))).toEqual(['1.14.2', '1.15.14']);
    const e = refusedWith(() => upgradePath('1.14.2', '1.14.3', INDEX, { allowSkipMinor: true, allowPrerelease: true }));
    expect(e.message).toContain('recalled');
    expect(e.hint).toContain('1.14');
  });

  it('treats a release candidate as an opt-in target and never a stop', () => {
    expect(refusedWith(() => upgradePath('1.16.19', '1.16.20-rc.2', INDEX)).hint).toContain('--allow-prerelease');
    expect(upgradePath('1.16.19', '1.16.20-rc.2', INDEX, { allowPrerelease: true }).hops).toEqual([
      { from: '1.16.19', to: '1.16.20-rc.2' },
    ]);
    expect(stops(upgradePath('1.17.13', '1.19.0-rc.1', INDEX, { allowPrerelease: true }))).toEqual(['1.18.3', '1.19.0-rc.1']);
  });

  it('refuses vendor builds, installed or targeted', () => {
    expect(refusedWith(() => upgradePath('1.15.3-msft.2', '1.16.19', INDEX)).message).toContain('vendor build');
    expect(refusedWith(() => upgradePath('1.16.19', '1.17.14-msft.1', INDEX)).message).toContain('vendor build');
  });

  it('refuses a downgrade and points at daprup rollback', () => {
    const e = refusedWith(() => upgradePath('1.17.13', '1.16.19', INDEX));
    expect(e.message).toContain('older');
    expect(e.hint).toContain('daprup rollback');
  });

  it('refuses a major change and a target the index does not list', () => {
    expect(refusedWith(() => upgradePath('1.18.3', '2.0.0', [...INDEX, '2.0.0'])).message).toContain('major');
    expect(refusedWith(() => upgradePath('1.16.5', '1.16.25', INDEX)).hint).toContain('helm repo update');
  });

  it('refuses an installed version that is not semver', () => {
    expect(refusedWith(() => upgradePath('edge', '1.16.19', INDEX)).message).toContain('not a semantic version');
  });

  it('goes straight to the target with allowSkipMinor, even without an index', () => {
    expect(upgradePath('1.15.12', '1.18.3', INDEX, { allowSkipMinor: true }).hops).toEqual([{ from: '1.15.12', to: '1.18.3' }]);
    expect(upgradePath('1.15.12', '1.18.3', undefined, { allowSkipMinor: true }).hops).toHaveLength(1);
  });

  it('without an index (local or OCI chart) takes a patch or one minor, and refuses more', () => {
    expect(upgradePath('1.16.5', '1.16.99', undefined).hops).toHaveLength(1);
    expect(upgradePath('1.16.19', '1.17.13', undefined).hops).toHaveLength(1);
    const e = refusedWith(() => upgradePath('1.15.12', '1.17.13', undefined));
    expect(e.message).toContain('1.16');
    expect(e.hint).toContain('chart repository');
    expect(e.hint).toContain('--allow-skip-minor');
  });
});

describe('upgradeTargets', () => {
  it('offers the running minor’s newest patch and the newest patch of each newer supported minor', () => {
    const t = upgradeTargets('1.16.5', INDEX);
    expect(t.map((x) => [x.version, x.change, x.hops])).toEqual([
      ['1.16.19', 'patch', ['1.16.19']],
      ['1.17.13', 'minor', ['1.17.13']],
      ['1.18.3', 'minor', ['1.17.13', '1.18.3']],
    ]);
    const notes = t[2]?.notes.map((n) => n.id) ?? [];
    expect(notes).toContain('scheduler-storage-16gi');
    expect(notes).toContain('sentry-ed25519');
    expect(new Set(notes).size).toBe(notes.length);
  });

  it('offers only the three newest minors the index lists, through every minor in between', () => {
    const t = upgradeTargets('1.13.2', INDEX);
    expect(t.map((x) => x.version)).toEqual(['1.13.6', '1.16.19', '1.17.13', '1.18.3']);
    expect(t[1]?.hops).toEqual(['1.14.5', '1.15.14', '1.16.19']);
    // Notes of every hop, not only the last: the 1.15 wipe is on the way to 1.16.19.
    expect(t[1]?.notes.map((n) => n.id)).toContain('scheduler-data-wiped');
  });

  it('leaves out recalled releases and release candidates unless asked', () => {
    const index = [...patches('1.14', 3), ...patches('1.15', 14), ...patches('1.16', 19), '1.16.20-rc.2', '1.17.0-rc.1'];
    expect(upgradeTargets('1.14.2', index).map((x) => x.version)).toEqual(['1.15.14', '1.16.19']);
    expect(upgradeTargets('1.14.2', index, { includeRecalled: true }).map((x) => x.version)).toContain('1.14.3');
    expect(upgradeTargets('1.16.19', index).map((x) => x.version)).toEqual([]);
    expect(upgradeTargets('1.16.19', index, { includePrerelease: true }).map((x) => x.version)).toEqual(['1.16.20-rc.2', '1.17.0-rc.1']);
  });

  it('leaves out a target behind a gap in the index', () => {
    expect(upgradeTargets('1.16.5', without('1.17')).map((x) => x.version)).toEqual(['1.16.19']);
  });

  it('ignores vendor builds in the index and offers nothing past the newest release', () => {
    expect(upgradeTargets('1.17.13', INDEX).map((x) => x.version)).toEqual(['1.18.3']);
    expect(upgradeTargets('1.18.3', INDEX)).toEqual([]);
  });

  it('shows HA-dependent notes by what HA was before the run', () => {
    const ids = (haBefore: boolean) => upgradeTargets('1.14.5', INDEX, { haBefore, haAfter: haBefore })[0]?.notes.map((n) => n.id);
    expect(ids(false)).toContain('scheduler-three-replicas');
    expect(ids(true)).not.toContain('scheduler-three-replicas');
    // HA turned on by this run: 1.14 still ran one scheduler replica, so the new claims are still news.
    const turnedOn = upgradeTargets('1.14.5', INDEX, { haBefore: false, haAfter: true })[0]?.notes.map((n) => n.id);
    expect(turnedOn).toContain('scheduler-three-replicas');
  });
});

describe('dataPlaneRestarts', () => {
  const minorByMinor = upgradePath('1.15.12', '1.18.3', INDEX);

  it('restarts after every hop of a minor-by-minor path', () => {
    expect(dataPlaneRestarts(minorByMinor, '1.15')).toEqual([true, true, true]);
    expect(dataPlaneRestarts(minorByMinor, '1.15.12')).toEqual([true, true, true]);
  });

  it('restarts a patch-only or skip-minor path once, at the end', () => {
    expect(dataPlaneRestarts(upgradePath('1.16.5', '1.16.19', INDEX), '1.16')).toEqual([true]);
    expect(dataPlaneRestarts(upgradePath('1.15.12', '1.18.3', INDEX, { allowSkipMinor: true }), '1.15')).toEqual([true]);
  });

  it('restarts only at the end when no daprd runs', () => {
    expect(dataPlaneRestarts(minorByMinor, undefined)).toEqual([false, false, true]);
    expect(dataPlaneRestarts(upgradePath('1.16.19', '1.16.19', INDEX), undefined)).toEqual([]);
  });

  it('lets a data plane stay one minor behind, never two', () => {
    // Sidecars already on 1.16 stay through the 1.16 hop: the 1.17 control plane is one minor ahead of them.
    expect(dataPlaneRestarts(minorByMinor, '1.16')).toEqual([false, true, true]);
  });

  it('restarts a data plane older than the control plane after the first hop', () => {
    const twoHops = upgradePath('1.15.12', '1.17.13', INDEX);
    expect(dataPlaneRestarts(twoHops, '1.14')).toEqual([true, true]);
    expect(dataPlaneRestarts(twoHops, undefined)).toEqual([false, true]);
  });

  it('restarts after every hop when the data plane version cannot be read', () => {
    expect(dataPlaneRestarts(minorByMinor, 'latest')).toEqual([true, true, true]);
  });
});
