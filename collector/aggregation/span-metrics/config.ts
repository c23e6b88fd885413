import { z } from 'zod';
import { durationBuckets } from '../../config/schema-helpers.js';

/**
 * `aggregation.span_metrics`: calls and a duration histogram per service, span name, kind and
 * status, named and labelled as the OpenTelemetry Collector's spanmetrics connector does by
 * default, so that Jaeger's Monitor tab reads them unchanged.
 */
export const spanMetricsConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Upper bounds of the duration histogram (the connector's default buckets). */
  histogram_buckets: durationBuckets.prefault([
    '2ms', '4ms', '6ms', '8ms', '10ms', '50ms', '100ms', '200ms', '400ms', '800ms',
    '1s', '1400ms', '2s', '5s', '10s', '15s',
  ]),
});

export type SpanMetricsConfig = z.output<typeof spanMetricsConfigSchema>;
