import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Admission } from '../../admission/admission.js';
import type { KafkaConfig } from '../../kafka/config.js';
import type { BatchControl, IncomingBatch, KafkaClient, KafkaConsumer } from '../../kafka/kafka-client.js';
import { KafkaMetrics } from '../../kafka/kafka-metrics.js';
import type { Lifecycle, MetricsConsumer, TracesConsumer } from '../../pipeline/consumer.js';
import { Intake } from '../intake.js';
import { ReceiverMetrics } from '../receiver-metrics.js';

export const KAFKA_RECEIVER = 'kafka';

export interface KafkaReceiverDeps {
  traces: TracesConsumer;
  metrics: MetricsConsumer;
  admission: Admission | undefined;
  registry: Registry;
  logger: Logger;
}

/**
 * The aggregator's Kafka receiver: a member of the consumer group reading `otlp_spans` and
 * `otlp_metrics`. At least once: a message's offset is committed only after its data went
 * through the pipeline (every `commit_every` messages and at the end of each batch), so a crash
 * redelivers at most the uncommitted messages. A rebalance waits for the batch in hand, whose
 * commit Kafka accepts while the group prepares to rebalance; should the group refuse it anyway,
 * processing stops there, and what comes back to this member is skipped (it was counted here).
 * A message that cannot be decoded is counted and skipped; its partition goes on.
 * When the collector refuses data for now (memory, rate), the partition is paused at that
 * message and resumed after the Retry-After the refusal gave.
 */
export class KafkaReceiver implements Lifecycle {
  private consumer: KafkaConsumer;
  private readonly intake: Intake;
  private readonly metrics: KafkaMetrics;
  private readonly pausedTimers = new Set<NodeJS.Timeout>();
  /**
   * Per partition held (`topic:partition`), the offset after the last message processed here:
   * messages before it that come again (their commit was refused in a rebalance) are skipped.
   */
  private readonly positions = new Map<string, bigint>();
  /** Set when the group refused a commit for a rebalance; cleared by the next assignment. */
  private rebalancing = false;
  /** The partitions a lag is exposed for, by `topic:partition`. */
  private readonly lagSeries = new Map<string, { topic: string; partition: string }>();
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private running = false;
  private stopped = false;

  constructor(
    private readonly config: KafkaConfig,
    private readonly client: KafkaClient,
    private readonly deps: KafkaReceiverDeps,
  ) {
    this.consumer = client.consumer();
    this.metrics = KafkaMetrics.for(deps.registry);
    this.intake = new Intake(KAFKA_RECEIVER, { traces: deps.traces, metrics: deps.metrics, admission: deps.admission, metricsOf: ReceiverMetrics.for(deps.registry), sourceLimits: false });
    for (const topic of [config.topics.spans, config.topics.metrics]) {
      for (const outcome of ['processed', 'undecodable']) this.metrics.consumedMessages.inc({ topic, outcome }, 0);
      this.metrics.redelivered.inc({ topic }, 0);
      this.metrics.skippedOffsets.inc({ topic }, 0);
      this.metrics.assigned.set({ topic }, 0);
    }
    this.metrics.paused.set(0);
    this.metrics.consumerRestarts.inc(0);
  }

  /** Joins the group; fails when Kafka cannot be reached (the collector then does not start). */
  async start(): Promise<void> {
    try {
      await this.consume();
    } catch (e) {
      throw new Error(`cannot consume from Kafka at ${this.config.brokers.join(',')}: ${(e as Error).message}`, { cause: e });
    }
    this.deps.logger.info({ brokers: this.config.brokers, group: this.config.consumer.group_id }, 'consuming from Kafka');
  }

  /** True while the consumer is running (not while it is being restarted after a crash). */
  get ready(): boolean {
    return this.running;
  }

  private async consume(): Promise<void> {
    const consumer = this.consumer;
    consumer.onAssignment((assignment) => {
      this.metrics.rebalances.inc();
      for (const topic of [this.config.topics.spans, this.config.topics.metrics]) this.metrics.assigned.set({ topic }, assignment[topic]?.length ?? 0);
      this.rebalancing = false;
      for (const key of this.positions.keys()) {
        const [topic, partition] = splitKey(key);
        if (assignment[topic]?.includes(partition) !== true) this.positions.delete(key);
      }
      // The lag of a partition another member reads now is that member's to report.
      for (const [key, labels] of this.lagSeries) {
        if (assignment[labels.topic]?.includes(Number(labels.partition)) === true) continue;
        this.metrics.lag.remove(labels);
        this.lagSeries.delete(key);
      }
      this.deps.logger.info({ assignment }, 'Kafka partitions assigned');
    });
    let crashed = false;
    consumer.onCrash((error, restarting) => {
      if (restarting) {
        this.deps.logger.warn({ err: error }, 'the Kafka consumer failed; the client restarts it');
        return;
      }
      crashed = true;
      this.restartLater(consumer, error);
    });
    await consumer.connect();
    await consumer.subscribe([this.config.topics.spans, this.config.topics.metrics]);
    await consumer.run((batch, control) => this.batch(batch, control));
    // It may have crashed while joining the group already.
    this.running = !crashed;
  }

