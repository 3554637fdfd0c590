// Helm values: what the user set, what changes, and which values must never be written down.
import type { Values } from '../cluster/helm.js';
import { REDACTED } from '../cluster/redact.js';
import { TLS_VALUES } from './chart.js';

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{a: {b: 1}}` → `{'a.b': 1}`; arrays stay whole. */
export function flatten(values: Values, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && Object.keys(v).length) Object.assign(out, flatten(v, key));
    else out[key] = v;
  }
  return out;
}

export function deepMerge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Values, v) : v;
  return out;
}

export function setPath(values: Values, path: string, value: unknown): Values {
  const keys = path.split('.');
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
  return path.split('.').reduce<unknown>((cur, k) => (isObject(cur) ? cur[k] : undefined), values);
}

function deletePath(values: Values, path: string): void {
  const keys = path.split('.');
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
export function parseSetValue(raw: string): unknown {
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
  if (!/^[A-Za-z0-9_\-[\].]+$/.test(key) || key.startsWith('.') || key.endsWith('.') || key.includes('..')) return undefined;
  return { key, value: parseSetValue(flag.slice(eq + 1)) };
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
