// Helm values: what the user set, what changes, and which values must never be written down.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Values } from '../cluster/helm.js';
import { REDACTED } from '../cluster/redact.js';
import { TLS_VALUES } from './chart.js';

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A key segment as `helm --set` writes it: dots inside a key are escaped (`app\.kubernetes\.io/name`). */
const escapeSegment = (k: string) => k.replace(/\\/g, '\\\\').replace(/\./g, '\\.');

/** `a.b\.c` → `['a', 'b.c']`: splits on the dots helm splits on, unescaping the others. */
function splitKey(path: string): string[] {
  const keys: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\' && i + 1 < path.length) cur += path[++i];
    else if (c === '.') {
      keys.push(cur);
      cur = '';
    } else cur += c;
  }
  keys.push(cur);
  return keys;
}

/** `{a: {'b.c': 1}}` → `{'a.b\.c': 1}` (keys as `--set` takes them, so a dotted label key stays one key); arrays stay whole. */
export function flatten(values: Values, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const key = prefix ? `${prefix}.${escapeSegment(k)}` : escapeSegment(k);
    if (isObject(v) && Object.keys(v).length) Object.assign(out, flatten(v, key));
    else out[key] = v;
  }
  return out;
}

/** Values as Helm coalesces them: `over` wins key by key, and a null in `over` removes the key. */
export function coalesce(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isObject(v) && isObject(out[k]) ? coalesce(out[k] as Values, v) : v;
  }
  return out;
}

/**
 * Every default of a chart directory as the parent sees it: its values.yaml, and each subchart's defaults under
 * the subchart's name with the parent's values for it on top. Computed from the files, the same way for a chart
 * whose subcharts are plain charts/ folders (Dapr ≤ 1.15) and one that declares them as dependencies (1.16+),
 * whose release records differ: `helm get values --all` holds the subchart defaults only for the latter.
 */
export async function chartDefaults(chartDir: string): Promise<Values> {
  const own = (parseYaml(await readFile(join(chartDir, 'values.yaml'), 'utf8').catch(() => '')) ?? {}) as Values;
  const subDir = join(chartDir, 'charts');
  const entries = existsSync(subDir) ? await readdir(subDir, { withFileTypes: true }) : [];
  let out = own;
  for (const e of entries
    .filter((x) => x.isDirectory() && existsSync(join(subDir, x.name, 'Chart.yaml')))
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const meta = parseYaml(await readFile(join(subDir, e.name, 'Chart.yaml'), 'utf8')) as { name?: string };
    const name = meta.name ?? e.name;
    const { global: _global, ...sub } = await chartDefaults(join(subDir, e.name));
    out = { ...out, [name]: coalesce(sub, isObject(own[name]) ? own[name] : {}) };
  }
  return out;
}

export function setPath(values: Values, path: string, value: unknown): Values {
  const keys = splitKey(path);
  const out = structuredClone(values);
  let cur = out;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Values;
  }
  cur[keys.at(-1)!] = value;
  return out;
}

export function getPath(values: Values, path: string): unknown {
  return splitKey(path).reduce<unknown>((cur, k) => (isObject(cur) ? cur[k] : undefined), values);
}

function deletePath(values: Values, path: string): void {
  const keys = splitKey(path);
  const parent = keys.slice(0, -1).reduce<unknown>((cur, k) => (isObject(cur) ? cur[k] : undefined), values);
  if (isObject(parent)) delete parent[keys.at(-1)!];
}

/** User values without the trust-bundle PEMs: those travel only through --set-file from the 0600 export. */
export function withoutTlsValues(values: Values): Values {
  const out = structuredClone(values);
  for (const path of Object.values(TLS_VALUES)) deletePath(out, path);
  return out;
}

/** The value of one `--set key=value` as Helm would type it (enough for a plan's preview). */
function parseSetValue(raw: string): unknown {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  if (/^-?\d+$/.test(raw) && String(Number(raw)) === raw) return Number(raw);
  return raw;
}

/** Parses `a.b=c` (the first `=` splits); an invalid entry is a usage error for the caller. */
export function parseSetFlag(flag: string): { key: string; value: unknown } | undefined {
  const eq = flag.indexOf('=');
  if (eq <= 0) return undefined;
  const key = flag.slice(0, eq);
  if (!/^[A-Za-z0-9_\-[\].\\/]+$/.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) return undefined;
  return { key, value: parseSetValue(flag.slice(eq + 1)) };
}

/**
 * Values the chart passes through `tpl` (global.k8sLabels holds `{{ .Release.Name }}`), rendered for the plan
 * the way helm will: the release's own fields and global values. Anything else stays as written.
 */
export function renderValueTemplates(values: Values, release: { name: string; namespace: string }): Values {
  const fields: Record<string, unknown> = {
    'Release.Name': release.name,
    'Release.Namespace': release.namespace,
    'Release.Service': 'Helm',
  };
  const render = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/\{\{-?\s*\.(Release\.\w+|Values(?:\.\w+)+)\s*-?\}\}/g, (whole, path: string) => {
        const value = path.startsWith('Values.') ? getPath(values, path.slice('Values.'.length)) : fields[path];
        return value === undefined || (typeof value === 'object' && value !== null) ? whole : String(value);
      });
    }
    if (Array.isArray(v)) return v.map(render);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x)]));
    return v;
  };
  return render(values) as Values;
}

export interface ValueChange {
  key: string;
  from: unknown;
  to: unknown;
}

const SECRETISH = /keyPEM|certPEM|password|token|secret/i;

/** Flat differences between two value trees, secrets shown as <redacted>. */
export function diffValues(before: Values, after: Values): ValueChange[] {
  const [a, b] = [flatten(before), flatten(after)];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changes: ValueChange[] = [];
  for (const key of keys) {
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    const shown = (v: unknown) => (v !== undefined && v !== '' && SECRETISH.test(key) ? REDACTED : v);
    changes.push({ key, from: shown(a[key]), to: shown(b[key]) });
  }
  return changes;
}
