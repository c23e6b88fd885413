import { AggregationTemporality, AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { expect, it } from 'vitest';
import { Aggregator } from '../../../collector/aggregation/aggregator.js';
import { aggregationConfigSchema } from '../../../collector/aggregation/config.js';
import { statView } from '../../../collector/api/views.js';
import { countPoints } from '../../../collector/model/metrics.js';
import { decodeMetricsProto } from '../../../collector/otlp/decode-metrics-proto.js';
import { only, parseSeries, renderFamilies } from '../../golden/exposition.js';

/** Collects on demand, cumulative, as a proxy's SDK would export. */
class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

it('golden metrics read exponential histograms, cumulative, across a change of scale', async () => {
  const aggregator = new Aggregator(aggregationConfigSchema.parse({}));
  const reader = new Reader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'catalog', 'k8s.namespace.name': 'shop' }),
    readers: [reader],
    views: [{ instrumentName: 'http.server.request.duration', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const duration = provider.getMeter('proxy').createHistogram('http.server.request.duration', { unit: 's' });
  const attributes = { 'http.response.status_code': 200, 'tls.established': true };
  const exportNow = async () => {
    const { resourceMetrics } = await reader.collect();
    const data = decodeMetricsProto(ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!);
    expect(data.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data.type).toBe('exponentialHistogram');
    aggregator.consumeMetrics({ data, items: countPoints(data), source: { receiver: 'test' } });
    return data;
  };

  for (let i = 0; i < 100; i++) duration.record(0.003, attributes);
  for (let i = 0; i < 100; i++) duration.record(0.04, attributes);
  const first = await exportNow();
  // 200 ms widens the range: the SDK lowers the scale, so the buckets of the second export differ.
  for (let i = 0; i < 50; i++) duration.record(0.2, attributes);
  const second = await exportNow();
  const scale = (d: typeof first) => (d.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data as { points: { scale: number }[] }).points[0]!.scale;
  expect(scale(second)).toBeLessThan(scale(first));
  await provider.shutdown();

  const series = only(parseSeries(await renderFamilies(aggregator.families())), ['meshtel_workload_']);
  const at = (key: string) => series.get(key);
  expect(at('meshtel_workload_requests_total{classification="success",namespace="shop",tls="true",workload="catalog"}')).toBe(250);
  expect(at('meshtel_workload_request_duration_seconds_count{namespace="shop",workload="catalog"}')).toBe(250);
  expect(at('meshtel_workload_request_duration_seconds_sum{namespace="shop",workload="catalog"}')).toBeCloseTo(0.3 + 4 + 10, 9);
  // Each value lies in an exponential bucket a few percent wide, spread over our buckets around it.
  const le = (bound: string) => at(`meshtel_workload_request_duration_seconds_bucket{le="${bound}",namespace="shop",workload="catalog"}`)!;
  expect(le('0.002')).toBe(0);
  expect(le('0.004')).toBeCloseTo(100, 6);
  expect(le('0.05')).toBeCloseTo(200, 6);
  expect(le('0.3')).toBeCloseTo(250, 6);
  expect(le('+Inf')).toBeCloseTo(250, 6);

  const [catalog] = statView(aggregator.traffic, '1m', 60_000, Date.now(), 120_000).workloads;
  expect(catalog).toMatchObject({ namespace: 'shop', name: 'catalog', requests: 250, success_rate: 1 });
  // p50 is the 125th of 250: among the 40 ms values; p99 among the 200 ms ones.
  expect(catalog!.latency_ms.p50).toBeGreaterThan(30);
  expect(catalog!.latency_ms.p50).toBeLessThanOrEqual(50);
  expect(catalog!.latency_ms.p99).toBeGreaterThan(100);
  expect(catalog!.latency_ms.p99).toBeLessThanOrEqual(300);
});
