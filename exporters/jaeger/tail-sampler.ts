import { TokenBucket } from '../../collector/admission/token-bucket.js';
import { SpanFacts } from '../../collector/aggregation/span-facts.js';
import type { QueuedSpan } from './span-queue.js';

export interface TailSamplingOptions {
  /** How long after a trace's first span to decide on it. */
  decisionWaitMs: number;
  /** Most traces waiting for a decision; beyond, the oldest are decided early. */
  maxTraces: number;
  /** A trace with a span at least this slow is kept. */
  slowThresholdMs: number;
  /** Spans per second kept of the other traces (whole traces); undefined keeps none of them. */
  others: { rate: number; burst: number } | undefined;
}

interface Pending {
  spans: QueuedSpan[];
  firstSeen: number;
  important: boolean;
}

/**
 * Tail sampling: spans wait, grouped by trace, until `decisionWaitMs` after the trace's first
 * span; then the whole trace is kept if any span failed or was slow, and otherwise kept only
 * within the `others` rate. Late spans of a decided trace follow its decision. Bounded: at most
 * `maxTraces` traces wait (the oldest are decided early), and decisions are remembered for the
 * last `maxTraces` traces. Metrics never depend on it: the aggregation counted every span before.
 */
export class TailSampler {
  private readonly pending = new Map<string, Pending>();
  private readonly decided = new Map<string, boolean>();
  private readonly facts = new SpanFacts([]);
  private readonly others: TokenBucket | undefined;
  private buffered = 0;

  constructor(
    private readonly options: TailSamplingOptions,
    now: number,
    /** Receives the spans of each decision: those kept, and how many were dropped. */
    private readonly decide: (kept: QueuedSpan[], dropped: number) => void,
  ) {
    this.others = options.others && new TokenBucket(options.others.rate, options.others.burst, now);
  }

  /** Spans waiting for their trace's decision. */
  get waiting(): number {
    return this.buffered;
  }

  offer(spans: readonly QueuedSpan[], now: number): void {
    const late: QueuedSpan[] = [];
    let lateDropped = 0;
    for (const q of spans) {
      const id = q.span.traceId;
      const decision = this.decided.get(id);
      if (decision !== undefined) {
        if (decision) late.push(q);
        else lateDropped++;
        continue;
      }
      let p = this.pending.get(id);
      if (p === undefined) {
        p = { spans: [], firstSeen: now, important: false };
        this.pending.set(id, p);
      }
      p.spans.push(q);
      this.buffered++;
      if (!p.important) {
        const f = this.facts.read(q.span);
        p.important = f.failed || f.milliseconds >= this.options.slowThresholdMs;
      }
    }
    if (late.length > 0 || lateDropped > 0) this.decide(late, lateDropped);
    while (this.pending.size > this.options.maxTraces) this.decideOldest(now);
  }

  /** Decides every trace that has waited `decisionWaitMs` (all of them with `everything`). */
  tick(now: number, everything = false): void {
    for (;;) {
      const oldest = this.pending.values().next();
      if (oldest.done === true || (!everything && now - oldest.value.firstSeen < this.options.decisionWaitMs)) return;
      this.decideOldest(now);
    }
  }

  private decideOldest(now: number): void {
    const [id, p] = this.pending.entries().next().value as [string, Pending];
    this.pending.delete(id);
    this.buffered -= p.spans.length;
    const keep = p.important || (this.others !== undefined && this.others.take(p.spans.length, now));
    this.decided.set(id, keep);
    if (this.decided.size > this.options.maxTraces) this.decided.delete(this.decided.keys().next().value!);
    this.decide(keep ? p.spans : [], keep ? 0 : p.spans.length);
  }
}
