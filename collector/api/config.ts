import { z } from 'zod';
import { duration, endpoint } from '../config/schema-helpers.js';

/** `admin`: the admin server (`/metrics`, health, the query API). */
export const adminConfigSchema = z.strictObject({
  /** Where to listen; port 0 picks a free port. */
  endpoint: endpoint.prefault('127.0.0.1:9464'),
  /**
   * On shutdown, once everything received has been aggregated, wait up to this long (within
   * `shutdown_timeout`) for one more scrape of /metrics, so that what was counted since the
   * previous scrape reaches Prometheus. 0 (the default): do not wait.
   */
  final_scrape_wait: duration.prefault('0s'),
});

export type AdminConfig = z.output<typeof adminConfigSchema>;
