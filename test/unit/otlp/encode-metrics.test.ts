import { describe, expect, it } from 'vitest';
import { decodeMetricsJson } from '../../../collector/otlp/decode-metrics-json.js';
import { decodeMetricsProto } from '../../../collector/otlp/decode-metrics-proto.js';
import { encodeMetricsProto } from '../../../collector/otlp/encode-metrics-proto.js';
import { comparable, meshMetrics, officialMetrics, serializeMetrics } from '../../support/otel-fixtures.js';

describe('encodeMetricsProto', () => {
  it.each(['mixed', 'delta'] as const)('re-encodes SDK metrics (%s temporality) so that the official decoder reads every field unchanged', async (temporality) => {
    const original = serializeMetrics(await meshMetrics(undefined, temporality)).protobuf;
    const reencoded = encodeMetricsProto(decodeMetricsProto(original));
    expect(comparable(officialMetrics(reencoded))).toEqual(comparable(officialMetrics(original)));
  });

  it('round-trips summaries, exemplars, flags and int values through our decoder', () => {
    const model = decodeMetricsJson(
      Buffer.from(
        JSON.stringify({
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'auth' } }] },
              scopeMetrics: [
                {
                  scope: { name: 's', version: '1' },
                  metrics: [
                    { name: 'rpc.latency', summary: { dataPoints: [{ timeUnixNano: '5', count: '3', sum: 1.5, quantileValues: [{ quantile: 0.5, value: 0.4 }, { quantile: 1, value: 0.9 }], flags: 1 }] } },
                    { name: 'requests', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '-9007199254740993', startTimeUnixNano: '1', timeUnixNano: '2', exemplars: [{ asInt: '7', spanId: '0102030405060708', traceId: '0102030405060708090a0b0c0d0e0f10', filteredAttributes: [{ key: 'k', value: { boolValue: true } }] }] }] } },
                    { name: 'latency', histogram: { aggregationTemporality: 1, dataPoints: [{ count: '4', sum: 10, bucketCounts: ['1', '3'], explicitBounds: [5], min: 1, max: 6 }] } },
                    { name: 'size', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: '3', scale: -2, zeroCount: '1', positive: { offset: -3, bucketCounts: ['1', '1'] }, negative: {}, zeroThreshold: 0.001 }] } },
                    { name: 'empty' },
                  ],
                },
              ],
            },
          ],
        }),
      ),
    );
    expect(comparable(decodeMetricsProto(encodeMetricsProto(model)))).toEqual(comparable(model));
    expect(comparable(officialMetrics(encodeMetricsProto(model)))).toEqual(comparable(model));
  });
});
