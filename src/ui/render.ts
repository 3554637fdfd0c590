// Human-readable output: plans, status and certificate reports as plain sections and tables.
import type { RotationPlan } from '../operations/rotate.js';
import { redactArgs } from '../cluster/redact.js';
import { createRequire } from 'node:module';
import type { UpgradePlan } from '../runbook/plan.js';
import type { BundleReport } from '../dapr/trust-bundle.js';
import type { StatusReport } from '../operations/status.js';
import type { TargetList } from '../operations/plan.js';
import { renderCheckLines } from './check-render.js';

// Plain ASCII (and line breaks): every character one column wide.
const PLAIN = /^[\x20-\x7e\n]*$/;

export function table(head: string[], rows: (string | number | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))));
  if ([head, ...cells].every((r) => r.every((c) => PLAIN.test(c)))) return plainTable(head, cells);
  // Anything else (✔, wide characters, colours) is measured by cli-table3, loaded only then.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof import('cli-table3');
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true });
  for (const r of cells) t.push(r);
  return t.toString();
}

/**
 * cli-table3's output for plain text, drawn directly: the workload tables of a 2,000-workload cluster take
 * cli-table3 seconds and 100 MB (an options object per cell); this takes milliseconds. test/unit/render.test.ts
 * holds the two equal.
 */
