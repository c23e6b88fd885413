import { z } from 'zod';
import { durationBuckets, positiveDuration, positiveInt } from '../../config/schema-helpers.js';

/** `aggregation.service_graph`: edges from client/server span pairs, Tempo's metric family. */
export const serviceGraphConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** How long a half-edge waits for its other half before it expires. */
  store_ttl: positiveDuration.prefault('2s'),
  /** Most half-edges waiting at once; spans beyond it are counted as dropped. */
  store_max_items: positiveInt.default(20_000),
  /** Attributes of an unpaired client span that name the service it called, first match wins. */
  virtual_node_peer_attributes: z
    .array(z.string().min(1))
    .default(['peer.service', 'service.peer.name', 'server.address', 'net.peer.name']),
  /** Upper bounds of the client and server latency histograms. */
  histogram_buckets: durationBuckets.prefault([
    '1ms', '2ms', '4ms', '6ms', '8ms', '10ms', '25ms', '50ms', '100ms', '200ms', '400ms', '800ms',
    '1s', '1400ms', '2s', '5s', '10s', '15s',
  ]),
});

export type ServiceGraphConfig = z.output<typeof serviceGraphConfigSchema>;
