/**
 * Scaling out on Kafka, end to end: the official OpenTelemetry SDK sends a known topology to a
 * gateway, the gateway writes it to a Kafka cluster (librdkafka's mock cluster, real wire
 * protocol, three brokers), two aggregators in one consumer group read it, and a real Prometheus
 * scrapes both. What Prometheus sums over the two must be exactly the ground truth.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, startCollector, type CollectorProcess } from '../support/collector-process.js';
import { scrape, sum, type Samples } from '../support/flood.js';
import { MockKafka, startAggregator } from '../support/kafka.js';
import { stopAll, waitFor } from '../support/processes.js';
import { Prometheus, type PromSample } from '../support/prometheus.js';
import { driveTopology, SeriesMap, type GroundTruth } from '../support/sdk-topology.js';

const SPANS = 'otlp_spans';
const METRICS = 'otlp_metrics';

/** `sum without (instance) (...)` of a family, keyed like SeriesMap (job dropped too). */
async function summed(prometheus: Prometheus, family: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await prometheus.query(`sum without (instance, job) (${family})`)) out[SeriesMap.key(s.metric)] = Number(s.value[1]);
  return out;
}

function value(samples: PromSample[]): number {
  expect(samples).toHaveLength(1);
  return Number(samples[0]!.value[1]);
}

