import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { notesFor, RELEASE_NOTES, rollbackFloor, schedulerDataLost, type HopFacts } from '../../src/dapr/release-notes.js';

const ids = (h: HopFacts) => notesFor(h).map((n) => n.id);
const hop = (from: string, to: string, more: Partial<HopFacts> = {}): HopFacts => ({ from, to, ...more });

/**
 * Every note: hops where it applies, and hops where it must not show. A new RELEASE_NOTES entry needs one row here
 * (the first test fails without it).
 */
const CASES: Record<string, { applies: HopFacts[]; not: HopFacts[] }> = {
  'crds-not-downgraded': {
    applies: [hop('1.17.13', '1.16.19'), hop('1.16.19', '1.16.5')],
    not: [hop('1.16.19', '1.17.13'), hop('1.16.19', '1.16.19')],
  },
  'images-on-ghcr': {
    applies: [hop('1.12.5', '1.13.0'), hop('1.12.5', '1.14.5')],
    not: [hop('1.13.0', '1.14.5'), hop('1.13.6', '1.12.5')],
  },
  'actor-api-level-20': {
    applies: [hop('1.12.5', '1.13.6')],
    not: [hop('1.13.6', '1.14.5'), hop('1.13.6', '1.12.5')],
  },
  'scheduler-storage-claims': {
    applies: [hop('1.13.6', '1.14.5')],
    not: [hop('1.14.4', '1.14.5'), hop('1.13.6', '1.14.5', { schedulerDisabled: true })],
  },
  'sentry-port-443-only': {
    applies: [hop('1.13.6', '1.14.0')],
    not: [hop('1.14.0', '1.15.0'), hop('1.14.5', '1.13.6')],
  },
  'actors-namespaced': {
    applies: [hop('1.13.6', '1.14.0')],
    not: [hop('1.14.5', '1.15.14')],
  },
  'leaving-recalled-1-14-3': {
    applies: [hop('1.14.3', '1.14.5'), hop('1.14.3', '1.15.0')],
    // 1.17.7 keeps the live claim size; 1.14.2 never had the 16Gi template.
    not: [hop('1.14.2', '1.14.5'), hop('1.14.3', '1.17.7'), hop('1.14.3', '1.14.5', { schedulerDisabled: true })],
  },
  'scheduler-data-wiped': {
    applies: [hop('1.14.5', '1.15.12'), hop('1.14.2', '1.16.19'), hop('1.14.0', '1.15.0-rc.1')],
    not: [
      hop('1.15.12', '1.16.19'),
      hop('1.15.0', '1.15.14'),
      hop('1.13.6', '1.15.0'), // no scheduler before 1.14: nothing to lose
      hop('1.14.5', '1.15.12', { schedulerDisabled: true }),
      hop('1.15.0', '1.14.5'),
    ],
  },
  'actor-reminders-migrated': {
    applies: [hop('1.14.5', '1.15.0')],
    not: [hop('1.15.0', '1.15.14'), hop('1.15.0', '1.14.5')],
  },
  'scheduler-three-replicas': {
    applies: [hop('1.14.5', '1.15.14', { haBefore: false }), hop('1.14.5', '1.15.14')],
    not: [hop('1.14.5', '1.15.14', { haBefore: true }), hop('1.15.0', '1.16.0'), hop('1.14.5', '1.15.14', { schedulerDisabled: true })],
  },
  'placement-non-root-raft-log': {
    applies: [hop('1.15.14', '1.16.19', { haBefore: true, haAfter: true })],
    not: [hop('1.15.14', '1.16.19', { haBefore: false, haAfter: false }), hop('1.16.0', '1.16.19', { haAfter: true })],
  },
  'grpc-authz-cve-2026-33186': {
    applies: [hop('1.15.14', '1.16.11'), hop('1.16.19', '1.17.2'), hop('1.16.3', '1.16.5')],
    not: [hop('1.15.14', '1.16.12'), hop('1.17.2', '1.17.3'), hop('1.17.13', '1.18.0'), hop('1.16.5', '1.16.3')],
  },
  'scheduler-storage-lookup': {
    applies: [hop('1.17.7', '1.17.6'), hop('1.18.3', '1.16.15')],
    not: [
      hop('1.18.3', '1.17.7'),
      hop('1.17.7', '1.16.16'),
      hop('1.17.6', '1.17.5'), // neither chart defaults to 16Gi
      hop('1.17.6', '1.17.7'),
      hop('1.17.7', '1.17.6', { schedulerDisabled: true }),
    ],
  },
  'scheduler-pods-deleted': {
    applies: [hop('1.15.0', '1.14.5'), hop('1.16.19', '1.14.5')],
    not: [
      hop('1.16.19', '1.15.14'),
      hop('1.14.5', '1.15.0'),
      hop('1.15.0', '1.13.6'),
      hop('1.15.0', '1.14.5', { schedulerDisabled: true }),
    ],
  },
  'disabled-scheduler-statefulset-deleted': {
    applies: [hop('1.16.19', '1.17.0', { schedulerDisabled: true }), hop('1.15.14', '1.16.0', { schedulerDisabled: true })],
    not: [
      hop('1.16.19', '1.17.0'),
      hop('1.17.0', '1.17.13', { schedulerDisabled: true }),
      hop('1.16.0', '1.16.1', { schedulerDisabled: true }), // 1.16.1 renders it again
    ],
  },
  'placement-disseminate-timeout-reset': {
    applies: [hop('1.17.13', '1.16.19'), hop('1.18.3', '1.16.19')],
    not: [hop('1.18.3', '1.17.7'), hop('1.16.19', '1.17.0'), hop('1.16.19', '1.16.5')],
  },
  'scheduler-storage-16gi': {
    applies: [hop('1.17.6', '1.17.7'), hop('1.16.19', '1.17.13')],
    not: [hop('1.17.7', '1.18.3'), hop('1.16.5', '1.17.6'), hop('1.16.19', '1.17.13', { schedulerDisabled: true })],
  },
  'new-crds-mcpservers-workflowaccesspolicies': {
    applies: [hop('1.17.13', '1.18.3')],
    not: [hop('1.18.0', '1.18.3'), hop('1.18.3', '1.17.13')],
  },
  'native-sidecar-option': {
    applies: [hop('1.17.13', '1.18.0')],
    not: [hop('1.18.0', '1.18.3'), hop('1.16.19', '1.17.13')],
  },
  'sidecar-probe-defaults': {
    applies: [hop('1.17.13', '1.18.0')],
    not: [hop('1.18.0', '1.18.3')],
  },
  'hot-reload-default-on': {
    applies: [hop('1.17.13', '1.18.3')],
    not: [hop('1.18.1', '1.18.3')],
  },
  'sentry-ed25519': {
    applies: [hop('1.17.13', '1.18.0'), hop('1.17.13', '1.18.0-rc.1')],
    not: [hop('1.18.0', '1.18.3'), hop('1.18.3', '1.17.13')],
  },
};

