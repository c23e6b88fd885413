import { beforeAll, describe, expect, it } from 'vitest';
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type ResourceMetrics as SdkResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { attribute, KvList, type AnyValue } from '../../../collector/model/common.js';
import { countPoints, type Metric, type MetricsData } from '../../../collector/model/metrics.js';
import { decodeMetricsJson } from '../../../collector/otlp/decode-metrics-json.js';
import { decodeMetricsProto } from '../../../collector/otlp/decode-metrics-proto.js';
import {
  MESH_WORKLOADS,
  comparable,
  meshMetrics,
  officialMetrics,
  officialOtlp,
  officialWireFormat,
  serializeMetrics,
} from '../../support/otel-fixtures.js';
import { decodeError, encodeOfficial, json } from '../../support/decode-helpers.js';

const otlp = officialOtlp();
const encodeMetrics = (request: Record<string, unknown>) => encodeOfficial(otlp.ExportMetricsServiceRequest, request);

function metrics(data: MetricsData): Metric[] {
  return data.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
}

function modelValue(v: unknown): AnyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(modelValue);
  return new KvList(Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: modelValue(value) })));
}

function nanos(t: readonly [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

const payloads: { label: string; sdk: SdkResourceMetrics; protobuf: Uint8Array; json: Buffer }[] = [];

beforeAll(async () => {
  for (const [label, w, t] of [
    ['checkout, counters cumulative and observable counters/histograms delta', MESH_WORKLOADS.checkout, 'mixed'],
    ['payments, everything delta', MESH_WORKLOADS.payments, 'delta'],
  ] as const) {
    const sdk = await meshMetrics(w, t);
    const s = serializeMetrics(sdk);
    payloads.push({ label, sdk, protobuf: s.protobuf, json: Buffer.from(s.json) });
  }
});

describe('decodeMetricsProto on SDK payloads', () => {
  it('the fixtures hold every kind of SDK metric, in both temporalities', () => {
    const official = payloads.map((p) => metrics(officialMetrics(p.protobuf)));
    const kinds = new Set(official.flat().map((m) => (m.data.type === 'sum' || m.data.type === 'histogram' || m.data.type === 'exponentialHistogram' ? `${m.data.type}/${m.data.temporality}` : m.data.type)));
    expect(kinds).toEqual(new Set(['sum/1', 'sum/2', 'gauge', 'histogram/1', 'exponentialHistogram/1']));
    // The mixed payload has cumulative sums, monotonic and not.
    expect(official[0]!.some((m) => m.data.type === 'sum' && m.data.temporality === 2 && !m.data.monotonic)).toBe(true);
  });

  it('agrees with the official protobufjs decoder on every field', () => {
    for (const p of payloads) {
      expect(comparable(decodeMetricsProto(p.protobuf)), p.label).toStrictEqual(comparable(officialMetrics(p.protobuf)));
    }
  });

  it('reproduces what the SDK aggregated: names, types, temporality, values, buckets and times', () => {
    for (const p of payloads) {
      const decoded = new Map(metrics(decodeMetricsProto(p.protobuf)).map((m) => [m.name, m]));
      const resource = decodeMetricsProto(p.protobuf).resourceMetrics[0]!.resource;
      expect(attribute(resource.attributes, 'service.name')).toBe(p.sdk.resource.attributes['service.name']);
      for (const sm of p.sdk.scopeMetrics) {
        for (const m of sm.metrics) {
          const d = decoded.get(m.descriptor.name);
          expect(d, m.descriptor.name).toBeDefined();
          if (!d) continue;
          expect(d.unit).toBe(m.descriptor.unit);
          expect(d.description).toBe(m.descriptor.description);
          const otlpTemporality = m.aggregationTemporality === AggregationTemporality.DELTA ? 1 : 2;
          const points = d.data.type === 'empty' ? [] : d.data.points;
          expect(points).toHaveLength(m.dataPoints.length);
          m.dataPoints.forEach((sp, i) => {
            const dp = points[i]!;
            const where = `${p.label}: ${m.descriptor.name}[${i}]`;
            expect(comparable(dp.attributes), where).toStrictEqual(
              comparable(Object.entries(sp.attributes).map(([key, value]) => ({ key, value: modelValue(value) }))),
            );
            expect(dp.startTimeUnixNano, where).toBe(nanos(sp.startTime));
            expect(dp.timeUnixNano, where).toBe(nanos(sp.endTime));
          });
          switch (m.dataPointType) {
            case DataPointType.SUM:
            case DataPointType.GAUGE: {
              const isSum = m.dataPointType === DataPointType.SUM;
              expect(d.data.type).toBe(isSum ? 'sum' : 'gauge');
              if (d.data.type === 'sum') {
                expect(d.data.temporality).toBe(otlpTemporality);
                expect(d.data.monotonic).toBe(m.dataPointType === DataPointType.SUM && m.isMonotonic);
              }
              const expected = m.dataPoints.map((sp) => (m.descriptor.valueType === ValueType.INT ? BigInt(sp.value) : sp.value));
              expect(points.map((dp) => ('value' in dp ? dp.value : undefined))).toEqual(expected);
              break;
            }
            case DataPointType.HISTOGRAM: {
              expect(d.data.type).toBe('histogram');
              if (d.data.type !== 'histogram') break;
              expect(d.data.temporality).toBe(otlpTemporality);
              d.data.points.forEach((dp, i) => {
                const h = m.dataPoints[i]!.value;
                expect([dp.count, dp.sum, dp.min, dp.max]).toEqual([h.count, h.sum, h.min, h.max]);
                expect(dp.explicitBounds).toEqual(h.buckets.boundaries);
                expect(dp.bucketCounts).toEqual(h.buckets.counts);
              });
              break;
            }
            case DataPointType.EXPONENTIAL_HISTOGRAM: {
              expect(d.data.type).toBe('exponentialHistogram');
              if (d.data.type !== 'exponentialHistogram') break;
              expect(d.data.temporality).toBe(otlpTemporality);
              d.data.points.forEach((dp, i) => {
                const h = m.dataPoints[i]!.value;
                expect([dp.count, dp.sum, dp.min, dp.max, dp.scale, dp.zeroCount]).toEqual([h.count, h.sum, h.min, h.max, h.scale, h.zeroCount]);
                expect(dp.positive).toEqual({ offset: h.positive.offset, bucketCounts: h.positive.bucketCounts });
                expect(dp.negative).toEqual({ offset: h.negative.offset, bucketCounts: h.negative.bucketCounts });
              });
              break;
            }
          }
        }
      }
    }
  });

  it('keeps int sums exact beyond 2^32 and negative up-down counts', () => {
    const byName = new Map(metrics(decodeMetricsProto(payloads[0]!.protobuf)).map((m) => [m.name, m]));
    const requests = byName.get('mesh.requests')!.data;
    expect(requests.type === 'sum' && requests.points.map((p) => p.value)).toEqual([7n, 3n, 2n ** 40n]);
    const open = byName.get('mesh.tcp.connections.open')!.data;
    expect(open.type === 'sum' && open.points.map((p) => p.value)).toEqual([5n, -7n]);
  });
});

describe('decodeMetricsJson on SDK payloads', () => {
  it('the SDK JSON serialization decodes to the same model as its protobuf serialization', () => {
    for (const p of payloads) {
      expect(comparable(decodeMetricsJson(p.json)), p.label).toStrictEqual(comparable(decodeMetricsProto(p.protobuf)));
    }
  });
});

// What the SDK does not produce (summaries, exemplars, flags, extreme values, absent optional
// fields, metadata, a metric without data), encoded by the official generated code.
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const T0 = '1700000000000000000';
const T1 = '1700000010000000001';

const handMade = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'k8s.pod.name', value: { stringValue: 'web-0' } }], droppedAttributesCount: 1 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeMetrics: [
        {
          scope: { name: 'linkerd-proxy', version: '2.14', attributes: [{ key: 'x', value: { intValue: 1 } }], droppedAttributesCount: 2 },
          schemaUrl: 'https://example.com/scope',
          metrics: [
            {
              name: 'response_latency_ms',
              description: 'Server response latency',
              unit: 'ms',
              summary: {
                dataPoints: [
                  {
                    attributes: [{ key: 'direction', value: { stringValue: 'inbound' } }],
                    startTimeUnixNano: T0,
                    timeUnixNano: T1,
                    count: 10,
                    sum: 123.5,
                    quantileValues: [
                      { quantile: 0.5, value: 3 },
                      { quantile: 0.99, value: 14 },
                      {},
                    ],
                    flags: 0,
                  },
                ],
              },
            },
            {
              name: 'request_total',
              sum: {
                aggregationTemporality: 2,
                isMonotonic: true,
                dataPoints: [
                  {
                    startTimeUnixNano: T0,
                    timeUnixNano: T1,
                    asInt: '9223372036854775807',
                    exemplars: [
                      {
                        asInt: '-9223372036854775808',
                        timeUnixNano: T1,
                        spanId: bytes(SPAN),
                        traceId: bytes(TRACE),
                        filteredAttributes: [{ key: 'user', value: { stringValue: 'u1' } }],
                      },
                      { asDouble: 0.25 },
                    ],
                  },
                  { asInt: '-1', flags: 1 },
                ],
              },
            },
            {
              name: 'tcp_open_connections',
              metadata: [{ key: 'prometheus.type', value: { stringValue: 'gauge' } }],
              gauge: { dataPoints: [{ asDouble: -0 }, { asDouble: NaN }, {}] },
            },
            {
              name: 'h',
              histogram: {
                aggregationTemporality: 1,
                dataPoints: [
                  {
                    count: '9007199254740991',
                    sum: 1e300,
                    bucketCounts: ['9007199254740990', 1, 0],
                    explicitBounds: [0.005, Infinity],
                    exemplars: [{ asDouble: 0.003, traceId: bytes(TRACE), spanId: bytes(SPAN) }],
                    min: -5,
                    max: 5,
                  },
                  { count: 0 },
                  { count: 0, sum: 0, min: 0, max: 0 },
                ],
              },
            },
            {
              name: 'eh',
              exponentialHistogram: {
                aggregationTemporality: 2,
                dataPoints: [
                  {
                    count: 14,
                    sum: 90.5,
                    scale: -3,
                    zeroCount: 2,
                    zeroThreshold: 1e-9,
                    positive: { offset: -5, bucketCounts: [1, '4294967296'] },
                    negative: { offset: 3, bucketCounts: [7] },
                    min: -10,
                    max: 100,
                    flags: 1,
                  },
                  { scale: 20 },
                ],
              },
            },
            { name: 'no_data', description: 'a metric whose data field is unknown or absent' },
          ],
        },
      ],
    },
  ],
};

