import type { MetricFamily } from '../../model/families.js';
import type { Span } from '../../model/traces.js';
import { sampleExemplar, type SampledExemplars } from '../exemplars.js';
import { bucketIndex } from '../histogram.js';
import type { SpanFacts } from '../span-facts.js';
import { SeriesTable, seriesFor, type Series } from '../series-table.js';
import type { SpanMetricsConfig } from './config.js';

const KIND_LABELS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_LABELS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

interface SpanSeries extends Series, SampledExemplars {
  /** Calls, scaled by sampling weight. */
  calls: number;
  counts: Float64Array;
  /** Sum of durations in milliseconds. */
  sum: number;
}

/** Series of one service by span name, then by `kind * 3 + status`. */
export type ServiceSeries = Map<string, (SpanSeries | undefined)[]>;

/**
 * Span metrics: `traces_span_metrics_calls_total` and `traces_span_metrics_duration_milliseconds`,
 * labelled `service_name`, `span_name`, `span_kind`, `status_code`. Every span counts, scaled by
 * the sampling probability it carries. Each series keeps an exemplar (trace and span id) per
 * bucket, refreshed at most once a second.
 */
export class SpanMetrics {
  readonly table: SeriesTable<SpanSeries>;
  private readonly bounds: readonly number[];
  /** The hot path's index over `table`: no key string per span. Cleared when series are swept. */
  private readonly cache = new Map<string, ServiceSeries>();
  private cached = 0;

  constructor(config: SpanMetricsConfig, maxSeries: number) {
    this.bounds = config.histogram_buckets;
    const n = this.bounds.length + 1;
    this.table = new SeriesTable<SpanSeries>('traces_span_metrics', ['service_name', 'span_name', 'span_kind', 'status_code'], maxSeries, () => ({
      calls: 0,
      counts: new Float64Array(n),
      sum: 0,
      exemplars: undefined,
      exemplarDue: 0,
    }));
  }

  /** The series of one service; look it up once per resource. */
  service(name: string): ServiceSeries {
    let s = this.cache.get(name);
    if (s === undefined) {
      s = new Map();
      this.cache.set(name, s);
    }
    return s;
  }

  record(service: string, series: ServiceSeries, span: Span, facts: SpanFacts, now: number): void {
    let byKind = series.get(span.name);
    if (byKind === undefined) {
      // Bound the index like the table: hostile span names must not grow it without limit.
      if (++this.cached > 2 * this.table.limit) this.clearCache();
      byKind = [];
      series.set(span.name, byKind);
    }
    const kind = span.kind < 6 ? span.kind : 0;
    const status = span.status.code < 3 ? span.status.code : 0;
    const index = kind * 3 + status;
    let s = byKind[index];
    if (s === undefined) {
      s = seriesFor(this.table, [service, span.name, KIND_LABELS[kind]!, STATUS_LABELS[status]!], now);
      byKind[index] = s;
    } else s.updated = now;
    const weight = facts.weight;
    const ms = facts.milliseconds;
    const bucket = bucketIndex(this.bounds, ms);
    s.calls += weight;
    s.counts[bucket]! += weight;
    s.sum += ms * weight;
    if (now >= s.exemplarDue) sampleExemplar(s, s.counts.length, bucket, span.traceId, span.spanId, ms, now);
  }

  sweep(now: number, ttlMs: number): void {
    if (this.table.sweep(now, ttlMs) > 0) this.clearCache();
  }

  private clearCache(): void {
    this.cache.clear();
    this.cached = 0;
  }

  families(): MetricFamily[] {
    const table = this.table;
    return [
      {
        name: 'traces_span_metrics_calls_total',
        help: 'Spans received, per service, span name, kind and status; scaled by sampling probability.',
        type: 'counter',
        collect: (emit) => {
          for (const [labels, s] of table.entries()) emit(labels, s.calls);
        },
      },
      {
        name: 'traces_span_metrics_duration_milliseconds',
        help: 'Span durations in milliseconds, per service, span name, kind and status; scaled by sampling probability.',
        type: 'histogram',
        bounds: this.bounds,
        collect: (emit) => {
          for (const [labels, s] of table.entries()) emit(labels, { counts: s.counts, sum: s.sum, count: s.calls, exemplars: s.exemplars });
        },
      },
    ];
  }
}
