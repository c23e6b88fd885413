import v8 from 'node:v8';

/**
 * How much decoded data a request's body becomes on the heap, per byte of protobuf: the
 * estimate that keeps the heap under the hard limit before a body is decoded. Measured on the
 * benchmark's payloads (about 5x); rounded up.
 */
export const DECODED_BYTES_PER_BODY_BYTE = 8;

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

  constructor(
    readonly limits: MemoryLimits,
    private readonly measure: () => number = () => v8.getHeapStatistics().used_heap_size,
  ) {}

  /** Limits from config, defaulting to 60% and 80% of V8's heap limit. */
  static fromConfig(soft: number | undefined, hard: number | undefined, checkIntervalMs: number, measure?: () => number): MemoryLimiter {
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    const h = hard ?? Math.floor(heapLimit * 0.8);
    const s = soft ?? Math.min(Math.floor(heapLimit * 0.6), Math.floor(h * 0.75));
    if (s >= h) throw new Error(`admission.memory.soft_limit (${s} bytes) must be below hard_limit (${h} bytes)`);
    return new MemoryLimiter({ soft: s, hard: h, checkIntervalMs }, measure);
  }

  /** The heap in use, measured at most every check interval. */
  used(now: number): number {
    if (now - this.measuredAt >= this.limits.checkIntervalMs) {
      this.heapUsed = this.measure();
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
