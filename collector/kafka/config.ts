import { z } from 'zod';
import { byteSize, positiveDuration, positiveInt } from '../config/schema-helpers.js';
import { parseEndpoint } from '../config/units.js';

const broker = z.string().refine((b) => parseEndpoint(b) !== undefined, { message: 'must be HOST:PORT' });

/**
 * `kafka`: the Kafka tier (gateway and aggregator modes; in `all` mode, also consume what
 * gateways or OpenTelemetry Collectors put there). Messages are OTLP protobuf requests (the
 * OpenTelemetry Collector's `otlp_proto` encoding): spans keyed by hex trace id, so that a
 * trace's spans meet in one aggregator; metrics keyed by resource.
 */
export const kafkaConfigSchema = z.strictObject({
  /** Bootstrap brokers, `HOST:PORT`; none means no Kafka. */
  brokers: z.array(broker).default([]),
  client_id: z.string().min(1).default('meshtel'),
  topics: z
    .strictObject({
      spans: z.string().min(1).default('otlp_spans'),
      metrics: z.string().min(1).default('otlp_metrics'),
    })
    .prefault({}),
  producer: z
    .strictObject({
      /** none or gzip (the compressions kafkajs supports without extra codecs). */
      compression: z.enum(['none', 'gzip']).default('none'),
      /** A write not acknowledged by every in-sync replica within this is refused to the client (503). */
      timeout: positiveDuration.prefault('10s'),
      /** Bytes being written at once; beyond, new requests are refused (503) rather than buffered. */
      max_in_flight_bytes: byteSize.prefault('64MiB'),
    })
    .prefault({}),
  consumer: z
    .strictObject({
      group_id: z.string().min(1).default('meshtel-aggregators'),
      /** Offsets are committed after every this many processed messages, and at each batch's end. */
      commit_every: positiveInt.default(100),
      session_timeout: positiveDuration.prefault('30s'),
      /** Most bytes fetched per partition at once. */
      max_bytes_per_partition: byteSize.prefault('1MiB'),
    })
    .prefault({}),
});

export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