describe('release notes', () => {
  it('has one applies/does-not-apply row per note, and unique kebab-case ids', () => {
    const noteIds = RELEASE_NOTES.map((n) => n.id);
    expect(new Set(noteIds).size).toBe(noteIds.length);
    expect(Object.keys(CASES).sort()).toEqual([...noteIds].sort());
    for (const id of noteIds) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it.each(Object.entries(CASES))('%s applies where it should', (id, c) => {
    for (const h of c.applies) expect(ids(h), `${h.from} → ${h.to}`).toContain(id);
  });

  it.each(Object.entries(CASES))('%s is never shown where it does not apply', (id, c) => {
    for (const h of c.not) expect(ids(h), `${h.from} → ${h.to}`).not.toContain(id);
  });

  it('keeps the table in release order, so a new release is appended at the end', () => {
    const releases = RELEASE_NOTES.map((n) => n.release);
    expect(releases).toEqual([...releases].sort(semver.compare));
  });

  it('cites a Dapr source for every note and says what to do', () => {
    for (const n of RELEASE_NOTES) {
      expect(n.source, n.id).toMatch(/^https:\/\/(github\.com\/dapr\/dapr\/|docs\.dapr\.io\/)/);
      expect(n.text.length, n.id).toBeGreaterThan(20);
      expect(n.action.length, n.id).toBeGreaterThan(10);
    }
  });

  it('lists a hop’s notes in release order, rollback notes only for rollbacks', () => {
    const upgrade = notesFor(hop('1.12.5', '1.18.3'));
    const releases = upgrade.map((n) => n.release);
    expect(releases[0]).toBe('1.13.0');
    expect(releases.at(-1)).toBe('1.18.0');
    expect(upgrade.map((n) => n.id)).not.toContain('crds-not-downgraded');
    expect(ids(hop('1.18.3', '1.16.15'))).toEqual([
      'crds-not-downgraded',
      'scheduler-storage-lookup',
      'placement-disseminate-timeout-reset',
    ]);
    expect(ids(hop('1.18.3', '1.14.5'))).toEqual([
      'crds-not-downgraded',
      'scheduler-pods-deleted',
      'scheduler-storage-lookup',
      'placement-disseminate-timeout-reset',
    ]);
    expect(notesFor(hop('1.16.19', '1.16.19'))).toEqual([]);
  });

  it('names the real placement value to reset on a rollback below 1.17', () => {
    const note = notesFor(hop('1.17.13', '1.16.19')).find((n) => n.id === 'placement-disseminate-timeout-reset');
    expect(note?.action).toContain('dapr_placement.disseminateTimeout');
    expect(note?.action).not.toContain('cluster.disseminateTimeout');
  });

  it('says what scheduler data a hop loses, only where it loses it', () => {
    expect(schedulerDataLost(hop('1.14.5', '1.15.12'))).toMatch(/jobs.*actor reminders.*workflows/);
    expect(schedulerDataLost(hop('1.14.2', '1.16.19'))).toBeDefined();
    expect(schedulerDataLost(hop('1.15.12', '1.16.19'))).toBeUndefined();
    expect(schedulerDataLost(hop('1.14.5', '1.15.12', { schedulerDisabled: true }))).toBeUndefined();
    expect(schedulerDataLost(hop('1.15.12', '1.14.5'))).toBeUndefined();
  });

  it.each([
    ['1.18.3', '1.17.7', /Ed25519/],
    ['1.18.0-rc.1', '1.17.7', /Ed25519/],
    ['1.17.13', '1.13.0', /API level 20/],
    ['1.13.0', '1.13.0', /API level 20/],
  ])('a rollback from %s may not go below %s', (current, floor, why) => {
    const f = rollbackFloor(current);
    expect(f?.version).toBe(floor);
    expect(f?.why).toMatch(why);
    expect(f?.source).toMatch(/^https:\/\//);
  });

  it('has no rollback floor below 1.13', () => {
    expect(rollbackFloor('1.12.5')).toBeUndefined();
  });
});

describe('the README', () => {
  it('lists every release note (node scripts/notes-table.mjs prints the table)', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const row = (n: (typeof RELEASE_NOTES)[number]) =>
      new RegExp(`\\|\\s*${n.release.replaceAll('.', '\\.')}\\s*\\|\\s*${n.direction}\\s*\\|\\s*\`${n.id}\`\\s*\\|`);
    for (const n of RELEASE_NOTES) expect(readme, n.id).toMatch(row(n));
  });
});
