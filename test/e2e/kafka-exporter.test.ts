/**
 * The gateway's Kafka exporter against a real Kafka wire protocol (librdkafka's mock cluster):
 * it refuses, retryably and counted, whatever it cannot have acknowledged (no cluster, a hung
 * cluster, too much in flight) and never holds a request longer than `producer.timeout`.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../collector/config/load.js';
import type { KafkaConfig } from '../../collector/kafka/config.js';
import { kafkaClient } from '../../collector/kafka/kafka-client.js';
import { countSpans } from '../../collector/model/traces.js';
import { decodeTracesProto } from '../../collector/otlp/decode-traces-proto.js';
import type { TraceBatch } from '../../collector/pipeline/consumer.js';
import { KafkaExporter } from '../../exporters/kafka/kafka-exporter.js';
import { parseExposition, sum, tracesRequest, type Samples } from '../support/flood.js';
import { MockKafka } from '../support/kafka.js';
import { waitFor } from '../support/processes.js';

const logger = pino({ level: 'silent' });

function batch(spans: number): TraceBatch {
  const data = decodeTracesProto(Buffer.from(tracesRequest([{ service: 'web', spans }]).body));
  return { data, items: countSpans(data), source: { receiver: 'otlp_http' } };
}

async function samples(registry: Registry): Promise<Samples> {
  return parseExposition(await registry.metrics());
}

function kafkaConfig(brokers: string, producer: Partial<KafkaConfig['producer']> = {}): KafkaConfig {
  const config = loadConfig({ flags: { mode: 'gateway', 'kafka-brokers': brokers } }).kafka;
  Object.assign(config.producer, producer);
  return config;
}

describe('the Kafka exporter', () => {
  let kafka: MockKafka;
  const exporters: KafkaExporter[] = [];

  async function exporter(config: KafkaConfig, registry = new Registry()): Promise<{ exporter: KafkaExporter; registry: Registry }> {
    const e = new KafkaExporter(config, kafkaClient(config, logger), registry, logger);
    exporters.push(e);
    await e.start();
    return { exporter: e, registry };
  }

  beforeAll(async () => {
    kafka = await MockKafka.start(3);
  });

  afterEach(async () => {
    kafka.thaw();
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
  });

  afterAll(async () => {
    await kafka?.stop();
  });

  test('with no cluster to reach, refuses with 503 and counts the spans, and is not ready', async () => {
    const { exporter: e, registry } = await exporter(kafkaConfig('127.0.0.1:1'));
    const result = await e.consumeTraces(batch(4));
    expect(result).toMatchObject({ kind: 'refused', status: 503, reason: 'kafka_unavailable', retryAfterSeconds: 5 });
    expect(e.ready).toBe(false);
    const s = await samples(registry);
    expect(sum(s, 'meshtel_kafka_produce_failed_items_total', { topic: 'otlp_spans', reason: 'unavailable' })).toBe(4);
    expect(sum(s, 'meshtel_kafka_producer_connected')).toBe(0);
  });

  test('acknowledges once the cluster has the spans: one message per trace', async () => {
    const { exporter: e, registry } = await exporter(kafkaConfig(kafka.bootstrap));
    await waitFor('the producer to connect', () => (e.ready ? true : undefined), 15_000, 50);
    const before = kafka.read('otlp_spans').length;
    expect(await e.consumeTraces(batch(6))).toEqual({ kind: 'accepted' });
    expect(kafka.read('otlp_spans').length - before).toBe(6);
    const s = await samples(registry);
    expect(sum(s, 'meshtel_kafka_produced_messages_total', { topic: 'otlp_spans' })).toBe(6);
    expect(sum(s, 'meshtel_kafka_produced_items_total', { topic: 'otlp_spans' })).toBe(6);
  });

  test('a hung cluster: refused after producer.timeout, the bytes held until the write settles', async () => {
    const { exporter: e, registry } = await exporter(kafkaConfig(kafka.bootstrap, { timeout: 500 }));
    await waitFor('the producer to connect', () => (e.ready ? true : undefined), 15_000, 50);
    kafka.freeze();
    const started = performance.now();
    const result = await e.consumeTraces(batch(3));
    const waited = performance.now() - started;
    expect(result).toMatchObject({ kind: 'refused', status: 503, reason: 'kafka_unavailable' });
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(5_000);
    expect(sum(await samples(registry), 'meshtel_kafka_producer_in_flight_bytes')).toBeGreaterThan(0);
    kafka.thaw();
    await waitFor('the write to settle', async () => (sum(await samples(registry), 'meshtel_kafka_producer_in_flight_bytes') === 0 ? true : undefined), 30_000, 50);
  });

  test('too much in flight: refused at once with backpressure, not buffered', async () => {
    const { exporter: e, registry } = await exporter(kafkaConfig(kafka.bootstrap, { max_in_flight_bytes: 100 }));
    await waitFor('the producer to connect', () => (e.ready ? true : undefined), 15_000, 50);
    kafka.freeze();
    const first = e.consumeTraces(batch(2));
    const second = await e.consumeTraces(batch(2));
    expect(second).toMatchObject({ kind: 'refused', status: 503, reason: 'kafka_backpressure', retryAfterSeconds: 1 });
    kafka.thaw();
    expect(await first).toEqual({ kind: 'accepted' });
    const s = await samples(registry);
    expect(sum(s, 'meshtel_kafka_produce_failed_items_total', { topic: 'otlp_spans', reason: 'backpressure' })).toBe(2);
    expect(sum(s, 'meshtel_kafka_produced_items_total', { topic: 'otlp_spans' })).toBe(2);
  });
});
