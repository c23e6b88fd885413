import { describe, expect, it } from 'vitest';
import { SpanQueue, spansOf, tracesOf } from '../../../exporters/jaeger/span-queue.js';
import { batchOf, ids, queued, RESOURCE, SCOPE, trace } from './spans.js';

describe('SpanQueue', () => {
  it('takes what fits and says how much, so the rest can be counted', () => {
    const q = new SpanQueue(5);
    expect(q.offer(trace(1, 3), 0)).toBe(3);
    expect(q.offer(trace(2, 4), 0)).toBe(2);
    expect(q.size).toBe(5);
    expect(q.offer(trace(3, 1), 0)).toBe(0);
    // What fitted is the head of the offer, in order.
    expect(ids(q.take(10))).toEqual(['1:0', '1:1', '1:2', '2:0', '2:1']);
    expect(q.size).toBe(0);
    expect(q.take(3)).toEqual([]);
  });

  it('is first in, first out, across offers and partial takes', () => {
    const q = new SpanQueue(100);
    q.offer(trace(1, 3), 0);
    q.offer(trace(2, 3), 1);
    expect(ids(q.take(2))).toEqual(['1:0', '1:1']);
    q.offer(trace(3, 2), 2);
    expect(ids(q.take(3))).toEqual(['1:2', '2:0', '2:1']);
    expect(ids(q.take(100))).toEqual(['2:2', '3:0', '3:1']);
  });

  it('frees room as spans are taken: the bound is on what waits, not on what ever came', () => {
    const q = new SpanQueue(4);
    expect(q.offer(trace(1, 4), 0)).toBe(4);
    q.take(3);
    expect(q.offer(trace(2, 5), 0)).toBe(3);
    expect(ids(q.take(10))).toEqual(['1:3', '2:0', '2:1', '2:2']);
  });

  it('knows when its oldest waiting span came in', () => {
    const q = new SpanQueue(10);
    expect(q.oldest()).toBeUndefined();
    q.offer(trace(1, 2), 100);
    q.offer(trace(2, 2), 250);
    expect(q.oldest()).toBe(100);
    q.take(1);
    expect(q.oldest()).toBe(100);
    q.take(1);
    expect(q.oldest()).toBe(250);
    q.take(2);
    expect(q.oldest()).toBeUndefined();
    q.offer(trace(3, 1), 400);
    expect(q.oldest()).toBe(400);
  });

  it('compacts its storage as spans leave, staying correct across compactions', () => {
    const q = new SpanQueue(3000);
    // Internal storage, read only to check that memory follows the queue's size.
    const storage = () => (q as unknown as { items: unknown[] }).items.length;
    let next = 0;
    let expected = 0;
    let maxStorage = 0;
    for (let round = 0; round < 40; round++) {
      const spans = Array.from({ length: 700 }, () => queued(1, 0));
      for (const s of spans) s.span = { ...s.span, name: String(next++) };
      expect(q.offer(spans, round)).toBe(Math.min(700, 3000 - q.size));
      // Only whole offers fit here (the queue never holds more than 1,400 below).
      const taken = q.take(round % 2 === 0 ? 300 : 1100);
      for (const t of taken) expect(Number(t.span.name)).toBe(expected++);
      maxStorage = Math.max(maxStorage, storage());
      // The oldest waiting span is the one taken next: its offer's time survives compaction.
      if (q.size > 0) expect(q.oldest()).toBe(Math.floor(expected / 700));
    }
    expect(next).toBe(28_000);
    // 28,000 spans went through; storage stayed within a small multiple of what waited.
    expect(maxStorage).toBeLessThan(3 * 1400 + 1024);
    expect(ids(q.take(10_000)).length).toBe(next - expected);
  });
});

describe('spansOf and tracesOf', () => {
  it('flatten a batch and rebuild it, spans of the same resource and scope together', () => {
    const other = { attributes: [{ key: 'service.name', value: 'payments' }], droppedAttributesCount: 0 };
    const spans = [queued(1, 0), queued(2, 0, { resource: other }), queued(1, 1)];
    const data = tracesOf(spans);
    expect(data.resourceSpans.map((rs) => rs.resource)).toEqual([RESOURCE, other]);
    expect(data.resourceSpans[0]!.scopeSpans.map((ss) => ss.scope)).toEqual([SCOPE]);
    expect(ids(data.resourceSpans[0]!.scopeSpans[0]!.spans)).toEqual(['1:0', '1:1']);
    expect(ids(spansOf(data))).toEqual(['1:0', '1:1', '2:0']);
    expect(ids(spansOf(batchOf(trace(4, 2))))).toEqual(['4:0', '4:1']);
  });
});
