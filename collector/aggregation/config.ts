import { z } from 'zod';
import { positiveDuration, positiveInt } from '../config/schema-helpers.js';
import { goldenConfigSchema } from './golden/config.js';
import { serviceGraphConfigSchema } from './service-graph/config.js';
import { spanMetricsConfigSchema } from './span-metrics/config.js';

/** `aggregation`: what is computed from every accepted span and metric point. */
export const aggregationConfigSchema = z.strictObject({
  span_metrics: spanMetricsConfigSchema.prefault({}),
  service_graph: serviceGraphConfigSchema.prefault({}),
  golden: goldenConfigSchema.prefault({}),
  /** Most series per metric family; further label sets go to one overflow series. */
  max_series_per_metric: positiveInt.default(10_000),
  /** A series not updated for this long is removed from the exposition. */
  series_ttl: positiveDuration.prefault('1h'),
  /** The windows of `/api/v1/stat` and `/api/v1/edges` (and `meshtel stat`, `meshtel edges`). */
  windows: z
    .strictObject({
      /** Time resolution of the windows. */
      slot: positiveDuration.prefault('10s'),
      /** Largest window a query may ask for; memory per workload and edge grows with it. */
      max_window: positiveDuration.prefault('15m'),
      /** Most workloads, and most edges, tracked for the query API. */
      max_entities: positiveInt.default(10_000),
    })
    .prefault({}),
});

export type AggregationConfig = z.output<typeof aggregationConfigSchema>;