function plainTable(head: string[], rows: string[][]): string {
  const all = head.length ? [head, ...rows] : rows;
  const columns = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...all.map((r) => Math.max(...(r[i] ?? '').split('\n').map((l) => l.length)))),
  );
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const lines = (r: string[]) => {
    const split = widths.map((_, i) => (r[i] ?? '').split('\n'));
    const height = Math.max(...split.map((c) => c.length));
    return Array.from({ length: height }, (_, j) => `│${split.map((c, i) => ` ${(c[j] ?? '').padEnd(widths[i]!)} `).join('│')}│`);
  };
  const out = [rule('┌', '┬', '┐')];
  all.forEach((r, i) => {
    if (i > 0) out.push(rule('├', '┼', '┤'));
    out.push(...lines(r));
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}

const mark = (s: string) => (s === 'ok' ? '✔' : s === 'warning' ? '⚠' : '✖');

export function renderBundle(report: BundleReport): string {
  const lines = [];
  if (report.root) lines.push(`Root:   ${report.root.subject}, expires ${report.root.notAfter} (${report.root.daysLeft} days)`);
  if (report.issuer) lines.push(`Issuer: ${report.issuer.subject}, expires ${report.issuer.notAfter} (${report.issuer.daysLeft} days)`);
  if ((report.roots ?? 1) > 1) lines.push(`Roots:  ${report.roots} trusted (a rotation overlaps them)`);
  for (const c of report.checks) lines.push(`${mark(c.severity)} ${c.message}`);
  if (report.rotate) lines.push(`→ Rotate: ${report.rotate}`);
  return lines.join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const onOff = (b: boolean) => (b ? 'on' : 'off');

/**
 * The plan at a glance, as `upgrade` asks about it at a terminal: what changes, what is destructive, and what it
 * costs in restarts. Every table and command stays in `daprup plan` (and `upgrade --verbose`).
 */
export function renderPlanSummary(p: UpgradePlan): string {
  const r = p.release;
  const v = p.versionPolicy;
  const out: string[] = [
    `Upgrade ${r.name} in ${r.namespace}: Dapr ${v.current} → ${p.path?.target ?? v.target} (${v.change === 'none' ? 'no version change' : p.nextHops ? `${p.nextHops.length + 1} hops` : v.change})`,
    ...renderPath(p),
  ];
  for (const w of v.warnings) out.push(`⚠ ${w}`);

  const versions = new Map<string, number>();
  for (const c of p.controlPlane) {
    const key = `${c.current ?? 'not installed'} → ${c.target}`;
    versions.set(key, (versions.get(key) ?? 0) + 1);
  }
  const crds = (['create', 'update'] as const)
    .map((a) => [a, p.crds.filter((c) => c.action === a).length] as const)
    .filter(([, n]) => n > 0);
  out.push(
    '',
    'What changes:',
    `  Control plane   ${[...versions].map(([change, n]) => `${change} (${plural(n, 'component')})`).join(', ')}`,
    `  HA              ${p.ha.now === p.ha.after ? `${onOff(p.ha.after)} (unchanged)` : `${onOff(p.ha.now)} → ${onOff(p.ha.after)}`}`,
    `  CRDs            ${crds.length ? crds.map(([a, n]) => `${n} ${a === 'create' ? 'created' : 'updated'}`).join(', ') : 'none change'}`,
    `  StatefulSets    ${p.statefulSets.length ? `recreated: ${p.statefulSets.map((s) => s.name).join(', ')}` : 'none recreated'}`,
    `  Values          ${p.values.length ? `${plural(p.values.length, 'value')} change` : 'none change'}${p.valuesNote ? ' (your own values only: the installed chart could not be pulled)' : ''}`,
  );

  const destructive = p.steps.filter((s) => s.destructive && !s.skip);
  out.push('', destructive.length ? 'Destructive steps:' : 'Destructive steps: none');
  for (const s of destructive) out.push(`  ${s.id}: ${s.summary}`);

  const restarts = p.workloads.filter((w) => w.decision === 'restart');
  const namespaces = new Set(restarts.map((w) => w.namespace)).size;
  const shared = p.sharedReleases.filter((s) => s.after !== '-' && s.after !== s.daprd);
  const controlPlaneRolls = p.steps.some((s) => s.id === 'helm-upgrade' && !s.skip);
  const unreached = p.workloads.filter((w) => w.decision === 'unreached').length;
  out.push(
    '',
    'Restarts:',
    `  Control plane   ${controlPlaneRolls ? `${plural(p.controlPlane.filter((c) => c.target !== '(not in chart)').length, 'component')} roll out with the helm upgrade` : 'not touched'}`,
    `  Workloads       ${restarts.length ? `${plural(restarts.length, 'workload')} in ${plural(namespaces, 'namespace')}` : 'none'}${shared.length ? `, ${plural(shared.length, 'Dapr Shared release')}` : ''}`,
  );
  if (unreached) out.push(`  Out of reach    ${unreached} daprd, not restarted (daprup status names them)`);

  const failures = p.checks.filter((c) => c.severity === 'failure').length;
  const warnings = p.checks.length - failures;
  if (p.checks.length)
    out.push(
      '',
      `Production checks: ${plural(failures, 'failure')}, ${plural(warnings, 'warning')} (advice, never a blocker: daprup check)`,
    );
  out.push('', 'Every table and command: daprup plan with the same flags, or this upgrade with --verbose.');
  return out.join('\n');
}

/** The road: every hop, after which the data plane restarts, and the release notes that concern each hop. */
export function renderPath(p: UpgradePlan): string[] {
  const path = p.path;
  if (!path) return [];
  const out: string[] = [];
  const several = path.hops.length > 1;
  if (several)
    out.push(
      `Path: ${[path.from, ...path.hops.map((h) => h.to)].join(' → ')} (${path.hops.length} hops, through the newest patch of every minor in between)`,
    );
  path.hops.forEach((h, i) => {
    if (several)
      out.push(
        `  Hop ${i + 1}: ${h.from} → ${h.to}${h.restartDataPlane ? '; the data plane is restarted after it' : '; the data plane waits for a later hop (it stays within one minor)'}`,
      );
    for (const n of h.notes) out.push(`${several ? '    ' : ''}• ${n.release}: ${n.text} → ${n.action} (${n.source})`);
  });
  return out.length ? [...out, ''] : [];
}

/** Everything the upgrade would do, hop by hop. `applyHint: false` inside `upgrade`, which asks next instead. */
export function renderPlan(p: UpgradePlan, o: { applyHint?: boolean } = {}): string {
  const hops = [p, ...(p.nextHops ?? [])];
  if (hops.length === 1) return [...renderPath(p), renderHopPlan(p, o)].join('\n');
  const target = p.path?.target ?? p.versionPolicy.target;
  return [
    ...renderPath(p),
    ...hops.map(
      (h, i) =>
        `=== Hop ${i + 1} of ${hops.length}: ${p.path?.hops[i]?.from} → ${p.path?.hops[i]?.to}${i ? ' (planned against the cluster as it is now; read again when its turn comes)' : ''} ===\n${renderHopPlan(h, { applyHint: false })}`,
    ),
    ...((o.applyHint ?? true) ? ['', `Changes pending. Apply with: daprup upgrade --to ${target}`] : []),
  ].join('\n');
}

function renderHopPlan(p: UpgradePlan, o: { applyHint?: boolean } = {}): string {
  const out: string[] = [];
  const r = p.release;
  out.push(`Release ${r.name} in ${r.namespace}: chart ${r.chartVersion}, Dapr ${r.version}, revision ${r.revision}, ${r.status}`);
  out.push(`Cluster ${p.cluster.serverVersion} (helm ${p.cluster.helm}, kubectl ${p.cluster.kubectl})`);
  out.push(
    '',
    `Version policy: ${p.versionPolicy.current} → ${p.versionPolicy.target} is a ${p.versionPolicy.change === 'none' ? 'no-op' : p.versionPolicy.change} change: allowed`,
  );
  for (const w of p.versionPolicy.warnings) out.push(`⚠ ${w}`);
  out.push('', 'Control plane:');
  out.push(
    table(
      ['component', 'kind', 'ready', 'current', 'target', 'replicas after'],
      p.controlPlane.map((c) => [c.component, c.kind, c.ready, c.current, c.target, c.replicasAfter]),
    ),
  );
  out.push(
    `HA: ${p.ha.now ? 'on' : 'off'} → ${p.ha.after ? 'on' : 'off'}    mTLS: ${p.mtls.enabled === undefined ? 'unknown' : p.mtls.enabled ? 'enabled' : 'disabled'}`,
  );
  out.push('', 'Trust bundle:', renderBundle(p.mtls.trustBundle));
  out.push('', 'CRDs from the target chart:');
  out.push(
    p.crds.length
      ? table(
          ['CRD', 'action'],
          p.crds.map((c) => [c.name, c.action]),
        )
      : '  (none)',
  );
  out.push('', 'StatefulSets to recreate:');
  out.push(
    p.statefulSets.length
      ? table(
          ['StatefulSet', 'immutable change'],
          p.statefulSets.map((s) => [s.name, [...s.changes, ...(s.claimNotes ?? [])].join('\n')]),
        )
      : '  (none)',
  );
  out.push('', 'Values that will change (your own values are kept):');
  out.push(
    p.values.length
      ? table(
          ['value', 'now', 'after'],
          p.values.map((v) => [v.key, JSON.stringify(v.from), JSON.stringify(v.to)]),
        )
      : '  (none)',
  );
  if (p.valuesNote) out.push(`  ${p.valuesNote}`);
  out.push('', 'Dapr-enabled workloads (every daprd in the cluster):');
  out.push(
    p.workloads.length
      ? table(
          ['kind', 'namespace', 'name', 'sidecar', 'action'],
          p.workloads.map((w) => [
            w.kind,
            w.namespace,
            w.name,
            w.sidecar,
            w.decision === 'unreached' ? `NOT REACHED: ${w.action}` : w.action,
          ]),
        )
      : '  (none)',
  );
  if (p.sharedReleases.length) {
    out.push('', 'Dapr Shared releases (upgraded with helm after the data plane, other values kept):');
    out.push(
      table(
        ['release', 'namespace', 'chart', 'daprd', 'skew', 'after', 'sentry', 'mTLS'],
        p.sharedReleases.map((r) => [
          r.name,
          r.namespace,
          r.chartVersion,
          r.daprd,
          r.skew,
          r.after,
          r.sentryAddress,
          r.mtls === undefined ? '?' : r.mtls ? 'on' : 'off',
        ]),
      ),
    );
  }
  out.push('', 'Production checks (advice for the cluster as it is now; they never block the upgrade; all of them: daprup check):');
  out.push(...(p.checks.length ? renderCheckLines(p.checks) : ['  ✔ no failures or warnings']));
  out.push('', 'Steps:');
  p.steps.forEach((s, i) => {
    const flag = s.skip ? '[skip]' : s.destructive ? '[DESTRUCTIVE]' : '';
    out.push(`${String(i + 1).padStart(2)}. ${s.id} ${flag} — ${s.skip ?? s.summary}`);
    for (const d of s.details ?? []) out.push(`      ⚠ ${d}`);
    for (const c of s.commands) out.push(`      $ ${c}`);
  });
  if (!p.changesPending) out.push('', 'Nothing to do: the cluster already runs the target.');
  else if (o.applyHint ?? true)
    out.push(
      '',
      `Changes pending. Apply with: ${p.rollbackRevision ? `daprup rollback --to-revision ${p.rollbackRevision}` : `daprup upgrade --to ${p.versionPolicy.target}`}`,
    );
  return out.join('\n');
}

export function renderStatus(s: StatusReport): string {
  const out: string[] = [];
  const r = s.release;
  out.push(`Release ${r.name} in ${r.namespace}: chart ${r.chartVersion}, Dapr ${r.version}, revision ${r.revision}, ${r.status}`);
  out.push(
    `HA: ${s.haEnabled ? 'on' : 'off'}    mTLS: ${s.mtlsEnabled === undefined ? 'unknown' : s.mtlsEnabled ? 'enabled' : 'disabled'}`,
  );
  out.push('', 'Control plane:');
  out.push(
    table(
      ['component', 'kind', 'ready', 'version'],
      s.controlPlane.map((c) => [c.name, c.kind, c.present ? `${c.ready}/${c.desired}` : 'missing', c.version]),
    ),
  );
  out.push('', 'Trust bundle:', s.trustBundle ? renderBundle(s.trustBundle) : '✖ Secret dapr-trust-bundle is missing');
  out.push('', 'Data plane:');
  out.push(
    s.dataPlane.length
      ? table(
          ['kind', 'namespace', 'name', 'sidecar', 'skew', 'pinned image'],
          s.dataPlane.map((w) => [w.kind, w.namespace, w.name, w.sidecarVersions.join(', ') || 'none', w.skew, w.pinnedImage]),
        )
      : '  (no Dapr-enabled workloads)',
  );
  if (s.sharedReleases.length) {
    out.push('', 'Dapr Shared releases:');
    out.push(
      table(
        ['release', 'namespace', 'chart', 'daprd', 'skew', 'sentry', 'mTLS'],
        s.sharedReleases.map((r) => [
          r.name,
          r.namespace,
          r.chartVersion,
          r.daprd,
          r.skew,
          r.sentryAddress,
          r.mtls === undefined ? '?' : r.mtls ? 'on' : 'off',
        ]),
      ),
    );
  }
  if (s.unreached.length) {
    out.push('', `Out of reach of daprup restart (${s.unreached.length}):`);
    for (const u of s.unreached) out.push(`  ${u.key}: ${u.note}`);
  }
  const u = s.unfinishedRun;
  if (u?.kind === 'rotate')
    out.push('', `Unfinished trust-bundle rotation ${u.runId}, stopped at ${u.step} (${u.status}). Resume with: daprup certs rotate --yes`);
  else if (u?.kind === 'rollback')
    out.push(
      '',
      `Unfinished rollback ${u.runId}: ${u.from} → ${u.target}, stopped at ${u.step} (${u.status}). Resume with: daprup rollback --yes`,
    );
  else if (u)
    out.push(
      '',
      `Unfinished run ${u.runId}: ${u.from} → ${u.target}, stopped at ${u.step} (${u.status}). Resume with: daprup upgrade --to ${u.target}`,
    );
  return out.join('\n');
}

export function renderRotationPlan(p: RotationPlan): string {
  const out: string[] = [];
  out.push(
    `Trust-bundle rotation of ${p.release.name} in ${p.release.namespace} (Dapr ${p.release.version}): ${p.mode === 'renew-issuer' ? 'a new issuer under the same root' : 'a new root, in three phases'}`,
  );
  out.push(`Roots now:   ${p.rootsBefore.join(', ')}`, `Roots after: ${p.rootsAfter.join(', ')}`, `New issuer:  ${p.newIssuer}`);
  if (p.newRootKeyFile) out.push(`New root key: ${p.newRootKeyFile} (0600; never printed)`);
  out.push('', 'Steps:');
  p.phases.forEach((s, i) => {
    out.push(`${String(i + 1).padStart(2)}. ${s.id} ${s.destructive ? '[DESTRUCTIVE] ' : ''}— ${s.title}: ${s.summary}`);
    for (const c of s.commands) out.push(`      $ ${redactArgs(c).join(' ')}`);
  });
  return out.join('\n');
}

/** `daprup plan` without --to: each target, how many hops it takes, and the notes along the way. */
export function renderTargets(list: TargetList): string {
  const r = list.release;
  const out = [`Release ${r.name} in ${r.namespace} runs Dapr ${r.version}. Versions worth upgrading to (${list.chart}):`, ''];
  if (!list.targets.length) return [...out, '  none: the newest supported release already runs.'].join('\n');
  out.push(
    table(
      ['target', 'change', 'path', 'notes'],
      list.targets.map((t) => [
        t.version,
        t.change,
        t.hops.length > 1 ? `${t.hops.length} hops: ${t.hops.join(' → ')}` : 'one hop',
        t.notes.map((n) => `${n.release}: ${n.text}`).join('\n') || '-',
      ]),
    ),
  );
  out.push('', `Plan one with: daprup plan --to ${list.targets.at(-1)!.version}`);
  return out.join('\n');
}
