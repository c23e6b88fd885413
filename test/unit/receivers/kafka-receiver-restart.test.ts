/**
 * The Kafka receiver replaces a consumer the client library gave up on. A real cluster cannot be
 * made to fail that way on demand (it takes an error the client does not retry), so the consumer
 * here is scripted behind meshtel's own Kafka port (collector/kafka/kafka-client.ts): it joins,
 * and crashes when told to.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../../../collector/config/load.js';
import type { KafkaClient, KafkaConsumer } from '../../../collector/kafka/kafka-client.js';
import { ACCEPTED } from '../../../collector/pipeline/consumer.js';
import { KafkaReceiver } from '../../../collector/receivers/kafka/kafka-receiver.js';

class ScriptedConsumer implements KafkaConsumer {
  crash: ((error: Error, restarting: boolean) => void) | undefined;
  assign: ((assignment: Record<string, number[]>) => void) | undefined;
  disconnected = false;
  connect = () => Promise.resolve();
  subscribe = () => Promise.resolve();
  run = () => {
    this.assign?.({ otlp_spans: [0, 1], otlp_metrics: [2] });
    return Promise.resolve();
  };
  resume = () => undefined;
  onAssignment(listener: (assignment: Record<string, number[]>) => void): void {
    this.assign = listener;
  }
  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.crash = listener;
  }
  disconnect = () => {
    this.disconnected = true;
    return Promise.resolve();
  };
}

describe('the Kafka receiver after its consumer crashed', () => {
  const consumers: ScriptedConsumer[] = [];
  /** How many of the next consumers fail to connect. */
  let failing = 0;
  const client: KafkaClient = {
    producer: () => {
      throw new Error('a receiver does not produce');
    },
    consumer: () => {
      const c = new ScriptedConsumer();
      if (failing > 0) {
        failing--;
        c.connect = () => Promise.reject(new Error('no broker'));
      }
      consumers.push(c);
      return c;
    },
  };
  let registry: Registry;
  let receiver: KafkaReceiver;

  const metric = async (name: string) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    return m?.values.reduce((n, v) => n + v.value, 0);
  };

  beforeEach(async () => {
    vi.useFakeTimers();
    consumers.length = 0;
    registry = new Registry();
    const config = loadConfig({ flags: { mode: 'aggregator', 'kafka-brokers': 'kafka.invalid:9092' } });
    const sink = { consumeTraces: () => ACCEPTED, consumeMetrics: () => ACCEPTED };
    receiver = new KafkaReceiver(config.kafka, client, { traces: sink, metrics: sink, admission: undefined, registry, logger: pino({ level: 'silent' }) });
    await receiver.start();
  });

  afterEach(async () => {
    await receiver.shutdown();
    vi.useRealTimers();
  });

  test('a crash the client restarts itself changes nothing', async () => {
    consumers[0]!.crash!(new Error('connection reset'), true);
    expect(receiver.ready).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(consumers).toHaveLength(1);
    expect(await metric('meshtel_kafka_consumer_restarts_total')).toBe(0);
  });

  test('a crash the client gives up on: not ready, then a new consumer after 1 s, then ready', async () => {
    expect(receiver.ready).toBe(true);
    expect(await metric('meshtel_kafka_assigned_partitions')).toBe(3);
    consumers[0]!.crash!(new Error('The group is broken'), false);
    expect(receiver.ready).toBe(false);
    expect(await metric('meshtel_kafka_assigned_partitions')).toBe(0);

    await vi.advanceTimersByTimeAsync(999);
    expect(consumers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumers).toHaveLength(2);
    expect(consumers[0]!.disconnected).toBe(true);
    expect(receiver.ready).toBe(true);
    expect(await metric('meshtel_kafka_consumer_restarts_total')).toBe(1);
    expect(await metric('meshtel_kafka_assigned_partitions')).toBe(3);
  });

  test('a replacement that cannot start is retried with a growing backoff; a late crash of the old one is ignored', async () => {
    consumers[0]!.crash!(new Error('broken'), false);
    // The next two replacements fail to connect.
    failing = 2;
    await vi.advanceTimersByTimeAsync(1000);
    expect(consumers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(consumers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(consumers).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(4000);
    expect(consumers).toHaveLength(4);
    expect(receiver.ready).toBe(true);
    consumers[0]!.crash!(new Error('late'), false);
    expect(receiver.ready).toBe(true);
  });
});
