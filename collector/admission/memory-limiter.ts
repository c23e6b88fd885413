import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How much decoded data a request's body becomes on the heap, per byte of protobuf: the
 * estimate that keeps the heap under the hard limit before a body is decoded. Measured on the
 * benchmark's payloads (about 5x); rounded up.
 */
export const DECODED_BYTES_PER_BODY_BYTE = 8;

/**
 * Least time between two full garbage collections the limiter forces while the heap is above
 * the soft limit (see `used()`): a full GC pauses the process (tens of milliseconds on a heap of
 * a few hundred MiB), so at most one every 2 s, and only while data is being refused.
 */
export const MIN_FORCED_GC_INTERVAL_MS = 2000;

export interface MemoryLimits {
  soft: number;
  hard: number;
  checkIntervalMs: number;
}

/**
 * Soft and hard limits on the V8 heap. Above the soft limit, new data is refused (retryably);
 * a request whose decoded size could take the heap above the hard limit is refused too, so
 * incoming data alone never pushes the process past it. The heap is measured at most every
 * `checkIntervalMs`, on demand, and bodies being decoded are accounted as reserved.
 */
export class MemoryLimiter {
  private heapUsed = 0;
  private measuredAt = -Infinity;
  private reserved = 0;
  private collectedAt = -Infinity;
  private readonly measure: () => number;
  /** Forces a full GC; undefined when it cannot (or, with a measurement of its own, need not). */
  private collect: (() => void) | undefined;

  /**
   * `measure` replaces V8's heap measurement and `collect` the forced full GC (tests); by
   * default the heap is V8's `used_heap_size` and a full GC is forced through V8's `gc()`.
   */
  constructor(
    readonly limits: MemoryLimits,
    measure?: () => number,
    collect?: () => void,
  ) {
    this.measure = measure ?? (() => v8.getHeapStatistics().used_heap_size);
    this.collect = collect ?? (measure === undefined ? lazyFullGc() : undefined);
  }

  /** Limits from config, defaulting to 60% and 80% of V8's heap limit. */
  static fromConfig(soft: number | undefined, hard: number | undefined, checkIntervalMs: number, measure?: () => number): MemoryLimiter {
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    const h = hard ?? Math.floor(heapLimit * 0.8);
    const s = soft ?? Math.min(Math.floor(heapLimit * 0.6), Math.floor(h * 0.75));
    if (s >= h) throw new Error(`admission.memory.soft_limit (${s} bytes) must be below hard_limit (${h} bytes)`);
    return new MemoryLimiter({ soft: s, hard: h, checkIntervalMs }, measure);
  }

  /**
   * The heap in use, measured at most every check interval. V8's measure counts garbage until a
   * full GC, and V8 collects the old generation only under allocation pressure: a queue that
   * drained into garbage would keep the heap "above the soft limit" while the collector, now
   * refusing everything, allocates too little for V8 to ever collect it. So above the soft
   * limit a full GC is forced (at most every MIN_FORCED_GC_INTERVAL_MS) and the heap measured
   * again, as the OpenTelemetry Collector's memory limiter does, and recovery is automatic.
   */
  used(now: number): number {
    if (now - this.measuredAt >= this.limits.checkIntervalMs) {
      let used = this.measure();
      if (used >= this.limits.soft && this.collect !== undefined && now - this.collectedAt >= MIN_FORCED_GC_INTERVAL_MS) {
        this.collectedAt = now;
        this.collect();
        used = this.measure();
      }
      this.heapUsed = used;
      this.measuredAt = now;
    }
    return this.heapUsed;
  }

  /**
   * Why a body of `bodyBytes` cannot be taken now (`soft` or `hard`), or undefined when it can;
   * then its decoded size stays reserved until `release()`.
   */
  admit(bodyBytes: number, now: number): 'soft' | 'hard' | undefined {
    const used = this.used(now) + this.reserved;
    if (used >= this.limits.soft) return 'soft';
    const cost = bodyBytes * DECODED_BYTES_PER_BODY_BYTE;
    if (used + cost > this.limits.hard) return 'hard';
    this.reserved += cost;
    return undefined;
  }

  /** Whether decoding a body of `bodyBytes` now could take the heap above the hard limit. */
  exceedsHard(bodyBytes: number, now: number): boolean {
    return this.used(now) + this.reserved + bodyBytes * DECODED_BYTES_PER_BODY_BYTE > this.limits.hard;
  }

  release(bodyBytes: number): void {
    this.reserved = Math.max(0, this.reserved - bodyBytes * DECODED_BYTES_PER_BODY_BYTE);
  }

  /**
   * Seconds to wait before retrying: 1 just above the soft limit, growing to 5 near the hard
   * limit (how long the heap takes to come down is not known in advance; the deeper in, the longer).
   */
  retryAfterSeconds(now: number): number {
    const { soft, hard } = this.limits;
    const over = (this.used(now) + this.reserved - soft) / (hard - soft);
    return Math.min(5, Math.max(1, Math.ceil(1 + 4 * over)));
  }
}

/**
 * V8's full garbage collection, made available on first use: `gc()` when node runs with
 * --expose-gc, otherwise the flag is set at run time and `gc` taken from a fresh context (the
 * flag only applies to contexts created after it). A no-op if V8 refuses.
 */
function lazyFullGc(): () => void {
  let gc: (() => void) | undefined;
  return () => {
    if (gc === undefined) {
      const exposed = (globalThis as { gc?: unknown }).gc;
      if (typeof exposed === 'function') gc = exposed as () => void;
      else {
        try {
          v8.setFlagsFromString('--expose-gc');
          const fromContext = runInNewContext('gc') as unknown;
          gc = typeof fromContext === 'function' ? (fromContext as () => void) : () => {};
        } catch {
          gc = () => {};
        }
      }
    }
    gc();
  };
}
