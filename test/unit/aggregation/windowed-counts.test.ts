import { describe, expect, it } from 'vitest';
import { REQUESTS, WindowedCounts } from '../../../collector/aggregation/traffic/windowed-counts.js';

const SLOT = 10_000;

function counts(slots = 8) {
  const w = new WindowedCounts(SLOT, slots, 2);
  const add = (at: number, n: number) => {
    w.slot(at)[REQUESTS]! += n;
  };
  const sum = (now: number, windowMs: number, since = 0) => {
    const out = new Float64Array(w.width);
    const covered = w.sum(now, windowMs, since, out);
    return { requests: out[REQUESTS], covered };
  };
  return { w, add, sum };
}

describe('WindowedCounts', () => {
  it('sums the current slot and the whole slots of the window before it, and says how long that is', () => {
    const { add, sum } = counts();
    add(5_000, 1); // slot 0
    add(15_000, 2); // slot 1
    add(25_000, 4); // slot 2
    add(31_000, 8); // slot 3 (current)
    // 10s window at t=34s: the current slot (30-34s) and slot 2 (20-30s): 14 s.
    expect(sum(34_000, 10_000)).toEqual({ requests: 12, covered: 14_000 });
    expect(sum(34_000, 20_000)).toEqual({ requests: 14, covered: 24_000 });
    expect(sum(34_000, 60_000)).toEqual({ requests: 15, covered: 34_000 });
  });

  it('covers no time before `since` (a young collector or workload)', () => {
    const { add, sum } = counts();
    add(31_000, 10);
    expect(sum(34_000, 60_000, 30_500)).toEqual({ requests: 10, covered: 3_500 });
  });

  it('forgets slots the ring has turned past, and reuses them zeroed', () => {
    const { add, sum } = counts(3);
    add(1_000, 5); // slot 0
    add(31_000, 7); // slot 3 reuses slot 0's place
    expect(sum(31_000, 20_000).requests).toBe(7);
    expect(sum(95_000, 20_000).requests).toBe(0);
  });

  it('reports when it was last written', () => {
    const { w, add } = counts();
    expect(w.lastActive()).toBe(-Infinity);
    add(12_000, 1);
    expect(w.lastActive()).toBe(20_000);
  });
});
