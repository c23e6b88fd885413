import type { InstrumentationScope, KeyValue, Resource } from './common.js';

/** OTLP `AggregationTemporality`, by its protobuf number. */
export const Temporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
export type Temporality = (typeof Temporality)[keyof typeof Temporality];

export interface Exemplar {
  filteredAttributes: KeyValue[];
  timeUnixNano: bigint;
  /** `bigint` when the exemplar carried `as_int`, `number` for `as_double`. */
  value: number | bigint;
  spanId: string;
  traceId: string;
}

interface PointBase {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  exemplars: Exemplar[];
  /** OTLP `DataPointFlags`; bit 0 is "no recorded value". */
  flags: number;
}

export interface NumberPoint extends PointBase {
  /** `bigint` when the point carried `as_int`, `number` for `as_double`. */
  value: number | bigint;
}

export interface HistogramPoint extends PointBase {
  count: number;
  sum: number | undefined;
  /** `bucketCounts[i]` counts values in (explicitBounds[i-1], explicitBounds[i]]; one more than bounds. */
  bucketCounts: number[];
  explicitBounds: number[];
  min: number | undefined;
  max: number | undefined;
}

export interface ExponentialBuckets {
  offset: number;
  bucketCounts: number[];
}

export interface ExponentialHistogramPoint extends PointBase {
  count: number;
  sum: number | undefined;
  scale: number;
  zeroCount: number;
  positive: ExponentialBuckets;
  negative: ExponentialBuckets;
  min: number | undefined;
  max: number | undefined;
  zeroThreshold: number;
}

export interface QuantileValue {
  quantile: number;
  value: number;
}

export interface SummaryPoint extends PointBase {
  count: number;
  sum: number;
  quantileValues: QuantileValue[];
}

export type MetricData =
  | { type: 'gauge'; points: NumberPoint[] }
  | { type: 'sum'; points: NumberPoint[]; temporality: Temporality; monotonic: boolean }
  | { type: 'histogram'; points: HistogramPoint[]; temporality: Temporality }
  | { type: 'exponentialHistogram'; points: ExponentialHistogramPoint[]; temporality: Temporality }
  | { type: 'summary'; points: SummaryPoint[] }
  | { type: 'empty' };

export interface Metric {
  name: string;
  description: string;
  unit: string;
  data: MetricData;
  metadata: KeyValue[];
}

export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: Metric[];
  schemaUrl: string;
}

export interface ResourceMetrics {
  resource: Resource;
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

/** The content of one OTLP `ExportMetricsServiceRequest`. */
export interface MetricsData {
  resourceMetrics: ResourceMetrics[];
}

/** The number of data points, the unit OTLP counts metrics in (accepted, rejected, refused). */
export function countPoints(data: MetricsData): number {
  let n = 0;
  for (const rm of data.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) if (m.data.type !== 'empty') n += m.data.points.length;
    }
  }
  return n;
}
