/**
 * An aggregator's Kafka receiver under memory pressure, on a real Kafka wire protocol (librdkafka's
 * mock cluster): while the heap is over the soft limit it takes nothing, pauses the partition at
 * the message it could not take and shows the lag; once the heap is back down it resumes there,
 * and every message is aggregated exactly once. The heap measurement is the one thing replaced
 * (admission's `measureHeap`), so that the test decides when memory is short.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Admission } from '../../collector/admission/admission.js';
import { Aggregator, systemClock } from '../../collector/aggregation/aggregator.js';
import { loadConfig } from '../../collector/config/load.js';
import type { Config } from '../../collector/config/schema.js';
import { kafkaClient } from '../../collector/kafka/kafka-client.js';
import { KafkaReceiver } from '../../collector/receivers/kafka/kafka-receiver.js';
import { VERSION } from '../../collector/version.js';
import { PrometheusExporter } from '../../exporters/prometheus/exporter.js';
import { parseExposition, sum, tracesRequest, type Samples } from '../support/flood.js';
import { MockKafka } from '../support/kafka.js';
import { waitFor } from '../support/processes.js';

const MiB = 1024 * 1024;

async function samples(registry: Registry): Promise<Samples> {
  return parseExposition(await registry.metrics());
}

describe('the Kafka receiver under memory pressure', () => {
  let kafka: MockKafka;
  let receiver: KafkaReceiver;
  let config: Config;
  const registry = new Registry();
  let heap = 150 * MiB;

  beforeAll(async () => {
    kafka = await MockKafka.start(1);
    config = loadConfig({ flags: { mode: 'aggregator', 'kafka-brokers': kafka.bootstrap } });
    config.admission.memory.soft_limit = 100 * MiB;
    config.admission.memory.hard_limit = 200 * MiB;
    const logger = pino({ level: 'silent' });
    const admission = new Admission(config.admission, systemClock, () => heap);
    const aggregator = new Aggregator(config.aggregation, systemClock);
    new PrometheusExporter(registry, aggregator.families(), VERSION);
    receiver = new KafkaReceiver(config.kafka, kafkaClient(config.kafka, logger), { traces: aggregator, metrics: aggregator, admission, registry, logger });
    await receiver.start();
  });

  afterAll(async () => {
    await receiver?.shutdown();
    await kafka?.stop();
  });

  test('pauses at the message it could not take, shows the lag, and resumes there once memory is back', async () => {
    // 20 messages of 5 spans, all to one partition.
    const bodies = Array.from({ length: 20 }, () => tracesRequest([{ service: 'pressed', spans: 5 }]).body);
    kafka.write(config.kafka.topics.spans, 'one-key', bodies);

    const paused = await waitFor('the receiver to pause its partition', async () => {
      const s = await samples(registry);
      return sum(s, 'meshtel_kafka_consumer_paused_partitions') === 1 ? s : undefined;
    }, 20_000, 50);
    expect(sum(paused, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' })).toBe(0);
    expect(sum(paused, 'meshtel_receiver_refused_spans_total', { receiver: 'kafka', reason: 'memory_limited' })).toBeGreaterThanOrEqual(5);
    expect(sum(paused, 'meshtel_kafka_consumer_lag', { topic: config.kafka.topics.spans })).toBe(20);
    expect(receiver.ready).toBe(true);

    heap = 50 * MiB;
    const done = await waitFor('every message to be taken', async () => {
      const s = await samples(registry);
      const caughtUp = sum(s, 'meshtel_kafka_consumer_lag', { topic: config.kafka.topics.spans }) === 0;
      return caughtUp && sum(s, 'meshtel_kafka_consumer_paused_partitions') === 0 ? s : undefined;
    }, 30_000, 50);
    expect(sum(done, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' })).toBe(100);
    expect(sum(done, 'meshtel_kafka_consumed_messages_total', { topic: config.kafka.topics.spans, outcome: 'processed' })).toBe(20);
    expect(sum(done, 'traces_span_metrics_calls_total', { service_name: 'pressed' })).toBe(100);
    await waitFor('the group to commit everything', async () => ((await kafka.groupLag(config.kafka.consumer.group_id, [config.kafka.topics.spans])) === 0 ? true : undefined), 10_000, 100);
  });

  test('what retention deletes while the partition waits is counted as skipped offsets, and the partition goes on', async () => {
    const topic = config.kafka.topics.spans;
    const partition = Number(
      [...(await samples(registry)).keys()].find((k) => k.startsWith('meshtel_kafka_consumer_lag{'))!.match(/partition="(\d+)"/)![1],
    );
    const { high: position } = await kafka.offsets(topic, partition);

    heap = 150 * MiB;
    kafka.write(topic, 'one-key', [tracesRequest([{ service: 'deleted', spans: 5 }]).body]);
    await waitFor('the receiver to pause at the new message', async () => (sum(await samples(registry), 'meshtel_kafka_consumer_paused_partitions') === 1 ? true : undefined), 20_000, 50);

    // The mock cluster keeps about 5 MB per partition: 11 MB more (undecodable: every byte a
    // varint continuation) push the waiting message out.
    kafka.write(topic, 'one-key', Array.from({ length: 1100 }, () => Buffer.alloc(10_000, 0xff)));
    const { low, high } = await kafka.offsets(topic, partition);
    expect(low).toBeGreaterThan(position);

    heap = 50 * MiB;
    const done = await waitFor('the partition to go on from the earliest message kept', async () => {
      const s = await samples(registry);
      // The lag is set at the end of each batch read, after the messages are counted.
      const consumed = sum(s, 'meshtel_kafka_consumed_messages_total', { topic, outcome: 'undecodable' }) === high - low;
      return consumed && sum(s, 'meshtel_kafka_consumer_lag', { topic }) === 0 ? s : undefined;
    }, 30_000, 50);
    expect(sum(done, 'meshtel_kafka_skipped_offsets_total', { topic })).toBe(low - position);
    expect(sum(done, 'traces_span_metrics_calls_total', { service_name: 'deleted' })).toBe(0);
    expect(sum(done, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' })).toBe(100);
  });
});
