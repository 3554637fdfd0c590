// Small helpers shared by the benchmarks: medians, formatting, and plain-text tables.

export const median = (xs: readonly number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const ms = (x: number): string =>
  Number.isFinite(x)
    ? x >= 10_000
      ? `${(x / 1000).toFixed(1)} s`
      : x >= 1000
        ? `${(x / 1000).toFixed(2)} s`
        : `${Math.round(x)} ms`
    : '-';
export const mib = (kib: number | undefined): string =>
  kib === undefined || !Number.isFinite(kib) ? '-' : `${(kib / 1024).toFixed(0)} MiB`;
export const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '-');

/** A GitHub-flavoured Markdown table (readable as plain text too), columns padded. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export interface Verdict {
  benchmark: string;
  target: string;
  measured: string;
  met: boolean;
  /** "by how much", e.g. "0.18× under the limit" or "1.4 s over". */
  margin: string;
}

export const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative number`);
  return n;
};

export const envList = (name: string, fallback: number[]): number[] => {
  const v = process.env[name];
  return v
    ? v
        .split(',')
        .map((x) => Number(x.trim()))
        .filter((x) => Number.isFinite(x) && x > 0)
    : fallback;
};
