import { describe, expect, it } from 'vitest';
import { SeriesTable, seriesFor, seriesKey, type Series } from '../../../collector/aggregation/series-table.js';

describe('seriesKey', () => {
  it('never gives two different label lists the same key, whatever separators they contain', () => {
    expect(seriesKey(['a:b', 'c'])).not.toBe(seriesKey(['a', 'b:c']));
    expect(seriesKey(['1:a', 'b'])).not.toBe(seriesKey(['1', 'a:b']));
    expect(seriesKey(['a\u0000b', 'c'])).not.toBe(seriesKey(['a', 'b\u0000c']));
    expect(seriesKey(['x', 'y'])).toBe(seriesKey(['x', 'y']));
  });
});

interface N extends Series {
  n: number;
}

describe('SeriesTable', () => {
  const table = (limit: number) => new SeriesTable<N>('f', ['a', 'b'], limit, () => ({ n: 0 }));

  it('creates one series per label set, with stable labels objects', () => {
    const t = table(10);
    seriesFor(t, ['x', 'y'], 0).n++;
    seriesFor(t, ['x', 'y'], 0).n++;
    seriesFor(t, ['x', 'z'], 0).n++;
    const entries = [...t.entries()];
    expect(entries.map(([l, s]) => [l, s.n])).toEqual([
      [{ a: 'x', b: 'y' }, 2],
      [{ a: 'x', b: 'z' }, 1],
    ]);
    expect([...t.entries()][0]![0]).toBe(entries[0]![0]);
  });

  it('sends new label sets to one overflow series at the limit, and counts them', () => {
    const t = table(2);
    for (const v of ['1', '2', '3', '4', '3']) seriesFor(t, [v, v], 0).n++;
    expect(t.size).toBe(2);
    expect(t.overflowed).toBe(3);
    const overflow = [...t.entries()].at(-1)!;
    expect(overflow[0]).toEqual({ otel_metric_overflow: 'true' });
    expect(overflow[1].n).toBe(3);
    // Existing series keep counting normally at the limit.
    seriesFor(t, ['1', '1'], 0).n++;
    expect(t.get(seriesKey(['1', '1']), 0)!.n).toBe(2);
  });

  it('sweeps series not updated within the TTL, counting a lookup as an update', () => {
    const t = table(10);
    seriesFor(t, ['old', 'x'], 1_000);
    seriesFor(t, ['kept', 'x'], 1_000);
    seriesFor(t, ['new', 'x'], 5_000);
    t.get(seriesKey(['kept', 'x']), 5_500);
    expect(t.sweep(6_000, 2_000)).toBe(1);
    expect([...t.entries()].map(([l]) => l.a)).toEqual(['kept', 'new']);
  });
});
