/**
 * The Kafka format is the OpenTelemetry Collector's `otlp_proto`: what a meshtel gateway writes is
 * read back by kcat (librdkafka) and decoded by the official OTLP protobuf code, field by field;
 * what kcat writes in that format (as an OpenTelemetry Collector's Kafka exporter would) is
 * aggregated by a meshtel aggregator, and a message that is not OTLP is counted and skipped
 * without holding up its partition.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Resource, InstrumentationScope } from '../../collector/model/common.js';
import type { MetricsData } from '../../collector/model/metrics.js';
import type { Span, TracesData } from '../../collector/model/traces.js';
import { ensureBuilt, startCollector, type CollectorProcess } from '../support/collector-process.js';
import { scrape, sum, tracesRequest } from '../support/flood.js';
import { MockKafka, startAggregator } from '../support/kafka.js';
import { officialMetrics, officialTraces, meshMetrics, meshSpans, serializeMetrics, serializeSpans } from '../support/otel-fixtures.js';
import { stopAll, waitFor } from '../support/processes.js';

interface FlatSpan {
  resource: Resource;
  scope: InstrumentationScope;
  span: Span;
}

/** Every span with its resource and scope, in span-id order: grouping aside, the same data. */
function flatten(data: TracesData[]): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const d of data) for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ resource: rs.resource, scope: ss.scope, span });
  return out.sort((a, b) => (a.span.spanId < b.span.spanId ? -1 : 1));
}

describe('the Kafka format is OTLP protobuf, as OpenTelemetry Collectors write and read it', () => {
  let dir: string;
  let kafka: MockKafka;
  let gateway: CollectorProcess;
  let aggregator: CollectorProcess;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'meshtel-kafka-interop-'));
    const config = join(dir, 'meshtel.yaml');
    writeFileSync(config, 'kafka:\n  producer:\n    compression: gzip\n');
    kafka = await MockKafka.start(3);
    const common = ['--config', config, '--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
    aggregator = await startAggregator(common);
    gateway = await startCollector([...common, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
    await waitFor('the gateway to be ready', async () => ((await fetch(`http://${gateway.admin}/readyz`)).ok ? true : undefined), 15_000);
  });

  afterAll(async () => {
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('spans the gateway wrote (gzip batches) decode with the official protos, one trace per message keyed by its id', async () => {
    const { spans } = await meshSpans();
    const { json, protobuf } = serializeSpans(spans);
    // OTLP/JSON in: what lands in Kafka is protobuf all the same.
    const res = await fetch(`http://${gateway.otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
    expect(res.status).toBe(200);

    const records = kafka.read('otlp_spans');
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    expect(records).toHaveLength(traceIds.size);
    const decoded = records.map((r) => officialTraces(r.value));
    for (const [i, d] of decoded.entries()) {
      const ids = new Set(flatten([d]).map((f) => f.span.traceId));
      expect([...ids]).toEqual([records[i]!.key]);
    }
    expect(new Set(records.map((r) => r.key))).toEqual(traceIds);
    // Every span, attribute, event, link, status, resource and scope, as the SDK made them.
    expect(flatten(decoded)).toEqual(flatten([officialTraces(protobuf)]));

    // And the aggregator took each of them, once.
    await waitFor('the aggregator to take the spans', async () => (sum(await scrape(aggregator.admin), 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' }) === spans.length ? true : undefined), 20_000, 100);
  });

  test('metrics the gateway wrote decode with the official protos, one resource per message keyed by it', async () => {
    const rm = await meshMetrics();
    const { protobuf } = serializeMetrics(rm);
    const res = await fetch(`http://${gateway.otlp}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: protobuf });
    expect(res.status).toBe(200);

    const records = kafka.read('otlp_metrics');
    expect(records).toHaveLength(1);
    expect(records[0]!.key).toMatch(/^[0-9a-f]{40}$/);
    const sent: MetricsData = officialMetrics(protobuf);
    expect(officialMetrics(records[0]!.value)).toEqual(sent);
    await waitFor('the aggregator to take the points', async () => (sum(await scrape(aggregator.admin), 'meshtel_receiver_accepted_metric_points_total', { receiver: 'kafka' }) === sum(await scrape(gateway.admin), 'meshtel_receiver_accepted_metric_points_total') ? true : undefined), 20_000, 100);
  });

  test('messages another producer wrote are aggregated; one that is not OTLP is counted and skipped, its partition flows on', async () => {
    const before = await scrape(aggregator.admin);
    const first = tracesRequest([{ service: 'kcat-before', spans: 3 }]);
    const after = tracesRequest([{ service: 'kcat-after', spans: 5 }]);
    const garbage = Buffer.from('this is not an OTLP request \u0000\u00ff', 'latin1');
    // A truncated request: a length-delimited field that runs past the end.
    const truncated = Buffer.from(after.body).subarray(0, 20);
    // All under one key: one partition, in this order.
    kafka.write('otlp_spans', 'one-partition', [first.body, garbage, truncated, after.body]);

    const s = await waitFor('the aggregator to get past the bad messages', async () => {
      const m = await scrape(aggregator.admin);
      return sum(m, 'traces_span_metrics_calls_total', { service_name: 'kcat-after' }) === 5 ? m : undefined;
    }, 20_000, 100);
    expect(sum(s, 'traces_span_metrics_calls_total', { service_name: 'kcat-before' })).toBe(3);
    const undecodable = sum(s, 'meshtel_kafka_consumed_messages_total', { topic: 'otlp_spans', outcome: 'undecodable' }) - sum(before, 'meshtel_kafka_consumed_messages_total', { topic: 'otlp_spans', outcome: 'undecodable' });
    expect(undecodable).toBe(2);
    const warnings = aggregator.logs().filter((l) => l.msg === 'skipping a message that cannot be decoded');
    expect(warnings).toHaveLength(2);
    for (const w of warnings) {
      expect(w).toMatchObject({ topic: 'otlp_spans', partition: expect.any(Number) as number, offset: expect.stringMatching(/^\d+$/) as string });
      expect(String(w.error)).toMatch(/^cannot decode OTLP\/protobuf traces: /);
    }
  });
});
