import { TokenBucket } from '../../collector/admission/token-bucket.js';
import { SpanFacts } from '../../collector/aggregation/span-facts.js';
import type { QueuedSpan } from './span-queue.js';

/**
 * The trace-export budget that protects the backend: at most `rate` spans per second (`burst` at
 * once) are exported. Over it, whole traces are sampled out of export (they still count in every
 * metric: the aggregation saw them first), traces with a failed span or one slower than
 * `slowThresholdMs` kept before the others, in arrival order within each group.
 */
export class ExportBudget {
  private readonly bucket: TokenBucket;
  private readonly facts = new SpanFacts([]);

  constructor(
    limit: { rate: number; burst: number },
    private readonly slowThresholdMs: number,
    now: number,
  ) {
    this.bucket = new TokenBucket(limit.rate, limit.burst, now);
  }

  /** The spans to export; the rest are sampled out (`spans.length - kept.length`). */
  select(spans: readonly QueuedSpan[], now: number): QueuedSpan[] {
    // Everything only when the bucket holds it: a batch larger than the burst must not pass
    // whole from a full bucket (TokenBucket's debt rule), or it would take the budget of the
    // next batches, their error and slow traces included.
    if (this.bucket.available(now) >= spans.length && this.bucket.take(spans.length, now)) return [...spans];
    let tokens = Math.max(0, Math.floor(this.bucket.available(now)));
    if (tokens === 0) return [];
    const traces = new Map<string, { spans: QueuedSpan[]; important: boolean }>();
    for (const q of spans) {
      let t = traces.get(q.span.traceId);
      if (t === undefined) {
        t = { spans: [], important: false };
        traces.set(q.span.traceId, t);
      }
      t.spans.push(q);
      if (!t.important) {
        const f = this.facts.read(q.span);
        t.important = f.failed || f.milliseconds >= this.slowThresholdMs;
      }
    }
    const ordered = [...traces.values()].sort((a, b) => Number(b.important) - Number(a.important));
    const kept: QueuedSpan[] = [];
    for (const t of ordered) {
      if (t.spans.length > tokens) continue;
      tokens -= t.spans.length;
      kept.push(...t.spans);
    }
    this.bucket.take(kept.length, now);
    return kept;
  }
}