describe('a gateway and two aggregators on Kafka', () => {
  let dir: string;
  let kafka: MockKafka;
  let gateway: CollectorProcess;
  let aggregators: CollectorProcess[];
  let prometheus: Prometheus;
  let truth: GroundTruth;
  /** Each aggregator's /metrics once everything was consumed. */
  let final: Samples[];

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'meshtel-kafka-'));
    const config = join(dir, 'meshtel.yaml');
    // A short store TTL so that the database edge and the unpaired spans expire within the test;
    // a short session so that the group settles soon after the second member joins.
    writeFileSync(config, 'aggregation:\n  service_graph:\n    store_ttl: 1s\nkafka:\n  consumer:\n    session_timeout: 6s\n');
    kafka = await MockKafka.start(3);
    const common = ['--config', config, '--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
    aggregators = [await startAggregator(common), await startAggregator(common)];
    gateway = await startCollector([...common, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
    // Both aggregators hold partitions of both topics, and the gateway is connected.
    await waitFor('the consumer group to settle', async () => {
      const [a, b] = await Promise.all(aggregators.map((x) => scrape(x.admin)));
      const held = (s: Samples, topic: string) => sum(s, 'meshtel_kafka_assigned_partitions', { topic });
      const ok = [SPANS, METRICS].every((t) => held(a!, t) > 0 && held(b!, t) > 0 && held(a!, t) + held(b!, t) === 4);
      return ok ? true : undefined;
    }, 45_000, 250);
    await waitFor('the gateway to be ready', async () => ((await fetch(`http://${gateway.admin}/readyz`)).ok ? true : undefined), 15_000);
    prometheus = await Prometheus.start({ targets: { meshtel: aggregators.map((a) => a.admin) }, scrapeInterval: '1s' });

    truth = await driveTopology(gateway.otlp);

    // Everything written was consumed, and every pending half-edge expired, in both.
    const produced = await scrape(gateway.admin);
    await waitFor('the aggregators to consume everything the gateway wrote and drain their stores', async () => {
      const all = await Promise.all(aggregators.map((x) => scrape(x.admin)));
      for (const topic of [SPANS, METRICS]) {
        const consumed = all.reduce((n, s) => n + sum(s, 'meshtel_kafka_consumed_messages_total', { topic }), 0);
        if (consumed !== sum(produced, 'meshtel_kafka_produced_messages_total', { topic })) return undefined;
      }
      if (all.some((s) => sum(s, 'meshtel_servicegraph_store_items') !== 0)) return undefined;
      return all;
    }, 30_000, 200).then((all) => (final = all));
    const settled = Date.now();
    // A scrape of each aggregator that started after that: Prometheus then holds the final values.
    await prometheus.waitForQuery('timestamp(up{job="meshtel"} == 1)', (s) => (s.length === 2 && s.every((x) => Number(x.value[1]) * 1000 > settled) ? true : undefined), 15_000);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the gateway wrote every span and point it acknowledged, keyed so that each trace met in one aggregator', async () => {
    const g = await scrape(gateway.admin);
    const acceptedSpans = sum(g, 'meshtel_receiver_accepted_spans_total', { receiver: 'otlp_http' });
    expect(acceptedSpans).toBe(truth.spansExported);
    expect(sum(g, 'meshtel_kafka_produced_items_total', { topic: SPANS })).toBe(acceptedSpans);
    expect(sum(g, 'meshtel_kafka_produced_items_total', { topic: METRICS })).toBe(sum(g, 'meshtel_receiver_accepted_metric_points_total', { receiver: 'otlp_http' }));
    expect(sum(g, 'meshtel_kafka_produce_failed_items_total')).toBe(0);
    // The gateway aggregates nothing.
    expect(sum(g, 'traces_span_metrics_calls_total')).toBe(0);

    const consumed = final.reduce((n, s) => n + sum(s, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' }), 0);
    expect(consumed).toBe(acceptedSpans);
    expect(final.map((s) => sum(s, 'meshtel_kafka_consumed_messages_total', { outcome: 'undecodable' }))).toEqual([0, 0]);
    // Both aggregators got data, and no client span waited for a server span held by the other.
    for (const s of final) expect(sum(s, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' })).toBeGreaterThan(0);
    expect(await summed(prometheus, 'traces_service_graph_unpaired_spans_total')).toEqual(truth.serviceGraph.unpaired.toObject());
  });

  test('span metrics summed over both aggregators are the ground truth', async () => {
    const sm = truth.spanMetrics;
    expect(await summed(prometheus, 'traces_span_metrics_calls_total')).toEqual(sm.calls.toObject());
    expect(await summed(prometheus, 'traces_span_metrics_duration_milliseconds_count')).toEqual(sm.durationCount.toObject());
    expect(await summed(prometheus, 'traces_span_metrics_duration_milliseconds_bucket')).toEqual(sm.durationBuckets.toObject());
  });

  test('service-graph edges summed over both aggregators are the ground truth', async () => {
    const sg = truth.serviceGraph;
    expect(await summed(prometheus, 'traces_service_graph_request_total')).toEqual(sg.requests.toObject());
    expect(await summed(prometheus, 'traces_service_graph_request_failed_total')).toEqual(sg.failed.toObject());
    expect(await summed(prometheus, 'traces_service_graph_request_server_seconds_count')).toEqual(sg.serverCount.toObject());
    expect(await summed(prometheus, 'traces_service_graph_request_client_seconds_count')).toEqual(sg.clientCount.toObject());
    expect(value(await prometheus.query('sum(meshtel_servicegraph_duplicate_spans_total)'))).toBe(0);
  });

  test('golden metrics from proxy metrics summed over both aggregators are the ground truth', async () => {
    const g = truth.golden;
    expect(await summed(prometheus, 'meshtel_workload_requests_total')).toEqual(g.workloadRequests.toObject());
    expect(await summed(prometheus, 'meshtel_edge_requests_total')).toEqual(g.edgeRequests.toObject());
    expect(await summed(prometheus, 'meshtel_workload_request_duration_seconds_count')).toEqual(g.workloadLatencyCount.toObject());
    expect(await summed(prometheus, 'meshtel_workload_tcp_open_connections')).toEqual(g.workloadTcp.toObject());
  });

  test('consumer lag is exposed per partition and is zero once caught up', async () => {
    const lag = await prometheus.query('meshtel_kafka_consumer_lag');
    expect(lag.length).toBeGreaterThan(0);
    for (const s of lag) {
      expect([SPANS, METRICS]).toContain(s.metric.topic);
      expect(Number(s.metric.partition)).toBeGreaterThanOrEqual(0);
      expect(Number(s.value[1])).toBe(0);
    }
    expect(value(await prometheus.query(`sum(meshtel_kafka_assigned_partitions{topic="${SPANS}"})`))).toBe(4);
  });
});