describe('decodeMetricsProto on hand-made payloads', () => {
  it('agrees with the official decoder on summaries, exemplars, flags, extremes, absent optionals and metadata', () => {
    const body = encodeMetrics(handMade);
    expect(comparable(decodeMetricsProto(body))).toStrictEqual(comparable(officialMetrics(body)));
  });

  it('keeps the values exact and tells absent optional fields from zero', () => {
    const byName = new Map(metrics(decodeMetricsProto(encodeMetrics(handMade))).map((m) => [m.name, m]));
    const summary = byName.get('response_latency_ms')!.data;
    expect(summary.type === 'summary' && summary.points[0]).toMatchObject({
      count: 10,
      sum: 123.5,
      startTimeUnixNano: 1700000000000000000n,
      timeUnixNano: 1700000010000000001n,
      quantileValues: [
        { quantile: 0.5, value: 3 },
        { quantile: 0.99, value: 14 },
        { quantile: 0, value: 0 },
      ],
    });
    const sum = byName.get('request_total')!.data;
    if (sum.type !== 'sum') throw new Error('request_total is not a sum');
    expect(sum.points.map((p) => [p.value, p.flags])).toEqual([
      [2n ** 63n - 1n, 0],
      [-1n, 1],
    ]);
    expect(sum.points[0]!.exemplars).toEqual([
      { value: -(2n ** 63n), timeUnixNano: 1700000010000000001n, spanId: SPAN, traceId: TRACE, filteredAttributes: [{ key: 'user', value: 'u1' }] },
      { value: 0.25, timeUnixNano: 0n, spanId: '', traceId: '', filteredAttributes: [] },
    ]);
    const gauge = byName.get('tcp_open_connections')!;
    expect(gauge.metadata).toEqual([{ key: 'prometheus.type', value: 'gauge' }]);
    expect(gauge.data.type === 'gauge' && gauge.data.points.map((p) => p.value)).toEqual([-0, NaN, 0]);
    const h = byName.get('h')!.data;
    if (h.type !== 'histogram') throw new Error('h is not a histogram');
    expect(h.points[0]).toMatchObject({ count: 2 ** 53 - 1, sum: 1e300, bucketCounts: [2 ** 53 - 2, 1, 0], explicitBounds: [0.005, Infinity], min: -5, max: 5 });
    expect([h.points[1]!.sum, h.points[1]!.min, h.points[1]!.max]).toEqual([undefined, undefined, undefined]);
    expect([h.points[2]!.sum, h.points[2]!.min, h.points[2]!.max]).toEqual([0, 0, 0]);
    const eh = byName.get('eh')!.data;
    if (eh.type !== 'exponentialHistogram') throw new Error('eh is not an exponential histogram');
    expect(eh.points[0]).toMatchObject({ scale: -3, zeroCount: 2, zeroThreshold: 1e-9, positive: { offset: -5, bucketCounts: [1, 2 ** 32] }, negative: { offset: 3, bucketCounts: [7] }, flags: 1 });
    expect(eh.points[1]).toMatchObject({ scale: 20, count: 0, sum: undefined, positive: { offset: 0, bucketCounts: [] } });
    expect(byName.get('no_data')!.data).toEqual({ type: 'empty' });
    expect(countPoints(decodeMetricsProto(encodeMetrics(handMade)))).toBe(1 + 2 + 3 + 3 + 2);
  });

  it('reads unpacked repeated fields the same as packed ones', () => {
    // A histogram point and an exponential histogram point with every repeated number field
    // unpacked (one tag per value), which protobuf parsers must accept.
    const w = officialWireFormat().Writer.create();
    const LEN = 2;
    w.uint32((1 << 3) | LEN).fork(); // resource_metrics
    w.uint32((2 << 3) | LEN).fork(); // scope_metrics
    w.uint32((2 << 3) | LEN).fork(); // metric
    w.uint32((1 << 3) | LEN).string('h');
    w.uint32((9 << 3) | LEN).fork(); // histogram
    w.uint32((1 << 3) | LEN).fork(); // data point
    w.uint32((4 << 3) | 1).fixed64(6);
    for (const c of [1, 2, 3]) w.uint32((6 << 3) | 1).fixed64(c);
    for (const b of [0.5, 5]) w.uint32((7 << 3) | 1).double(b);
    w.ldelim();
    w.uint32((2 << 3) | 0).uint32(2);
    w.ldelim().ldelim();
    w.uint32((2 << 3) | LEN).fork(); // metric
    w.uint32((1 << 3) | LEN).string('eh');
    w.uint32((10 << 3) | LEN).fork(); // exponential histogram
    w.uint32((1 << 3) | LEN).fork(); // data point
    w.uint32((8 << 3) | LEN).fork(); // positive buckets
    w.uint32((1 << 3) | 0).sint32(-2);
    for (const c of [4, 0, 9]) w.uint32((2 << 3) | 0).uint64(c);
    w.ldelim().ldelim().ldelim().ldelim();
    w.ldelim().ldelim();
    const body = w.finish();
    const ours = decodeMetricsProto(body);
    expect(comparable(ours)).toStrictEqual(comparable(officialMetrics(body)));
    const [h, eh] = metrics(ours);
    expect(h!.data.type === 'histogram' && h!.data.points[0]).toMatchObject({ count: 6, bucketCounts: [1, 2, 3], explicitBounds: [0.5, 5] });
    expect(eh!.data.type === 'exponentialHistogram' && eh!.data.points[0]!.positive).toEqual({ offset: -2, bucketCounts: [4, 0, 9] });
  });
});

