import { z } from 'zod';
import { durationBuckets, positiveDuration, positiveInt } from '../../config/schema-helpers.js';

/** `aggregation.golden`: golden metrics per workload and per edge from the proxies' own metrics. */
export const goldenConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * Upper bounds of the request latency histograms (exported and windowed). The default is
   * Linkerd's proxy layout plus 0.5ms, so Linkerd histograms map exactly; other layouts are
   * spread over these buckets in proportion.
   */
  histogram_buckets: durationBuckets.prefault([
    '0.5ms', '1ms', '2ms', '3ms', '4ms', '5ms', '10ms', '20ms', '30ms', '40ms', '50ms',
    '100ms', '200ms', '300ms', '400ms', '500ms', '1s', '2s', '3s', '4s', '5s',
    '10s', '20s', '30s', '40s', '50s',
  ]),
  /** A cumulative stream (one proxy's counter) not reported for this long is forgotten. */
  stream_ttl: positiveDuration.prefault('10m'),
  /** Most cumulative streams tracked at once; points of further streams are counted and skipped. */
  max_streams: positiveInt.default(200_000),
  /** An open-connection count or certificate expiry not refreshed for this long no longer counts. */
  gauge_stale_after: positiveDuration.prefault('2m'),
});

export type GoldenConfig = z.output<typeof goldenConfigSchema>;
