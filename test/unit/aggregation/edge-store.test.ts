import { describe, expect, it } from 'vitest';
import { EdgeStore, type PendingEdge } from '../../../collector/aggregation/service-graph/store.js';

function store(ttl = 1000, max = 3) {
  const completed: [string, string][] = [];
  const expired: PendingEdge<string, string>[] = [];
  const s = new EdgeStore<string, string>(ttl, max, (c, v) => completed.push([c, v]), (e) => expired.push(e));
  return { s, completed, expired };
}

describe('EdgeStore', () => {
  it('completes an edge when the second half arrives, in either order', () => {
    const { s, completed } = store();
    expect(s.upsertClient('k1', 'c1', 0)).toBe('stored');
    expect(s.upsertServer('k1', 's1', 10)).toBe('completed');
    expect(s.upsertServer('k2', 's2', 20)).toBe('stored');
    expect(s.upsertClient('k2', 'c2', 30)).toBe('completed');
    expect(completed).toEqual([
      ['c1', 's1'],
      ['c2', 's2'],
    ]);
    expect(s.size).toBe(0);
  });

  it('reports a second copy of the same half as a duplicate and keeps the first', () => {
    const { s, completed } = store();
    s.upsertClient('k', 'first', 0);
    expect(s.upsertClient('k', 'again', 1)).toBe('duplicate');
    s.upsertServer('k', 'server', 2);
    expect(completed).toEqual([['first', 'server']]);
  });

  it('drops new halves when full instead of growing', () => {
    const { s } = store(1000, 2);
    s.upsertClient('a', 'a', 0);
    s.upsertClient('b', 'b', 0);
    expect(s.upsertClient('c', 'c', 0)).toBe('dropped');
    expect(s.size).toBe(2);
    // Completing a pending edge still works at capacity.
    expect(s.upsertServer('a', 'sa', 0)).toBe('completed');
  });

  it('expires entries older than the TTL only when told to, oldest first', () => {
    const { s, expired } = store(1000, 10);
    s.upsertClient('a', 'a', 0);
    s.upsertServer('b', 'b', 500);
    expect(s.expire(999)).toBe(0);
    expect(s.expire(1000)).toBe(1);
    expect(expired.map((e) => e.client ?? e.server)).toEqual(['a']);
    expect(s.expire(1500)).toBe(1);
    expect(expired[1]!.server).toBe('b');
    expect(expired[1]!.client).toBeUndefined();
  });

  it('expires everything on flush', () => {
    const { s, expired } = store(60_000, 10);
    s.upsertClient('a', 'a', 0);
    s.upsertClient('b', 'b', 0);
    expect(s.expireAll()).toBe(2);
    expect(expired).toHaveLength(2);
  });
});
