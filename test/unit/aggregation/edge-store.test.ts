import { describe, expect, it } from 'vitest';
import { EdgeStore, type PendingEdge } from '../../../collector/aggregation/service-graph/store.js';

const T1 = '1'.repeat(32);
const T2 = '2'.repeat(32);

function store(ttl = 1000, max = 3) {
  const completed: [string, string][] = [];
  const expired: PendingEdge<string, string>[] = [];
  const s = new EdgeStore<string, string>(ttl, max, (c, v) => completed.push([c, v]), (e) => expired.push(e));
  return { s, completed, expired };
}

describe('EdgeStore', () => {
  it('completes an edge when the second half arrives, in either order', () => {
    const { s, completed } = store();
    expect(s.upsertClient(T1, 'a1', 'c1', 0)).toBe('stored');
    expect(s.upsertServer(T1, 'a1', 's1', 10)).toBe('completed');
    expect(s.upsertServer(T1, 'a2', 's2', 20)).toBe('stored');
    expect(s.upsertClient(T1, 'a2', 'c2', 30)).toBe('completed');
    expect(completed).toEqual([
      ['c1', 's1'],
      ['c2', 's2'],
    ]);
    expect(s.size).toBe(0);
  });

  it('keeps halves of different traces apart even when their span ids collide', () => {
    const { s, completed } = store();
    expect(s.upsertClient(T1, 'same', 'c1', 0)).toBe('stored');
    expect(s.upsertClient(T2, 'same', 'c2', 0)).toBe('stored');
    expect(s.upsertServer(T2, 'same', 's2', 0)).toBe('completed');
    expect(s.upsertServer(T1, 'same', 's1', 0)).toBe('completed');
    expect(completed).toEqual([
      ['c2', 's2'],
      ['c1', 's1'],
    ]);
  });

  it('reports a second copy of the same half as a duplicate and keeps the first', () => {
    const { s, completed } = store();
    s.upsertClient(T1, 'k', 'first', 0);
    expect(s.upsertClient(T1, 'k', 'again', 1)).toBe('duplicate');
    s.upsertServer(T1, 'k', 'server', 2);
    expect(completed).toEqual([['first', 'server']]);
  });

  it('drops new halves when full instead of growing', () => {
    const { s } = store(1000, 2);
    s.upsertClient(T1, 'a', 'a', 0);
    s.upsertClient(T1, 'b', 'b', 0);
    expect(s.upsertClient(T1, 'c', 'c', 0)).toBe('dropped');
    expect(s.size).toBe(2);
    // Completing a pending edge still works at capacity.
    expect(s.upsertServer(T1, 'a', 'sa', 0)).toBe('completed');
  });

  it('expires entries older than the TTL only when told to, oldest first', () => {
    const { s, expired } = store(1000, 10);
    s.upsertClient(T1, 'a', 'a', 0);
    s.upsertServer(T1, 'b', 'b', 500);
    expect(s.expire(999)).toBe(0);
    expect(s.expire(1000)).toBe(1);
    expect(expired.map((e) => e.client ?? e.server)).toEqual(['a']);
    expect(s.expire(1500)).toBe(1);
    expect(expired[1]!.server).toBe('b');
    expect(expired[1]!.client).toBeUndefined();
  });

  it('expires at most `max` entries per call, oldest first, the rest on the next calls', () => {
    const { s, expired } = store(1000, 10);
    for (const id of ['a', 'b', 'c', 'd', 'e']) s.upsertClient(T1, id, id, 0);
    expect(s.expire(1000, 2)).toBe(2);
    expect(s.size).toBe(3);
    expect(s.expire(1000, 2)).toBe(2);
    expect(s.expire(1000, 2)).toBe(1);
    expect(s.expire(1000, 2)).toBe(0);
    expect(expired.map((e) => e.client)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('expires everything on flush', () => {
    const { s, expired } = store(60_000, 10);
    s.upsertClient(T1, 'a', 'a', 0);
    s.upsertClient(T1, 'b', 'b', 0);
    expect(s.expireAll()).toBe(2);
    expect(expired).toHaveLength(2);
  });
});
