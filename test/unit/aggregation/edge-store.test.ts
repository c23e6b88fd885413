import { describe, expect, it } from 'vitest';
import { EdgeStore, type Half, type PendingEdge } from '../../../collector/aggregation/service-graph/store.js';
import { Random } from '../../../bench/mesh/random.js';

const T1 = '1'.repeat(32);
const T2 = 'ab'.repeat(16);

/** A span id from a short name: hex, 16 characters. */
function sid(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** A half named by its workload (the tests follow halves by name), on trace `traceId`. */
function half(name: string, traceId = T1, spanId = sid(0xfff), fields: Partial<Half> = {}): Half {
  return {
    workload: { namespace: 'ns', name },
    traceId,
    spanId,
    seconds: 0.25,
    startMs: 1_700_000_000_123,
    failed: false,
    tls: undefined,
    weight: 1,
    messaging: false,
    peer: undefined,
    peerType: '',
    ...fields,
  };
}

function store(ttl = 1000, max = 3) {
  const completed: [Half, Half][] = [];
  const expired: PendingEdge[] = [];
  const s = new EdgeStore(ttl, max, (c, v) => completed.push([c, v]), (e) => expired.push(e));
  const names = () => completed.map(([c, v]) => [c.workload.name, v.workload.name]);
  return { s, completed, expired, names };
}

describe('EdgeStore', () => {
  it('completes an edge when the second half arrives, in either order', () => {
    const { s, names } = store();
    expect(s.upsertClient(T1, sid(1), half('c1'), 0)).toBe('stored');
    expect(s.upsertServer(T1, sid(1), half('s1'), 10)).toBe('completed');
    expect(s.upsertServer(T1, sid(2), half('s2'), 20)).toBe('stored');
    expect(s.upsertClient(T1, sid(2), half('c2'), 30)).toBe('completed');
    expect(names()).toEqual([
      ['c1', 's1'],
      ['c2', 's2'],
    ]);
    expect(s.size).toBe(0);
  });

  it('gives back every field of a stored half, its own span id included', () => {
    const { s, completed, expired } = store(1000, 10);
    const client = half('client', T2, sid(0xc1), { seconds: 0.125, startMs: 1_700_000_000_001.5, failed: true, tls: true, weight: 8, peer: 'db.example', peerType: 'database' });
    const server = half('server', T2, sid(0x51), { seconds: 0.5, failed: false, tls: false, weight: 2, messaging: true });
    s.upsertClient(T2, sid(0xc1), client, 0);
    s.upsertClient(T1, sid(0xc2), { ...client, traceId: T1, spanId: sid(0xc2) }, 0);
    s.upsertServer(T2, sid(0xc1), server, 5);
    s.upsertServer(T1, sid(0xc3), { ...server, traceId: T1 }, 5);
    s.upsertClient(T1, sid(0xc3), half('late client', T1, sid(0xc3)), 6);
    expect(completed[0]).toEqual([client, server]);
    expect(completed[1]![1]).toEqual({ ...server, traceId: T1 });
    s.expireAll();
    expect(expired).toEqual([{ client: { ...client, traceId: T1, spanId: sid(0xc2) }, server: undefined }]);
    // An expired server half comes back with its own span id, not its parent's.
    s.upsertServer(T2, sid(0xaa), server, 10);
    s.expireAll();
    expect(expired[1]).toEqual({ client: undefined, server });
  });

  it('keeps halves of different traces apart even when their span ids collide', () => {
    const { s, names } = store();
    expect(s.upsertClient(T1, sid(7), half('c1'), 0)).toBe('stored');
    expect(s.upsertClient(T2, sid(7), half('c2', T2), 0)).toBe('stored');
    expect(s.upsertServer(T2, sid(7), half('s2', T2), 0)).toBe('completed');
    expect(s.upsertServer(T1, sid(7), half('s1'), 0)).toBe('completed');
    expect(names()).toEqual([
      ['c2', 's2'],
      ['c1', 's1'],
    ]);
  });

  it('reports a second copy of the same half as a duplicate and keeps the first', () => {
    const { s, names } = store();
    s.upsertClient(T1, sid(3), half('first'), 0);
    expect(s.upsertClient(T1, sid(3), half('again'), 1)).toBe('duplicate');
    s.upsertServer(T1, sid(3), half('server'), 2);
    expect(names()).toEqual([['first', 'server']]);
  });

  it('drops new halves when full instead of growing', () => {
    const { s } = store(1000, 2);
    s.upsertClient(T1, sid(0xa), half('a'), 0);
    s.upsertClient(T1, sid(0xb), half('b'), 0);
    expect(s.upsertClient(T1, sid(0xc), half('c'), 0)).toBe('dropped');
    expect(s.size).toBe(2);
    // Completing a pending edge still works at capacity.
    expect(s.upsertServer(T1, sid(0xa), half('sa'), 0)).toBe('completed');
  });

  it('expires entries older than the TTL only when told to, oldest first', () => {
    const { s, expired } = store(1000, 10);
    s.upsertClient(T1, sid(0xa), half('a'), 0);
    s.upsertServer(T1, sid(0xb), half('b'), 500);
    expect(s.expire(999)).toBe(0);
    expect(s.expire(1000)).toBe(1);
    expect(expired.map((e) => (e.client ?? e.server)!.workload.name)).toEqual(['a']);
    expect(s.expire(1500)).toBe(1);
    expect(expired[1]!.server!.workload.name).toBe('b');
    expect(expired[1]!.client).toBeUndefined();
  });

  it('expires at most `max` entries per call, oldest first, the rest on the next calls', () => {
    const { s, expired } = store(1000, 10);
    for (const n of [1, 2, 3, 4, 5]) s.upsertClient(T1, sid(n), half(`h${n}`), 0);
    expect(s.expire(1000, 2)).toBe(2);
    expect(s.size).toBe(3);
    expect(s.expire(1000, 2)).toBe(2);
    expect(s.expire(1000, 2)).toBe(1);
    expect(s.expire(1000, 2)).toBe(0);
    expect(expired.map((e) => e.client!.workload.name)).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);
  });

  it('expires everything on flush', () => {
    const { s, expired } = store(60_000, 10);
    s.upsertClient(T1, sid(1), half('a'), 0);
    s.upsertClient(T1, sid(2), half('b'), 0);
    expect(s.expireAll()).toBe(2);
    expect(expired).toHaveLength(2);
  });

  it('grows its columns past the first allocation up to its limit, losing nothing', () => {
    const { s, names, expired } = store(1000, 5000);
    for (let n = 1; n <= 5000; n++) expect(s.upsertClient(T1, sid(n), half(`c${n}`), n % 7)).toBe('stored');
    expect(s.upsertClient(T1, sid(5001), half('over'), 0)).toBe('dropped');
    for (let n = 1; n <= 5000; n += 2) expect(s.upsertServer(T1, sid(n), half(`s${n}`), 10)).toBe('completed');
    expect(names().slice(0, 2)).toEqual([
      ['c1', 's1'],
      ['c3', 's3'],
    ]);
    expect(s.expireAll()).toBe(2500);
    expect(expired.map((e) => e.client!.workload.name).slice(0, 3)).toEqual(['c2', 'c4', 'c6']);
    expect(s.size).toBe(0);
  });

  it('agrees with a plain map under random arrivals, completions, duplicates and expiries', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Random(seed);
      const ttl = 100;
      const max = 300;
      const { s, completed, expired } = store(ttl, max);
      // The model: key -> which side waits, in arrival order (a Map keeps insertion order).
      const model = new Map<string, { side: 'client' | 'server'; name: string; expiresAt: number }>();
      const traces = [T1, T2, '0123456789abcdef'.repeat(2)];
      let now = 0;
      for (let step = 0; step < 3000; step++) {
        now += rng.int(3);
        if (rng.chance(0.05)) {
          const max = rng.int(20) + 1;
          const before = expired.length;
          const due = [...model].filter(([, v]) => v.expiresAt <= now).slice(0, max);
          expect(s.expire(now, max)).toBe(due.length);
          expect(expired.slice(before).map((e) => (e.client ?? e.server)!.workload.name)).toEqual(due.map(([, v]) => v.name));
          for (const [k] of due) model.delete(k);
          continue;
        }
        const traceId = rng.pick(traces);
        const spanId = sid(rng.int(400));
        const key = traceId + spanId;
        const side = rng.chance(0.5) ? 'client' : 'server';
        const name = `${side}${step}`;
        const result = side === 'client' ? s.upsertClient(traceId, spanId, half(name, traceId, spanId), now) : s.upsertServer(traceId, spanId, half(name, traceId, sid(step)), now);
        const waiting = model.get(key);
        if (waiting === undefined) {
          expect(result).toBe(model.size >= max ? 'dropped' : 'stored');
          if (result === 'stored') model.set(key, { side, name, expiresAt: now + ttl });
        } else if (waiting.side === side) {
          expect(result).toBe('duplicate');
        } else {
          expect(result).toBe('completed');
          const [c, v] = completed.at(-1)!;
          expect([c.workload.name, v.workload.name]).toEqual(side === 'client' ? [name, waiting.name] : [waiting.name, name]);
          expect([c.traceId, c.spanId, v.traceId]).toEqual([traceId, spanId, traceId]);
          model.delete(key);
        }
        expect(s.size).toBe(model.size);
      }
    }
  });
});
