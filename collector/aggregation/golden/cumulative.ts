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
  private readonly exponentials = new Map<string, ExponentialState & { start: bigint; at: number }>();
  baselines = 0;
  resets = 0;
  refused = 0;

  constructor(
    private readonly collectorStartNs: bigint,
    private readonly maxStreams: number,
  ) {}

  get size(): number {
    return this.streams.size + this.exponentials.size;
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
   * The increase of a cumulative histogram since the last point. `values` is the point as
   * [count, sum, ...bucket counts] in a fixed layout; the increase is written into `out`.
   * False for a baseline.
   */
  histogram(key: string, start: bigint, values: readonly number[], now: number, out: number[]): boolean {
    const prev = this.streams.get(key);
    out.length = values.length;
    if (prev === undefined) {
      if (!this.remember(key, { start, values: [...values], at: now })) return false;
      if (this.first(start, values[0]!) === undefined) return false;
      for (let i = 0; i < values.length; i++) out[i] = values[i]!;
      return true;
    }
    const last = prev.values;
    prev.at = now;
    let reset = start > prev.start || last.length !== values.length || values[0]! < last[0]!;
    for (let i = 2; !reset && i < values.length; i++) if (values[i]! < last[i]! - 1e-9) reset = true;
    prev.start = start;
    for (let i = 0; i < values.length; i++) {
      out[i] = reset ? values[i]! : values[i]! - last[i]!;
      last[i] = values[i]!;
    }
    if (reset) this.resets++;
    return true;
  }

  /**
   * The increase of a cumulative exponential histogram since the last point, or undefined for a
   * baseline. SDKs lower the scale of a stream as its range widens; the previous point is then
   * downscaled (adjacent buckets merged, which is exact) before subtracting.
   */
  exponential(key: string, start: bigint, p: ExponentialState, now: number): ExponentialState | undefined {
    const prev = this.exponentials.get(key);
    if (prev === undefined) {
      if (this.size >= this.maxStreams) {
        this.refused++;
        return undefined;
      }
      this.exponentials.set(key, { ...p, start, at: now });
      return this.first(start, p.count) === undefined ? undefined : p;
    }
    this.exponentials.set(key, { ...p, start, at: now });
    const delta = start > prev.start || p.scale > prev.scale || p.count < prev.count ? undefined : subtract(p, prev);
    if (delta !== undefined) return delta;
    this.resets++;
    return p;
  }

  sweep(now: number, ttlMs: number): void {
    const cutoff = now - ttlMs;
    for (const [key, p] of this.streams) if (p.at < cutoff) this.streams.delete(key);
    for (const [key, p] of this.exponentials) if (p.at < cutoff) this.exponentials.delete(key);
  }

  private first(start: bigint, value: number): number | undefined {
    if (start !== 0n && start >= this.collectorStartNs) return value;
    this.baselines++;
    return undefined;
  }

  private remember(key: string, p: Previous): boolean {
    if (this.size >= this.maxStreams) {
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

/** The parts of an exponential histogram point that deltas are taken over (positive side only). */
export interface ExponentialState {
  scale: number;
  offset: number;
  counts: number[];
  /** Zero bucket, plus negative values (durations have none). */
  zero: number;
  count: number;
  sum: number;
}

/** `current - previous`, the previous downscaled to the current scale; undefined if a bucket went down. */
function subtract(current: ExponentialState, previous: ExponentialState): ExponentialState | undefined {
  const shift = previous.scale - current.scale;
  const counts = [...current.counts];
  for (let i = 0; i < previous.counts.length; i++) {
    const c = previous.counts[i]!;
    if (c === 0) continue;
    const j = ((previous.offset + i) >> shift) - current.offset;
    if (j < 0 || j >= counts.length) return undefined;
    counts[j]! -= c;
    if (counts[j]! < -1e-9) return undefined;
  }
  const zero = current.zero - previous.zero;
  if (zero < 0) return undefined;
  return { scale: current.scale, offset: current.offset, counts, zero, count: current.count - previous.count, sum: current.sum - previous.sum };
}
