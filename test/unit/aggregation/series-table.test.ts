import { describe, expect, it } from 'vitest';
import { SeriesTable, seriesKey } from '../../../collector/aggregation/series-table.js';

describe('seriesKey', () => {
  it('never gives two different label lists the same key, whatever separators they contain', () => {
    expect(seriesKey('a:b', 'c')).not.toBe(seriesKey('a', 'b:c'));
    expect(seriesKey('1:a', 'b')).not.toBe(seriesKey('1', 'a:b'));
    expect(seriesKey('a\u0000b', 'c')).not.toBe(seriesKey('a', 'b\u0000c'));
    expect(seriesKey('x', 'y')).toBe(seriesKey('x', 'y'));
  });
});

describe('SeriesTable', () => {
  const table = (limit: number) => new SeriesTable('f', ['a', 'b'], limit, () => ({ n: 0 }));

  it('creates one series per label set, with stable labels objects', () => {
    const t = table(10);
    t.get(seriesKey('x', 'y'), () => ['x', 'y'], 0).n++;
    t.get(seriesKey('x', 'y'), () => ['x', 'y'], 0).n++;
    t.get(seriesKey('x', 'z'), () => ['x', 'z'], 0).n++;
    const entries = [...t.entries()];
    expect(entries.map(([l, s]) => [l, s.n])).toEqual([
      [{ a: 'x', b: 'y' }, 2],
      [{ a: 'x', b: 'z' }, 1],
    ]);
    expect([...t.entries()][0]![0]).toBe(entries[0]![0]);
  });

  it('sends new label sets to one overflow series at the limit, and counts them', () => {
    const t = table(2);
    for (const v of ['1', '2', '3', '4', '3']) t.get(seriesKey(v, v), () => [v, v], 0).n++;
    expect(t.size).toBe(2);
    expect(t.overflowed).toBe(3);
    const overflow = [...t.entries()].at(-1)!;
    expect(overflow[0]).toEqual({ otel_metric_overflow: 'true' });
    expect(overflow[1].n).toBe(3);
    // Existing series keep counting normally at the limit.
    t.get(seriesKey('1', '1'), () => ['1', '1'], 0).n++;
    expect(t.peek(seriesKey('1', '1'))!.n).toBe(2);
  });

  it('sweeps series not updated within the TTL', () => {
    const t = table(10);
    t.get(seriesKey('old', 'x'), () => ['old', 'x'], 1_000);
    t.get(seriesKey('new', 'x'), () => ['new', 'x'], 5_000);
    expect(t.sweep(6_000, 2_000)).toBe(1);
    expect([...t.entries()].map(([l]) => l.a)).toEqual(['new']);
  });
});
