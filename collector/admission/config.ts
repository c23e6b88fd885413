import { z } from 'zod';
import { byteSize, positiveDuration, positiveInt } from '../config/schema-helpers.js';

/** A rate limit: `rate` items per second, up to `burst` at once (default: one second's worth). */
const itemLimit = z
  .strictObject({
    rate: z.number().positive(),
    burst: positiveInt.optional(),
  })
  .transform((l) => ({ rate: l.rate, burst: l.burst ?? Math.max(1, Math.ceil(l.rate)) }));

const byteLimit = z
  .strictObject({
    rate: byteSize,
    burst: byteSize.optional(),
  })
  .transform((l) => ({ rate: l.rate, burst: l.burst ?? l.rate }));

/**
 * `admission`: what the receivers accept before anything else happens to the data. Every limit
 * is off unless configured; refusals are answered as OTLP says (429 or 503 with Retry-After, or
 * a partial success) and counted by reason.
 */
export const admissionConfigSchema = z.strictObject({
  /** Spans per second accepted in all, from every source. */
  spans: itemLimit.optional(),
  /** Metric data points per second accepted in all. */
  metric_points: itemLimit.optional(),
  /** Request bytes per second (as received, before decompression) accepted in all. */
  bytes: byteLimit.optional(),
  per_source: z
    .strictObject({
      /**
       * What a source is: the resource's `service.name` or `k8s.namespace.name`, or `tenant`
       * (the value of receivers.otlp.tenant_header). One noisy source then cannot use the
       * others' share.
       */
      key: z.enum(['service.name', 'k8s.namespace.name', 'tenant']).default('service.name'),
      spans: itemLimit.optional(),
      metric_points: itemLimit.optional(),
      /** Per source, a request's bytes are shared between its sources in proportion to their items. */
      bytes: byteLimit.optional(),
      /** Most sources with a bucket of their own; beyond, new sources share one bucket. */
      max_sources: positiveInt.default(10_000),
    })
    .prefault({}),
  memory: z
    .strictObject({
      /** Above this V8 heap use, new data is refused (503, retryable). Default: 60% of the heap limit. */
      soft_limit: byteSize.optional(),
      /**
       * Incoming data is refused when it could take the heap above this. Default: 80% of the
       * heap limit (set it with node --max-old-space-size).
       */
      hard_limit: byteSize.optional(),
      /** How often the heap is measured. */
      check_interval: positiveDuration.prefault('100ms'),
    })
    .prefault({}),
});

export type AdmissionConfig = z.output<typeof admissionConfigSchema>;
export type ItemLimit = z.output<typeof itemLimit>;