// The hand-made request again, in OTLP/JSON with snake_case keys, enum names, int64 strings,
// the special double spellings and unknown fields.
const jsonHandMade = {
  resource_metrics: [
    {
      resource: { attributes: [{ key: 'k8s.pod.name', value: { string_value: 'web-0' } }], dropped_attributes_count: 1, entityRefs: [] },
      schema_url: 'https://opentelemetry.io/schemas/1.26.0',
      scope_metrics: [
        {
          scope: { name: 'linkerd-proxy', version: '2.14', attributes: [{ key: 'x', value: { int_value: '1' } }], dropped_attributes_count: 2 },
          schema_url: 'https://example.com/scope',
          futureField: 'ignored',
          metrics: [
            {
              name: 'response_latency_ms',
              description: 'Server response latency',
              unit: 'ms',
              summary: {
                data_points: [
                  {
                    attributes: [{ key: 'direction', value: { stringValue: 'inbound' } }],
                    start_time_unix_nano: T0,
                    time_unix_nano: T1,
                    count: '10',
                    sum: 123.5,
                    quantile_values: [{ quantile: 0.5, value: 3 }, { quantile: '0.99', value: '14' }, {}],
                    flags: 0,
                  },
                ],
              },
            },
            {
              name: 'request_total',
              sum: {
                aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
                is_monotonic: true,
                data_points: [
                  {
                    startTimeUnixNano: T0,
                    timeUnixNano: T1,
                    as_int: '9223372036854775807',
                    exemplars: [
                      { as_int: '-9223372036854775808', time_unix_nano: T1, span_id: SPAN.toUpperCase(), trace_id: TRACE, filtered_attributes: [{ key: 'user', value: { stringValue: 'u1' } }] },
                      { asDouble: 0.25 },
                    ],
                  },
                  { asInt: -1, flags: '1' },
                ],
              },
            },
            {
              name: 'tcp_open_connections',
              metadata: [{ key: 'prometheus.type', value: { stringValue: 'gauge' } }],
              // JSON.stringify(-0) is "0": the string spelling keeps the sign.
              gauge: { dataPoints: [{ asDouble: '-0' }, { as_double: 'NaN' }, {}], unknownGaugeField: 1 },
            },
            {
              name: 'h',
              histogram: {
                aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                data_points: [
                  {
                    count: '9007199254740991',
                    sum: 1e300,
                    bucket_counts: ['9007199254740990', 1, '0'],
                    explicit_bounds: [0.005, 'Infinity'],
                    exemplars: [{ asDouble: 0.003, traceId: TRACE, spanId: SPAN }],
                    min: -5,
                    max: '5',
                  },
                  { count: 0 },
                  { count: 0, sum: 0, min: 0, max: 0 },
                ],
              },
            },
            {
              name: 'eh',
              exponential_histogram: {
                aggregation_temporality: 2,
                data_points: [
                  {
                    count: 14,
                    sum: 90.5,
                    scale: -3,
                    zero_count: '2',
                    zero_threshold: 1e-9,
                    positive: { offset: -5, bucket_counts: ['1', '4294967296'] },
                    negative: { offset: '3', bucketCounts: [7] },
                    min: -10,
                    max: 100,
                    flags: 1,
                  },
                  { scale: 20 },
                ],
              },
            },
            { name: 'no_data', description: 'a metric whose data field is unknown or absent', futureData: { dataPoints: [{}] } },
          ],
        },
      ],
    },
  ],
};

