/** Offsets of the counters in one slot; latency buckets follow from `BUCKETS`. */
export const REQUESTS = 0;
export const FAILURES = 1;
export const SECURED = 2;
export const LATENCY_SUM = 3;
export const BUCKETS = 4;

/**
 * Request counts over a sliding window: a ring of fixed-length time slots, each holding requests,
 * failures, requests over mTLS, the latency sum and latency bucket counts. A query sums the slots
 * that fall in the window and reports the time they cover, so that rates are exact even when the
 * window is longer than the data.
 *
 * Memory per instance is bounded by `slots * (4 + buckets)` doubles; a slot array is allocated on
 * first use and reused as the ring turns.
 */
export class WindowedCounts {
  private readonly data: (Float64Array | undefined)[];
  /** The absolute slot number each ring position holds (-Infinity: never used). */
  private readonly epochs: Float64Array;
  readonly width: number;

  constructor(
    readonly slotMs: number,
    readonly slots: number,
    buckets: number,
  ) {
    this.width = BUCKETS + buckets;
    this.data = new Array<Float64Array | undefined>(slots).fill(undefined);
    this.epochs = new Float64Array(slots).fill(-Infinity);
  }

  /** The slot for `now`, zeroed if the ring has turned since it was last used. */
  slot(now: number): Float64Array {
    const epoch = Math.floor(now / this.slotMs);
    const pos = epoch % this.slots;
    let s = this.data[pos];
    if (s === undefined) {
      s = new Float64Array(this.width);
      this.data[pos] = s;
    } else if (this.epochs[pos] !== epoch) {
      s.fill(0);
    }
    this.epochs[pos] = epoch;
    return s;
  }

  /**
   * Adds the slots of the last `windowMs` into `out` (length `width`) and returns the
   * milliseconds they cover: the current, partly filled slot and as many whole slots before it as
   * the window holds, from the start of the oldest (or `since`, if later) to `now`. A window is
   * thus never shorter than asked, so that short windows do not divide by a sliver of a slot.
   */
  sum(now: number, windowMs: number, since: number, out: Float64Array): number {
    const current = Math.floor(now / this.slotMs);
    const count = Math.min(this.slots, Math.max(1, Math.ceil(windowMs / this.slotMs)) + 1);
    const oldest = current - count + 1;
    for (let pos = 0; pos < this.slots; pos++) {
      const epoch = this.epochs[pos]!;
      if (epoch < oldest || epoch > current) continue;
      const s = this.data[pos]!;
      for (let i = 0; i < this.width; i++) out[i]! += s[i]!;
    }
    return now - Math.max(oldest * this.slotMs, since);
  }

  /** The last time any slot was written, in slot resolution; -Infinity when never. */
  lastActive(): number {
    let max = -Infinity;
    for (const e of this.epochs) if (e > max) max = e;
    return (max + 1) * this.slotMs;
  }
}