  /**
   * A consumer the client gave up on (an error it does not retry) is replaced by a new one, after
   * a backoff of 1 s doubling to 30 s; its partitions are reassigned meanwhile and read again from
   * the last committed offsets, so nothing is lost.
   */
  private restartLater(crashed: KafkaConsumer, error: Error): void {
    if (this.stopped || crashed !== this.consumer) return;
    this.running = false;
    for (const topic of [this.config.topics.spans, this.config.topics.metrics]) this.metrics.assigned.set({ topic }, 0);
    for (const labels of this.lagSeries.values()) this.metrics.lag.remove(labels);
    this.lagSeries.clear();
    const delayMs = Math.min(30_000, 1000 * 2 ** Math.min(this.restarts++, 5));
    this.deps.logger.error({ err: error, retryInMs: delayMs }, 'the Kafka consumer stopped; starting a new one');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void crashed.disconnect().catch(() => undefined);
      if (this.stopped) return;
      this.metrics.consumerRestarts.inc();
      this.consumer = this.client.consumer();
      this.consume().then(
        () => {
          this.restarts = 0;
          this.deps.logger.info('consuming from Kafka again');
        },
        (e: unknown) => this.restartLater(this.consumer, e as Error),
      );
    }, delayMs);
  }

  private async batch(batch: IncomingBatch, control: BatchControl): Promise<void> {
    // A commit was refused for a rebalance: nothing more until this member's partitions are known.
    if (this.rebalancing) return;
    const signal = batch.topic === this.config.topics.spans ? 'traces' : 'metrics';
    const m = this.metrics;
    const key = `${batch.topic}:${batch.partition}`;
    // A partition whose end is before what was processed was recreated: its offsets start over.
    if ((this.positions.get(key) ?? 0n) > BigInt(batch.highWatermark)) this.positions.delete(key);
    let sinceCommit = 0;
    let stale = false;
    for (const message of batch.messages) {
      if (!control.isRunning()) {
        // Rebalancing, stopping, or fetched before a pause: what is left is not ours to process now.
        stale = true;
        break;
      }
      const offset = BigInt(message.offset);
      const expected = this.positions.get(key);
      if (expected !== undefined && offset > expected) {
        // Kafka moved the partition on past what was read here: retention deleted messages
        // before they were consumed (the client then restarts from the earliest kept one).
        m.skippedOffsets.inc({ topic: batch.topic }, Number(offset - expected));
        this.deps.logger.error({ topic: batch.topic, partition: batch.partition, from: String(expected), to: message.offset }, 'offsets skipped: messages deleted by retention before they were consumed are lost');
      }
      if (offset < (expected ?? 0n)) {
        // Processed here already; delivered again because the group refused its commit.
        m.redelivered.inc({ topic: batch.topic });
        control.handled(message.offset);
        sinceCommit++;
        continue;
      }
      const outcome =
        message.value === null
          ? ({ kind: 'invalid', message: 'empty message' } as const)
          : await this.intake.accept(signal, 'protobuf', message.value, message.value.length, undefined);
      if (outcome.kind === 'refused') {
        // Not taken: this message is the next to process once the collector can take it.
        control.pause(message.offset);
        this.resumeLater(batch.topic, batch.partition, outcome.retryAfterSeconds);
        this.setLag(batch, offset);
        stale = true;
        break;
      }
      if (outcome.kind === 'invalid') {
        m.consumedMessages.inc({ topic: batch.topic, outcome: 'undecodable' });
        this.deps.logger.warn({ topic: batch.topic, partition: batch.partition, offset: message.offset, error: outcome.message }, 'skipping a message that cannot be decoded');
      } else m.consumedMessages.inc({ topic: batch.topic, outcome: 'processed' });
      control.handled(message.offset);
      this.positions.set(key, offset + 1n);
      if (++sinceCommit >= this.config.consumer.commit_every) {
        if (!(await this.commit(control, key))) return;
        await control.heartbeat();
        sinceCommit = 0;
      }
    }
    if (sinceCommit > 0 && !(await this.commit(control, key))) return;
    const position = this.positions.get(key);
    if (!stale && position !== undefined) this.setLag(batch, position);
  }

  /** Commits the partition's position; false (and no more processing) when the group is rebalancing. */
  private async commit(control: BatchControl, key: string): Promise<boolean> {
    if (await control.commit(String(this.positions.get(key)))) return true;
    this.rebalancing = true;
    this.deps.logger.info({ partition: key, position: String(this.positions.get(key)) }, 'the group is rebalancing: processing stops until the partitions are assigned again');
    return false;
  }

  private setLag(batch: IncomingBatch, position: bigint): void {
    const lag = BigInt(batch.highWatermark) - position;
    const labels = { topic: batch.topic, partition: String(batch.partition) };
    this.lagSeries.set(`${labels.topic}:${labels.partition}`, labels);
    this.metrics.lag.set(labels, Number(lag > 0n ? lag : 0n));
  }

  private resumeLater(topic: string, partition: number, seconds: number): void {
    this.metrics.paused.inc();
    const timer = setTimeout(() => {
      this.pausedTimers.delete(timer);
      this.metrics.paused.dec();
      this.consumer.resume(topic, partition);
    }, seconds * 1000);
    this.pausedTimers.add(timer);
  }

  /** Leaves the group (its partitions go to the other aggregators) after the batch in hand. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    for (const t of this.pausedTimers) clearTimeout(t);
    this.pausedTimers.clear();
    this.running = false;
    await this.consumer.disconnect().catch(() => undefined);
  }
}

function splitKey(key: string): [topic: string, partition: number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
