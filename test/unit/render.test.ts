// The table renderer: plain-text tables are drawn directly, and must look exactly as cli-table3 draws them.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { table } from '../../src/ui/render.js';

const Table = createRequire(import.meta.url)('cli-table3') as typeof import('cli-table3');
const cliTable3 = (head: string[], rows: string[][]) => {
  const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true });
  for (const r of rows) t.push(r);
  return t.toString();
};

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number) {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const text = () => Array.from({ length: Math.floor(next() * 14) }, () => 'ab -_/.:0123456789XYZ\n '[Math.floor(next() * 24)]).join('');
  return { next, text };
}

describe('table', () => {
  it('draws plain text exactly as cli-table3 does', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = random(seed);
      const columns = 1 + Math.floor(r.next() * 5);
      const head = r.next() < 0.1 ? [] : Array.from({ length: columns }, r.text);
      const rows = Array.from({ length: Math.floor(r.next() * 6) }, () => Array.from({ length: columns }, r.text));
      if (!head.length && !rows.length) continue;
      expect(table(head, rows), `seed ${seed}`).toBe(cliTable3(head, rows));
    }
  });

  it('uses cli-table3 for anything that is not plain ASCII, and shows undefined as "-"', () => {
    expect(table(['check', 'result'], [['✔ bundle', 'ok'], ['wide', '漢字']])).toBe(cliTable3(['check', 'result'], [['✔ bundle', 'ok'], ['wide', '漢字']]));
    expect(table(['a', 'b'], [[undefined, 3]])).toBe(cliTable3(['a', 'b'], [['-', '3']]));
  });

  it('draws 2,000 rows: two lines a row and the frame', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ['Deployment', `ns-${i % 100}`, `app-${i}`, '1.16.19', 'will be restarted']);
    const text = table(['kind', 'namespace', 'name', 'sidecar', 'action'], rows);
    expect(text.split('\n')).toHaveLength(2 * 2000 + 3);
  });
});