describe('OTLP/JSON specifics for metrics', () => {
  it('decodes to the same model as the protobuf encoding of the same request', () => {
    expect(comparable(decodeMetricsJson(json(jsonHandMade)))).toStrictEqual(comparable(decodeMetricsProto(encodeMetrics(handMade))));
  });
});

describe('metric decode errors name the path', () => {
  const scope = (metricList: unknown[]) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }] } }] }, { metrics: metricList }] }] });

  it('protobuf: exemplar ids, packed lengths and truncation', () => {
    const bad = scope([
      { name: 'ok2', gauge: { dataPoints: [{ asInt: 1 }] } },
      { name: 'latency', histogram: { dataPoints: [{}, {}, { exemplars: [{ traceId: bytes('010203') }] }] } },
    ]);
    expect(decodeError(() => decodeMetricsProto(encodeMetrics(bad))).message).toBe(
      'resourceMetrics[0].scopeMetrics[1].metrics[1].histogram("latency").dataPoints[2].exemplars[0].traceId: must be 16 bytes, got 3',
    );
    const badSpan = scope([{ sum: { dataPoints: [{ exemplars: [{}, { spanId: bytes('0102') }] }] } }]);
    expect(decodeError(() => decodeMetricsProto(encodeMetrics(badSpan))).message).toBe(
      'resourceMetrics[0].scopeMetrics[1].metrics[0].sum.dataPoints[0].exemplars[1].spanId: must be 8 bytes, got 2',
    );

    const w = officialWireFormat().Writer.create();
    w.uint32((1 << 3) | 2).fork().uint32((2 << 3) | 2).fork().uint32((2 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string('h').uint32((9 << 3) | 2).fork().uint32((1 << 3) | 2).fork();
    w.uint32((6 << 3) | 2).bytes(new Uint8Array(12)); // 12 bytes of packed fixed64
    w.ldelim().ldelim().ldelim().ldelim().ldelim();
    expect(decodeError(() => decodeMetricsProto(w.finish())).message).toBe(
      'resourceMetrics[0].scopeMetrics[0].metrics[0].histogram("h").dataPoints[0]: packed fixed64 length is not a multiple of 8',
    );

    const sdk = payloads[0]!.protobuf;
    for (const cut of [1, 3, Math.floor(sdk.length / 3), sdk.length - 2]) {
      expect(decodeError(() => decodeMetricsProto(sdk.subarray(0, cut))).message).toMatch(/truncated|runs past the end/);
    }
  });

  it('json: values, enums, counts, offsets', () => {
    const path = 'resourceMetrics[0].scopeMetrics[1].metrics[0]';
    const cases: [unknown, string][] = [
      [{ name: 'requests', sum: { dataPoints: [{ asInt: '9223372036854775808' }] } }, `${path}.sum("requests").dataPoints[0].asInt: must be a 64-bit integer`],
      [{ name: 'requests', sum: { dataPoints: [{ asInt: 1.5 }] } }, `${path}.sum("requests").dataPoints[0].asInt: must be a 64-bit integer`],
      [{ name: 'requests', sum: { aggregationTemporality: 'CUMULATIVE' } }, `${path}.sum("requests").aggregationTemporality: must be one of AGGREGATION_TEMPORALITY_UNSPECIFIED`],
      [{ name: 'h', histogram: { dataPoints: [{ bucketCounts: [1, -1] }] } }, `${path}.histogram("h").dataPoints[0].bucketCounts[1]: must be a number, got -1`],
      [{ name: 'h', histogram: { dataPoints: [{ explicitBounds: 'no' }] } }, `${path}.histogram("h").dataPoints[0].explicitBounds: must be an array, got a string`],
      [{ name: 'h', histogram: { dataPoints: [{ count: '-3' }] } }, `${path}.histogram("h").dataPoints[0].count: must be an unsigned 64-bit integer, got "-3"`],
      [{ name: 'eh', exponentialHistogram: { dataPoints: [{ positive: { offset: 2 ** 31 } }] } }, `${path}.exponentialHistogram("eh").dataPoints[0].positive.offset: must be a 32-bit integer, got 2147483648`],
      [{ name: 'eh', exponential_histogram: { data_points: [{ scale: 'big' }] } }, `${path}.exponentialHistogram("eh").dataPoints[0].scale: must be a 32-bit integer, got "big"`],
      [{ name: 's', summary: { dataPoints: [{ quantileValues: [{ quantile: {} }] }] } }, `${path}.summary("s").dataPoints[0].quantileValues[0].quantile: must be a number, got an object`],
      [{ gauge: { dataPoints: [{ exemplars: [{ traceId: 'nothex' }] }] } }, `${path}.gauge.dataPoints[0].exemplars[0].traceId: must be 32 hex characters, got "nothex"`],
      [{ name: 'g', gauge: 5 }, `${path}.gauge("g"): gauge must be an object, got a number`],
    ];
    for (const [metric, message] of cases) {
      expect(decodeError(() => decodeMetricsJson(json(scope([metric])))).message).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
  });
});
