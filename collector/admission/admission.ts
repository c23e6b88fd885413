import type { Clock } from '../aggregation/aggregator.js';
import type { AdmissionConfig, ItemLimit } from './config.js';
import { MemoryLimiter } from './memory-limiter.js';
import { TokenBucket } from './token-bucket.js';

export type Signal = 'traces' | 'metrics';

/** The items of one resource of a request, and its source key (see `per_source.key`). */
export interface Group {
  key: string;
  items: number;
}

export type AdmissionDecision =
  | { kind: 'accept' }
  | { kind: 'refuse'; status: 429 | 503; reason: 'rate_limited' | 'memory_limited'; retryAfterSeconds: number; message: string }
  /** Some groups were over their source's budget; `rejected[i]` says which (the rest is taken). */
  | { kind: 'partial'; rejected: boolean[]; rejectedItems: number; reason: 'rate_limited'; message: string };

const ITEMS: Record<Signal, string> = { traces: 'spans', metrics: 'metric points' };
const OTHER_SOURCES = '\u0000other';

/** Token buckets per source key, at most `max` of them; beyond, new sources share one. */
class SourceBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly limit: ItemLimit,
    private readonly max: number,
  ) {}

  get(key: string, now: number): TokenBucket {
    let b = this.buckets.get(key);
    if (b !== undefined) return b;
    if (this.buckets.size >= this.max) {
      // A full bucket is the same as a new one: forget those before sharing.
      for (const [k, bucket] of this.buckets) if (k !== OTHER_SOURCES && bucket.full(now)) this.buckets.delete(k);
    }
    if (this.buckets.size >= this.max) key = OTHER_SOURCES;
    b = this.buckets.get(key);
    if (b === undefined) {
      b = new TokenBucket(this.limit.rate, this.limit.burst, now);
      this.buckets.set(key, b);
    }
    return b;
  }
}

interface Limits {
  global: TokenBucket | undefined;
  perSource: SourceBuckets | undefined;
}

/**
 * Admission: whether a request's data may come in, decided before it is decoded in full. In
 * order: the memory limiter (503), each source's budget (the over-budget sources' items are
 * rejected in a partial success, or the whole request gets 429 when every source is over), then
 * the global budgets of items and bytes (429). A refusal says when to retry: when the bucket
 * will hold what was asked, or, for memory, an estimate that grows as the heap nears its limit.
 */
export class Admission {
  readonly memory: MemoryLimiter;
  private readonly items: Record<Signal, Limits>;
  private readonly globalBytes: TokenBucket | undefined;
  private readonly sourceBytes: SourceBuckets | undefined;

  /** `measureHeap` replaces V8's heap measurement (tests drive the memory limiter with it). */
  constructor(
    private readonly config: AdmissionConfig,
    private readonly clock: Clock,
    measureHeap?: () => number,
  ) {
    const now = clock.now();
    const per = config.per_source;
    this.memory = MemoryLimiter.fromConfig(config.memory.soft_limit, config.memory.hard_limit, config.memory.check_interval, measureHeap);
    this.items = {
      traces: {
        global: config.spans && new TokenBucket(config.spans.rate, config.spans.burst, now),
        perSource: per.spans && new SourceBuckets(per.spans, per.max_sources),
      },
      metrics: {
        global: config.metric_points && new TokenBucket(config.metric_points.rate, config.metric_points.burst, now),
        perSource: per.metric_points && new SourceBuckets(per.metric_points, per.max_sources),
      },
    };
    this.globalBytes = config.bytes && new TokenBucket(config.bytes.rate, config.bytes.burst, now);
    this.sourceBytes = per.bytes && new SourceBuckets({ rate: per.bytes.rate, burst: per.bytes.burst }, per.max_sources);
  }

  /** The resource attribute sources are keyed by; undefined when they are keyed by tenant. */
  get resourceKey(): string | undefined {
    return this.config.per_source.key === 'tenant' ? undefined : this.config.per_source.key;
  }

  /**
   * Before a body is read: refused when even reading it could take the heap past the hard
   * limit (its items are then never counted: there is no decoding them). Undefined to go on.
   */
  beforeBody(expectedBytes: number): AdmissionDecision | undefined {
    const now = this.clock.now();
    // Only the hard limit here: between the soft and the hard limit the body is read and its
    // items counted (cheaply, without decoding) before `decide` refuses them, so that they are
    // counted as refused (memory_limited) rather than only as a refused request.
    return this.memory.exceedsHard(expectedBytes, now) ? this.memoryRefusal(now) : undefined;
  }

