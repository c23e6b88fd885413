import { Counter, Gauge, type Registry } from 'prom-client';

/** The Kafka tier's self-telemetry, shared by the exporter (gateway) and the receiver (aggregator). */
export class KafkaMetrics {
  private static readonly byRegistry = new WeakMap<Registry, KafkaMetrics>();
  readonly producedMessages: Counter<'topic'>;
  readonly producedItems: Counter<'topic'>;
  readonly produceFailedItems: Counter<'topic' | 'reason'>;
  readonly inFlightBytes: Gauge;
  readonly producerConnected: Gauge;
  readonly consumedMessages: Counter<'topic' | 'outcome'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly assigned: Gauge<'topic'>;
  readonly paused: Gauge;
  readonly rebalances: Counter;
  readonly consumerRestarts: Counter;
  readonly redelivered: Counter<'topic'>;
  readonly skippedOffsets: Counter<'topic'>;

  static for(registry: Registry): KafkaMetrics {
    let m = KafkaMetrics.byRegistry.get(registry);
    if (!m) {
      m = new KafkaMetrics(registry);
      KafkaMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.producedMessages = new Counter({ name: 'meshtel_kafka_produced_messages_total', help: 'Messages written to Kafka and acknowledged by every in-sync replica.', labelNames: ['topic'], registers });
    this.producedItems = new Counter({ name: 'meshtel_kafka_produced_items_total', help: 'Spans or metric points in those messages.', labelNames: ['topic'], registers });
    this.produceFailedItems = new Counter({
      name: 'meshtel_kafka_produce_failed_items_total',
      help: 'Spans or metric points not written, their request refused to the client (503) to be resent: unavailable (Kafka did not acknowledge in time), backpressure (too much being written already).',
      labelNames: ['topic', 'reason'],
      registers,
    });
    this.inFlightBytes = new Gauge({ name: 'meshtel_kafka_producer_in_flight_bytes', help: 'Bytes being written to Kafka.', registers });
    this.producerConnected = new Gauge({ name: 'meshtel_kafka_producer_connected', help: '1 when the producer is connected to the cluster.', registers });
    this.consumedMessages = new Counter({
      name: 'meshtel_kafka_consumed_messages_total',
      help: 'Messages consumed, by outcome: processed, or undecodable (counted and skipped; the partition goes on).',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.lag = new Gauge({ name: 'meshtel_kafka_consumer_lag', help: 'Messages of a partition not yet processed (its end minus the next offset to process).', labelNames: ['topic', 'partition'], registers });
    this.assigned = new Gauge({ name: 'meshtel_kafka_assigned_partitions', help: 'Partitions this aggregator holds, per topic.', labelNames: ['topic'], registers });
    this.paused = new Gauge({ name: 'meshtel_kafka_consumer_paused_partitions', help: 'Partitions paused because the collector refused their data for now (memory or rate).', registers });
    this.rebalances = new Counter({ name: 'meshtel_kafka_rebalances_total', help: 'Consumer group rebalances this aggregator took part in.', registers });
    this.redelivered = new Counter({
      name: 'meshtel_kafka_redelivered_messages_total',
      help: 'Messages delivered again after their commit was refused in a rebalance, that this aggregator had processed already: skipped, not counted twice.',
      labelNames: ['topic'],
      registers,
    });
    this.skippedOffsets = new Counter({
      name: 'meshtel_kafka_skipped_offsets_total',
      help: 'Offsets a partition jumped over between two messages this aggregator read: messages deleted by retention before they were consumed (data lost), or the control records of transactional producers.',
      labelNames: ['topic'],
      registers,
    });
    this.consumerRestarts = new Counter({ name: 'meshtel_kafka_consumer_restarts_total', help: 'Consumers started anew after the Kafka client gave up on one (an error it does not retry).', registers });
  }
}
