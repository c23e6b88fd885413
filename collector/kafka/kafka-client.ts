import { CompressionTypes, Kafka, logLevel, Partitioners, type Consumer, type LogEntry, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from './config.js';

/**
 * meshtel's whole view of a Kafka client: what the Kafka exporter and receiver use, and nothing
 * else. kafkajs is behind it, so that the client library (in maintenance mode) can be swapped
 * by rewriting this file only.
 */
export interface OutgoingMessage {
  key: string;
  value: Buffer;
}

export interface KafkaProducer {
  connect(): Promise<void>;
  /** Resolves once every message is acknowledged by all in-sync replicas (acks = -1). */
  send(topic: string, messages: OutgoingMessage[], timeoutMs: number): Promise<void>;
  disconnect(): Promise<void>;
}

export interface IncomingMessage {
  /** Offset within the partition, as Kafka's decimal string. */
  offset: string;
  value: Buffer | null;
}

export interface IncomingBatch {
  topic: string;
  partition: number;
  /** The partition's end, for consumer lag. */
  highWatermark: string;
  messages: IncomingMessage[];
}

export interface BatchControl {
  /** False once the consumer is stopping or rebalancing: stop taking messages. */
  isRunning(): boolean;
  heartbeat(): Promise<void>;
  /** Marks the message at `offset` handled: the next fetch of this partition starts after it. */
  handled(offset: string): void;
  /**
   * Commits `offset` as the next to consume on the batch's partition (everything before is done).
   * False when the group refused it because it is rebalancing: the partition may be another
   * member's already, so stop processing; other failures throw.
   */
  commit(offset: string): Promise<boolean>;
  /** Stops fetching this batch's partition; processing resumes at `offset` on `resume()`. */
  pause(offset: string): void;
}

export interface KafkaConsumer {
  connect(): Promise<void>;
  subscribe(topics: string[]): Promise<void>;
  run(handle: (batch: IncomingBatch, control: BatchControl) => Promise<void>): Promise<void>;
  /** Resumes a partition paused by `BatchControl.pause`. */
  resume(topic: string, partition: number): void;
  /** Called with the partitions this member holds, after each rebalance. */
  onAssignment(listener: (assignment: Record<string, number[]>) => void): void;
  /** Called when the consumer failed; `restarting` says whether the client starts it again itself. */
  onCrash(listener: (error: Error, restarting: boolean) => void): void;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  producer(): KafkaProducer;
  consumer(): KafkaConsumer;
}

export function kafkaClient(config: KafkaConfig, logger: Logger): KafkaClient {
  const kafka = new Kafka({
    clientId: config.client_id,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logger.warn({ component: 'kafka', kafka: entry.namespace }, entry.log.message),
    connectionTimeout: 3000,
    requestTimeout: config.producer.timeout,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const compression = config.producer.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    // The Java client's partitioner (murmur2 of the key), which other Kafka producers of OTLP share.
    // No retries here: a failed write is refused to the client, which resends it, so that a write
    // that failed yet landed is the only way to a duplicate, and each is counted as a failure.
    producer: () => producerPort(kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 0 } }), compression),
    consumer: () =>
      consumerPort(
        kafka.consumer({
          groupId: config.consumer.group_id,
          sessionTimeout: config.consumer.session_timeout,
          maxBytesPerPartition: config.consumer.max_bytes_per_partition,
          // A fetch waits at most this long for data: what arrives is aggregated within a second.
          maxWaitTimeInMs: 1000,
          allowAutoTopicCreation: true,
        }),
      ),
  };
}

function producerPort(producer: Producer, compression: CompressionTypes): KafkaProducer {
  return {
    connect: () => producer.connect(),
    send: async (topic, messages, timeoutMs) => {
      await producer.send({ topic, acks: -1, timeout: timeoutMs, compression, messages });
    },
    disconnect: () => producer.disconnect(),
  };
}

function consumerPort(consumer: Consumer): KafkaConsumer {
  const resumeAt = new Map<string, string>();
  return {
    connect: () => consumer.connect(),
    subscribe: (topics) => consumer.subscribe({ topics, fromBeginning: true }),
    run: (handle) =>
      consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          await handle(
            { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, messages: batch.messages },
            {
              isRunning: () => payload.isRunning() && !payload.isStale(),
              heartbeat: () => payload.heartbeat(),
              handled: (offset) => payload.resolveOffset(offset),
              commit: async (offset) => {
                try {
                  await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
                  return true;
                } catch (e) {
                  if (rebalancing(e)) return false;
                  throw e;
                }
              },
              pause: (offset) => {
                resumeAt.set(`${batch.topic}:${batch.partition}`, offset);
                consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
              },
            },
          );
        },
      }),
    resume: (topic, partition) => {
      const key = `${topic}:${partition}`;
      const offset = resumeAt.get(key);
      resumeAt.delete(key);
      // Fetching goes on from where processing stopped, not from where fetching had got to.
      if (offset !== undefined) consumer.seek({ topic, partition, offset });
      consumer.resume([{ topic, partitions: [partition] }]);
    },
    onAssignment: (listener) => {
      consumer.on(consumer.events.GROUP_JOIN, (event) => listener(event.payload.memberAssignment));
    },
    onCrash: (listener) => {
      consumer.on(consumer.events.CRASH, (event) => listener(event.payload.error, event.payload.restart));
    },
    disconnect: () => consumer.disconnect(),
  };
}

const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'NOT_COORDINATOR_FOR_GROUP']);

/** Whether kafkajs failed because the group moved on (the error, or one it wraps, says so). */
function rebalancing(e: unknown): boolean {
  for (let err = e as { type?: unknown; cause?: unknown } | undefined; err !== undefined && err !== null; err = err.cause as typeof err) {
    if (typeof err.type === 'string' && REBALANCE_ERRORS.has(err.type)) return true;
  }
  return false;
}
