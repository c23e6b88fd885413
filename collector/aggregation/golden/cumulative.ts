/**
 * Turns cumulative OTLP points into deltas, per stream (resource + metric + point attributes).
 *
 * - The first point of a stream is counted whole only when the stream started after the
 *   collector did (its start time is known and not earlier): then the collector saw the stream
 *   from its beginning. Otherwise it only sets the baseline (the OpenTelemetry Collector's
 *   cumulativetodelta `initial_value: auto` rule), so a restarted collector never counts a
 *   proxy's whole history as one burst.
 * - A reset (a new start time, or a value that went down) counts the new value whole.
 * Streams not updated for `ttlMs` are forgotten by `sweep()`; at most `maxStreams` are kept.
 */
export class DeltaTracker {
  private readonly streams = new Map<string, Previous>();
  baselines = 0;
  resets = 0;
  refused = 0;

  constructor(
    private readonly collectorStartNs: bigint,
    private readonly maxStreams: number,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /** The increase of a cumulative counter since the last point, or undefined for a baseline. */
  sum(key: string, start: bigint, value: number, now: number): number | undefined {
    const prev = this.streams.get(key);
    if (prev === undefined) {
      if (!this.remember(key, { start, values: [value], at: now })) return undefined;
      return this.first(start, value);
    }
    prev.at = now;
    const last = prev.values[0]!;
    const reset = start > prev.start || value < last;
    prev.start = start;
    prev.values[0] = value;
    if (reset) {
      this.resets++;
      return value;
    }
    return value - last;
  }

  /**
   * The increase of a cumulative histogram (count, sum and each bucket) since the last point,
   * written into `out` (length `counts.length + 2`: count, sum, buckets...); false for a baseline.
   */
  histogram(key: string, start: bigint, count: number, sum: number, counts: readonly number[], now: number, out: number[]): boolean {
    const current = [count, sum, ...counts];
    const prev = this.streams.get(key);
    if (prev === undefined) {
      if (!this.remember(key, { start, values: current, at: now })) return false;
      if (this.first(start, count) === undefined) return false;
      for (let i = 0; i < current.length; i++) out[i] = current[i]!;
      return true;
    }
    const last = prev.values;
    prev.at = now;
    prev.values = current;
    const reshaped = last.length !== current.length;
    let reset = start > prev.start || count < last[0]!;
    for (let i = 2; !reset && !reshaped && i < current.length; i++) if (current[i]! < last[i]!) reset = true;
    prev.start = start;
    if (reset || reshaped) {
      this.resets++;
      for (let i = 0; i < current.length; i++) out[i] = current[i]!;
      return true;
    }
    for (let i = 0; i < current.length; i++) out[i] = current[i]! - last[i]!;
    return true;
  }

  sweep(now: number, ttlMs: number): void {
    const cutoff = now - ttlMs;
    for (const [key, p] of this.streams) if (p.at < cutoff) this.streams.delete(key);
  }

  private first(start: bigint, value: number): number | undefined {
    if (start !== 0n && start >= this.collectorStartNs) return value;
    this.baselines++;
    return undefined;
  }

  private remember(key: string, p: Previous): boolean {
    if (this.streams.size >= this.maxStreams) {
      this.refused++;
      return false;
    }
    this.streams.set(key, p);
    return true;
  }
}

interface Previous {
  start: bigint;
  values: number[];
  at: number;
}
