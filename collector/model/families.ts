/**
 * Aggregated metric families: what the aggregation produces and what metric exporters read.
 * An exporter needs nothing else to render them, and the aggregation knows nothing of exporters.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface HistogramData {
  /** Per-bucket (not cumulative) counts; `bounds.length + 1` entries, the last one above all bounds. */
  counts: ArrayLike<number>;
  sum: number;
  count: number;
  /** Per bucket (indexed like `counts`), the latest exemplar kept for it, if any. */
  exemplars?: readonly (BucketExemplar | undefined)[];
}

/**
 * One traced request whose value fell in a histogram bucket: the link from a latency panel to
 * the trace in Jaeger. Kept per bucket, the latest one replacing the one before.
 */
export interface BucketExemplar {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The observation, in the family's unit. */
  readonly value: number;
  /** When meshtel took it (not the span's own clock), ms since the epoch. */
  readonly timestampMs: number;
}

export type Labels = Readonly<Record<string, string>>;

export interface MetricFamily {
  /** The exposition name, final (`traces_span_metrics_calls_total`). */
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  /** Bucket upper bounds in the family's unit; histograms only. */
  readonly bounds?: readonly number[];
  /**
   * Calls `emit` once per series. `labels` is the same object for a series from one call to the
   * next, so exporters may cache its rendering.
   */
  collect(emit: (labels: Labels, value: number | HistogramData) => void): void;
}
