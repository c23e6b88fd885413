import { describe, expect, it } from 'vitest';
import { ExportBudget } from '../../../exporters/jaeger/export-budget.js';
import { ids, trace } from './spans.js';

const SLOW_MS = 1000;

describe('ExportBudget', () => {
  it('keeps every span while within the budget', () => {
    const budget = new ExportBudget({ rate: 100, burst: 20 }, SLOW_MS, 0);
    const batch = [...trace(1, 8), ...trace(2, 12)];
    const kept = budget.select(batch, 0);
    expect(ids(kept)).toEqual(ids(batch));
    // A copy: the caller may keep using its own array.
    expect(kept).not.toBe(batch);
    // 100 spans/s: 10 spans' worth back after 100 ms.
    expect(budget.select(trace(3, 10), 100)).toHaveLength(10);
  });

  it('over the budget keeps whole traces, error and slow traces first, in arrival order within each group', () => {
    const budget = new ExportBudget({ rate: 10, burst: 10 }, SLOW_MS, 0);
    const batch = [
      ...trace(1, 3),
      ...trace(2, 2, { error: true }),
      ...trace(3, 4),
      ...trace(4, 3, { ms: 1500 }),
      ...trace(5, 2),
      ...trace(6, 2, { attributes: [{ key: 'http.response.status_code', value: 503n }] }),
    ];
    const kept = budget.select(batch, 0);
    // 10 tokens: the error trace (2), the slow trace (3) and the 5xx trace (2) first; then the
    // others in arrival order while they fit whole: trace 1 (3) fits, 3 (4) does not, 5 (2) does not.
    expect(ids(kept)).toEqual(['2:0', '2:1', '4:0', '4:1', '4:2', '6:0', '6:1', '1:0', '1:1', '1:2']);
    // Every token is spent: nothing more now, and the caller counts 18 - 10 spans sampled out.
    expect(budget.select(trace(7, 1, { error: true }), 0)).toEqual([]);
  });

  it('skips a trace that does not fit whole and fills the rest with smaller ones', () => {
    const budget = new ExportBudget({ rate: 5, burst: 5 }, SLOW_MS, 0);
    const kept = budget.select([...trace(1, 4), ...trace(2, 3), ...trace(3, 1)], 0);
    expect(ids(kept)).toEqual(['1:0', '1:1', '1:2', '1:3', '3:0']);
  });

  it('comes back at its rate', () => {
    const budget = new ExportBudget({ rate: 10, burst: 10 }, SLOW_MS, 0);
    expect(budget.select(trace(1, 10), 0)).toHaveLength(10);
    expect(budget.select(trace(2, 3), 200)).toEqual([]); // 2 tokens back
    // 5 tokens at 500 ms: trace 3 (3 spans) fits, trace 4 (4) no longer does.
    expect(ids(budget.select([...trace(3, 3), ...trace(4, 4)], 500))).toEqual(['3:0', '3:1', '3:2']);
    expect(ids(budget.select(trace(5, 2), 500))).toEqual(['5:0', '5:1']);
    expect(budget.select(trace(6, 1), 500)).toEqual([]);
  });

  it('never lets one batch larger than the burst through whole: error traces still go first', () => {
    // A batch far over the burst arriving at a full bucket must not take everything (and leave
    // the budget in debt, so that the next batches' error traces are sampled out).
    const budget = new ExportBudget({ rate: 10, burst: 10 }, SLOW_MS, 0);
    const big = [...trace(1, 8), ...trace(2, 2, { error: true }), ...Array.from({ length: 20 }, (_, i) => trace(10 + i, 1)).flat()];
    const kept = budget.select(big, 0);
    expect(kept.length).toBeLessThanOrEqual(10);
    expect(ids(kept).slice(0, 2)).toEqual(['2:0', '2:1']);
    // No debt left behind: one second later the budget is whole again, and a batch within it
    // passes whole, in arrival order.
    expect(ids(budget.select([...trace(40, 5), ...trace(41, 1, { error: true })], 1000))).toEqual(['40:0', '40:1', '40:2', '40:3', '40:4', '41:0']);
  });
});
