import type { MetricFamily } from '../../model/families.js';
import type { ResourceSpans } from '../../model/traces.js';
import { bucketIndex } from '../histogram.js';
import { serviceNameOf } from '../identity.js';
import { samplingWeight } from '../span-semantics.js';
import { SeriesTable, seriesKey } from '../series-table.js';
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

interface SpanSeries {
  /** Calls, scaled by sampling weight. */
  calls: number;
  counts: Float64Array;
  /** Sum of durations in milliseconds. */
  sum: number;
}

/**
 * Span metrics: `traces_span_metrics_calls_total` and `traces_span_metrics_duration_milliseconds`,
 * labelled `service_name`, `span_name`, `span_kind`, `status_code`. Every span counts, scaled by
 * the sampling probability it carries.
 */
export class SpanMetrics {
  private readonly table: SeriesTable<SpanSeries>;
  private readonly bounds: readonly number[];

  constructor(config: SpanMetricsConfig, maxSeries: number) {
    this.bounds = config.histogram_buckets;
    const n = this.bounds.length + 1;
    this.table = new SeriesTable('traces_span_metrics', ['service_name', 'span_name', 'span_kind', 'status_code'], maxSeries, () => ({
      calls: 0,
      counts: new Float64Array(n),
      sum: 0,
    }));
  }

  get series(): SeriesTable<unknown> {
    return this.table;
  }

  add(resourceSpans: readonly ResourceSpans[], now: number): void {
    const bounds = this.bounds;
    for (const rs of resourceSpans) {
      const service = serviceNameOf(rs.resource.attributes);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const kind = KIND_LABELS[span.kind] ?? KIND_LABELS[0]!;
          const status = STATUS_LABELS[span.status.code] ?? STATUS_LABELS[0]!;
          const s = this.table.get(seriesKey(service, span.name, kind, status), () => [service, span.name, kind, status], now);
          const weight = samplingWeight(span);
          const ns = span.endTimeUnixNano - span.startTimeUnixNano;
          const ms = ns > 0n ? Number(ns) / 1e6 : 0;
          s.calls += weight;
          s.counts[bucketIndex(bounds, ms)]! += weight;
          s.sum += ms * weight;
        }
      }
    }
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
          for (const [labels, s] of table.entries()) emit(labels, { counts: s.counts, sum: s.sum, count: s.calls });
        },
      },
    ];
  }
}
