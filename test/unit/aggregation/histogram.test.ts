import { describe, expect, it } from 'vitest';
import { bucketIndex, quantile, Rebucketer } from '../../../collector/aggregation/histogram.js';

describe('bucketIndex', () => {
  const bounds = [1, 2, 5];
  it('puts a value on a bound into that bound’s bucket (le semantics)', () => {
    expect(bucketIndex(bounds, 1)).toBe(0);
    expect(bucketIndex(bounds, 2)).toBe(1);
    expect(bucketIndex(bounds, 5)).toBe(2);
  });
  it('puts values between bounds into the next bucket and values above all bounds into overflow', () => {
    expect(bucketIndex(bounds, 0)).toBe(0);
    expect(bucketIndex(bounds, 1.5)).toBe(1);
    expect(bucketIndex(bounds, 5.0001)).toBe(3);
  });
});

describe('quantile', () => {
  const bounds = [10, 20, 40];
  it('interpolates linearly inside the bucket holding the rank, like histogram_quantile', () => {
    // 10 values in (0,10], 10 in (10,20]: the median sits on 10, p75 half-way into (10,20].
    const counts = [10, 10, 0, 0];
    expect(quantile(0.5, bounds, counts)).toBe(10);
    expect(quantile(0.75, bounds, counts)).toBe(15);
  });
  it('returns the highest finite bound when the rank falls above all bounds', () => {
    expect(quantile(0.99, bounds, [0, 0, 1, 9])).toBe(40);
  });
  it('returns null without observations', () => {
    expect(quantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
  });
});

describe('Rebucketer', () => {
  it('maps an identical layout one to one', () => {
    const r = new Rebucketer([1, 2, 3]);
    const out = new Float64Array(4);
    r.add([1, 2, 3], [4, 3, 2, 1], out);
    expect([...out]).toEqual([4, 3, 2, 1]);
  });

  it('spreads a coarse bucket over the finer buckets it covers, in proportion to the overlap', () => {
    const r = new Rebucketer([1, 2, 3, 4]);
    const out = new Float64Array(5);
    // One source bucket (0, 4] holding 8 values: 2 per unit-wide target bucket.
    r.add([4], [8, 0], out);
    expect([...out]).toEqual([2, 2, 2, 2, 0]);
  });

  it('keeps the total count whatever the layouts', () => {
    const r = new Rebucketer([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
    const source = [0.001, 0.003, 0.007, 0.02, 0.3, 2];
    const counts = [5, 1, 7, 3, 11, 2, 4];
    const out = new Float64Array(9);
    r.add(source, counts, out);
    const total = counts.reduce((a, b) => a + b, 0);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(total, 9);
  });

  it('puts what is above every source bound into the target bucket just above that bound', () => {
    const r = new Rebucketer([1, 2, 10]);
    const out = new Float64Array(4);
    r.add([2], [0, 5], out);
    expect([...out]).toEqual([0, 0, 5, 0]);
  });

  it('keeps the quantile a source-layout interpolation gives when the target refines the source', () => {
    const target = [0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.02, 0.025, 0.05];
    const r = new Rebucketer(target);
    const source = [0.005, 0.01, 0.025, 0.05];
    const counts = [40, 30, 20, 10, 0];
    const out = new Float64Array(target.length + 1);
    r.add(source, counts, out);
    for (const q of [0.5, 0.9, 0.95]) {
      expect(quantile(q, target, out)).toBeCloseTo(quantile(q, source, counts)!, 9);
    }
  });

  it('keeps a quantile within the target bucket holding the source estimate otherwise', () => {
    const target = [0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.02, 0.05];
    const r = new Rebucketer(target);
    const source = [0.005, 0.01, 0.025, 0.05];
    const counts = [40, 30, 20, 10, 0];
    const out = new Float64Array(target.length + 1);
    r.add(source, counts, out);
    for (const q of [0.5, 0.9, 0.95]) {
      const expected = quantile(q, source, counts)!;
      const i = target.findIndex((b) => expected <= b);
      const estimate = quantile(q, target, out)!;
      expect(estimate).toBeGreaterThanOrEqual(i === 0 ? 0 : target[i - 1]!);
      expect(estimate).toBeLessThanOrEqual(target[i]!);
    }
  });
});