  /**
   * Decides for one request of `groups` (per resource) and `bytes` on the wire; `tenant` is the
   * tenant header's value. An accepted or partly accepted request holds memory until `release`.
   * `sourceLimits: false` skips the per-source budgets, for data whose sources were limited where
   * it came in (an aggregator reading what gateways admitted): it is then taken or refused whole.
   */
  decide(signal: Signal, groups: readonly Group[], bytes: number, tenant: string | undefined, sourceLimits = true): AdmissionDecision {
    const now = this.clock.now();
    if (this.memory.admit(bytes, now) !== undefined) return this.memoryRefusal(now);
    const refuse = (seconds: number, message: string): AdmissionDecision => {
      this.memory.release(bytes);
      return { kind: 'refuse', status: 429, reason: 'rate_limited', retryAfterSeconds: retryAfter(seconds), message };
    };
    const what = ITEMS[signal];
    const limits = this.items[signal];
    const total = groups.reduce((n, g) => n + g.items, 0);
    const keyOf = (g: Group) => (this.config.per_source.key === 'tenant' ? (tenant ?? '') : g.key);

    // Each source's budget: items, then its share of the bytes.
    const taken: [TokenBucket, number][] = [];
    const refund = () => taken.forEach(([b, n]) => b.refund(n));
    const rejectedKeys = new Map<string, number>();
    let wait = 0;
    if (sourceLimits && (limits.perSource !== undefined || this.sourceBytes !== undefined)) {
      const perKey = new Map<string, number>();
      for (const g of groups) perKey.set(keyOf(g), (perKey.get(keyOf(g)) ?? 0) + g.items);
      for (const [key, n] of perKey) {
        const bucket = limits.perSource?.get(key, now);
        const byteBucket = this.sourceBytes?.get(key, now);
        const share = total > 0 ? (bytes * n) / total : bytes;
        const itemsOk = bucket === undefined || bucket.take(n, now);
        const bytesOk = itemsOk && (byteBucket === undefined || byteBucket.take(share, now));
        if (itemsOk && bytesOk) {
          if (bucket) taken.push([bucket, n]);
          if (byteBucket) taken.push([byteBucket, share]);
          continue;
        }
        if (itemsOk && bucket) bucket.refund(n);
        rejectedKeys.set(key, n);
        wait = Math.max(wait, itemsOk ? byteBucket!.secondsUntil(share, now) : bucket.secondsUntil(n, now));
      }
    }
    const rejected = groups.map((g) => rejectedKeys.has(keyOf(g)));
    const rejectedItems = groups.reduce((n, g, i) => n + (rejected[i] ? g.items : 0), 0);
    const accepted = total - rejectedItems;
    const sourceName = this.config.per_source.key;
    if (rejectedKeys.size > 0 && accepted === 0) {
      refund();
      return refuse(wait, `${sourceName} ${describeKeys(rejectedKeys)} over its rate limit of ${formatRate(limits.perSource?.limit.rate)} ${what}/s; retry later`);
    }

    // The global budgets, for what the sources' budgets let through.
    if (limits.global !== undefined) {
      if (!limits.global.take(accepted, now)) {
        const seconds = limits.global.secondsUntil(accepted, now);
        refund();
        return refuse(seconds, `over the collector's rate limit of ${formatRate(limits.global.rate)} ${what}/s; retry later`);
      }
      taken.push([limits.global, accepted]);
    }
    if (this.globalBytes !== undefined && !this.globalBytes.take(bytes, now)) {
      const seconds = this.globalBytes.secondsUntil(bytes, now);
      refund();
      return refuse(seconds, `over the collector's rate limit of ${formatRate(this.globalBytes.rate)} bytes/s; retry later`);
    }
    if (rejectedKeys.size === 0) return { kind: 'accept' };
    return {
      kind: 'partial',
      rejected,
      rejectedItems,
      reason: 'rate_limited',
      message: `${rejectedItems} ${what} of ${sourceName} ${describeKeys(rejectedKeys)} rejected: over the rate limit of ${formatRate(limits.perSource?.limit.rate)} ${what}/s per source`,
    };
  }

  /** Gives back the memory held for a request of `bytes` once it is handled. */
  release(bytes: number): void {
    this.memory.release(bytes);
  }

  private memoryRefusal(now: number): AdmissionDecision {
    const { soft, hard } = this.memory.limits;
    return {
      kind: 'refuse',
      status: 503,
      reason: 'memory_limited',
      retryAfterSeconds: this.memory.retryAfterSeconds(now),
      message: `collector memory is high (heap ${mib(this.memory.used(now))} MiB; soft limit ${mib(soft)}, hard ${mib(hard)}); retry later`,
    };
  }
}

/** Whole seconds for Retry-After: at least 1, so that a client never retries at once. */
function retryAfter(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

function describeKeys(keys: Map<string, number>): string {
  const names = [...keys.keys()].map((k) => (k === OTHER_SOURCES ? '(other sources)' : `"${k.slice(0, 64)}"`));
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

function formatRate(rate: number | undefined): string {
  return rate === undefined ? 'unlimited' : String(Math.round(rate * 100) / 100);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
