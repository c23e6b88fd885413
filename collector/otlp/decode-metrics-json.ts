import type {
  Exemplar,
  ExponentialBuckets,
  Metric,
  MetricData,
  MetricsData,
  ResourceMetrics,
  ScopeMetrics,
  Temporality,
} from '../model/metrics.js';
import { DecodeError, rethrowWithin } from './decode-error.js';
import {
  asObject,
  eachOf,
  get,
  getBool,
  getCount,
  getDouble,
  getEnum,
  getId,
  getInt32,
  getNumberList,
  getString,
  getUint32,
  getUint64,
  parseJson,
  readAttributes,
  readResource,
  readScope,
  toBigInt,
  toCount,
  toDouble,
  type JsonObject,
} from './json-fields.js';
import { excerpt } from './proto-common.js';

const TEMPORALITIES = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
] as const;

/** Decodes an OTLP/JSON `ExportMetricsServiceRequest`; malformed input throws a DecodeError. */
export function decodeMetricsJson(body: Buffer): MetricsData {
  const request = parseJson(body);
  const resourceMetrics: ResourceMetrics[] = [];
  eachOf(request, 'resourceMetrics', 'resource_metrics', (rm) => resourceMetrics.push(readResourceMetrics(rm)));
  return { resourceMetrics };
}

function readResourceMetrics(o: JsonObject): ResourceMetrics {
  const scopeMetrics: ScopeMetrics[] = [];
  eachOf(o, 'scopeMetrics', 'scope_metrics', (sm) => scopeMetrics.push(readScopeMetrics(sm)));
  return { resource: readResource(o), scopeMetrics, schemaUrl: getString(o, 'schemaUrl', 'schema_url') };
}

function readScopeMetrics(o: JsonObject): ScopeMetrics {
  const metrics: Metric[] = [];
  eachOf(o, 'metrics', undefined, (m) => metrics.push(readMetric(m)));
  return { scope: readScope(o), metrics, schemaUrl: getString(o, 'schemaUrl', 'schema_url') };
}

function readMetric(o: JsonObject): Metric {
  const name = getString(o, 'name');
  const metric: Metric = {
    name,
    description: getString(o, 'description'),
    unit: getString(o, 'unit'),
    data: { type: 'empty' },
    metadata: readAttributes(o, 'metadata'),
  };
  for (const [camel, snake] of DATA_FIELDS) {
    const raw = get(o, camel, snake);
    if (raw === undefined) continue;
    try {
      metric.data = readData(camel, asObject(raw, camel));
    } catch (e) {
      rethrowWithin(e, name === '' ? camel : `${camel}("${excerpt(name)}")`);
    }
    break;
  }
  return metric;
}

const DATA_FIELDS = [
  ['gauge', undefined],
  ['sum', undefined],
  ['histogram', undefined],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', undefined],
] as const;

function readData(kind: (typeof DATA_FIELDS)[number][0], o: JsonObject): MetricData {
  const temporality = getEnum(o, 'aggregationTemporality', 'aggregation_temporality', TEMPORALITIES) as Temporality;
  switch (kind) {
    case 'gauge':
      return { type: 'gauge', points: readPoints(o, readNumberPoint) };
    case 'sum':
      return {
        type: 'sum',
        points: readPoints(o, readNumberPoint),
        temporality,
        monotonic: getBool(o, 'isMonotonic', 'is_monotonic'),
      };
    case 'histogram':
      return { type: 'histogram', points: readPoints(o, readHistogramPoint), temporality };
    case 'exponentialHistogram':
      return { type: 'exponentialHistogram', points: readPoints(o, readExponentialPoint), temporality };
    case 'summary':
      return { type: 'summary', points: readPoints(o, readSummaryPoint) };
  }
}

function readPoints<P>(o: JsonObject, read: (p: JsonObject) => P): P[] {
  const points: P[] = [];
  eachOf(o, 'dataPoints', 'data_points', (p) => points.push(read(p)));
  return points;
}

function base(p: JsonObject) {
  return {
    attributes: readAttributes(p, 'attributes'),
    startTimeUnixNano: getUint64(p, 'startTimeUnixNano', 'start_time_unix_nano'),
    timeUnixNano: getUint64(p, 'timeUnixNano', 'time_unix_nano'),
    exemplars: readExemplars(p),
    flags: getUint32(p, 'flags'),
  };
}

/** `asInt` (exact, bigint) or `asDouble`; an absent value is 0 as in proto3. */
function readValue(p: JsonObject): number | bigint {
  const asInt = get(p, 'asInt', 'as_int');
  if (asInt !== undefined) {
    const n = toBigInt(asInt);
    if (n === undefined || n < -(2n ** 63n) || n >= 2n ** 63n) {
      throw new DecodeError('must be a 64-bit integer').within('asInt');
    }
    return n;
  }
  return getDouble(p, 'asDouble', 'as_double') ?? 0;
}

function readNumberPoint(p: JsonObject) {
  return { ...base(p), value: readValue(p) };
}

function readHistogramPoint(p: JsonObject) {
  return {
    ...base(p),
    count: getCount(p, 'count'),
    sum: getDouble(p, 'sum'),
    bucketCounts: getNumberList(p, 'bucketCounts', 'bucket_counts', toCount),
    explicitBounds: getNumberList(p, 'explicitBounds', 'explicit_bounds', toDouble),
    min: getDouble(p, 'min'),
    max: getDouble(p, 'max'),
  };
}

function readBuckets(p: JsonObject, camel: string): ExponentialBuckets {
  const raw = get(p, camel);
  if (raw === undefined) return { offset: 0, bucketCounts: [] };
  try {
    const b = asObject(raw, camel);
    return { offset: getInt32(b, 'offset'), bucketCounts: getNumberList(b, 'bucketCounts', 'bucket_counts', toCount) };
  } catch (e) {
    rethrowWithin(e, camel);
  }
}

function readExponentialPoint(p: JsonObject) {
  return {
    ...base(p),
    count: getCount(p, 'count'),
    sum: getDouble(p, 'sum'),
    scale: getInt32(p, 'scale'),
    zeroCount: getCount(p, 'zeroCount', 'zero_count'),
    positive: readBuckets(p, 'positive'),
    negative: readBuckets(p, 'negative'),
    min: getDouble(p, 'min'),
    max: getDouble(p, 'max'),
    zeroThreshold: getDouble(p, 'zeroThreshold', 'zero_threshold') ?? 0,
  };
}

function readSummaryPoint(p: JsonObject) {
  const quantileValues: { quantile: number; value: number }[] = [];
  eachOf(p, 'quantileValues', 'quantile_values', (q) =>
    quantileValues.push({ quantile: getDouble(q, 'quantile') ?? 0, value: getDouble(q, 'value') ?? 0 }),
  );
  return { ...base(p), count: getCount(p, 'count'), sum: getDouble(p, 'sum') ?? 0, quantileValues };
}

function readExemplars(p: JsonObject): Exemplar[] {
  const out: Exemplar[] = [];
  eachOf(p, 'exemplars', undefined, (x) =>
    out.push({
      filteredAttributes: readAttributes(x, 'filteredAttributes', 'filtered_attributes'),
      timeUnixNano: getUint64(x, 'timeUnixNano', 'time_unix_nano'),
      value: readValue(x),
      spanId: getId(x, 'spanId', 'span_id', 8),
      traceId: getId(x, 'traceId', 'trace_id', 16),
    }),
  );
  return out;
}
