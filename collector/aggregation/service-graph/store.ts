/**
 * The pending half-edges of the service graph: a client (or producer) span waiting for its server
 * (or consumer) span, or the other way round, keyed by the client's span id and checked against
 * the trace id (a span id that two traces share falls back to trace id + span id).
 *
 * Bounded in time and size: an entry lives `ttlMs` at most, then `onExpire` gets it; the store
 * never holds more than `maxItems` entries, and `upsert` reports `dropped` instead of growing.
 * Expiry runs only when `expire(now)` is called (a timer in production, the test itself in tests).
 */
export class EdgeStore<C, S> {
  private readonly entries = new Map<string, PendingEdge<C, S>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxItems: number,
    private readonly onComplete: (client: C, server: S) => void,
    private readonly onExpire: (edge: PendingEdge<C, S>) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  upsertClient(traceId: string, spanId: string, client: C, now: number): UpsertResult {
    const key = this.key(traceId, spanId);
    const e = this.entries.get(key);
    if (e === undefined) return this.insert(key, traceId, client, undefined, now);
    if (e.client !== undefined) return 'duplicate';
    this.entries.delete(key);
    this.onComplete(client, e.server!);
    return 'completed';
  }

  upsertServer(traceId: string, parentSpanId: string, server: S, now: number): UpsertResult {
    const key = this.key(traceId, parentSpanId);
    const e = this.entries.get(key);
    if (e === undefined) return this.insert(key, traceId, undefined, server, now);
    if (e.server !== undefined) return 'duplicate';
    this.entries.delete(key);
    this.onComplete(e.client!, server);
    return 'completed';
  }

  /**
   * Hands every entry older than the TTL to `onExpire` and removes it. Entries are kept in
   * insertion order, which with one TTL is also expiry order, so this stops at the first
   * entry still alive, or after `max` entries (the caller goes on later: see Aggregator.tick).
   */
  expire(now: number, max = Infinity): number {
    let expired = 0;
    for (const [key, e] of this.entries) {
      if (e.expiresAt > now || expired >= max) break;
      this.entries.delete(key);
      this.onExpire(e);
      expired++;
    }
    return expired;
  }

  /** Expires everything (shutdown: flush what is pending rather than lose it). */
  expireAll(): number {
    return this.expire(Infinity);
  }

  /** The span id alone, unless another trace's half-edge already waits under it. */
  private key(traceId: string, spanId: string): string {
    const e = this.entries.get(spanId);
    return e === undefined || e.traceId === traceId ? spanId : traceId + spanId;
  }

  private insert(key: string, traceId: string, client: C | undefined, server: S | undefined, now: number): UpsertResult {
    if (this.entries.size >= this.maxItems) return 'dropped';
    this.entries.set(key, { traceId, client, server, expiresAt: now + this.ttlMs });
    return 'stored';
  }
}

export type UpsertResult = 'stored' | 'completed' | 'duplicate' | 'dropped';

export interface PendingEdge<C, S> {
  traceId: string;
  /** Exactly one of `client` and `server` is set while an entry is pending. */
  client: C | undefined;
  server: S | undefined;
  expiresAt: number;
}
