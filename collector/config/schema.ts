import { z } from 'zod';
import { admissionConfigSchema } from '../admission/config.js';
import { aggregationConfigSchema } from '../aggregation/config.js';
import { adminConfigSchema } from '../api/config.js';
import { kafkaConfigSchema } from '../kafka/config.js';
import { traceExporterConfigSchema } from '../../exporters/jaeger/config.js';
import { otlpHttpConfigSchema } from '../receivers/otlp-http/config.js';
import { positiveDuration } from './schema-helpers.js';

/**
 * The whole configuration file. Every section and key has a default, so an empty file (or none)
 * runs the collector; unknown keys are errors, so a typo never silently does nothing. The
 * reference with every key is docs/config.md.
 */
export const configSchema = z.strictObject({
  /**
   * `all`: everything in one process. `gateway`: receive, admit, write to Kafka. `aggregator`:
   * read from Kafka (a consumer group), aggregate and export. The last two need `kafka.brokers`.
   */
  mode: z.enum(['all', 'gateway', 'aggregator']).default('all'),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .prefault({}),
  receivers: z
    .strictObject({
      otlp: otlpHttpConfigSchema.prefault({}),
    })
    .prefault({}),
  admission: admissionConfigSchema.prefault({}),
  admin: adminConfigSchema.prefault({}),
  aggregation: aggregationConfigSchema.prefault({}),
  exporters: z
    .strictObject({
      /** Trace backends (Jaeger), each with its own queue; none by default. */
      traces: z.array(traceExporterConfigSchema).default([]),
    })
    .prefault({}),
  kafka: kafkaConfigSchema.prefault({}),
  /** How long a graceful shutdown may take to drain and flush before it gives up. */
  shutdown_timeout: positiveDuration.prefault('10s'),
}).superRefine((c, ctx) => {
  if (c.mode !== 'all' && c.kafka.brokers.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['kafka', 'brokers'], message: `required in ${c.mode} mode (HOST:PORT of at least one broker; --kafka-brokers)` });
  }
});

export type Config = z.output<typeof configSchema>;
