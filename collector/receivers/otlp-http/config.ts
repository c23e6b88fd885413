import { z } from 'zod';
import { byteSize, endpoint } from '../../config/schema-helpers.js';

/** `receivers.otlp`: the OTLP/HTTP receiver. */
export const otlpHttpConfigSchema = z.strictObject({
  /** Where to listen; port 0 picks a free port. */
  endpoint: endpoint.prefault('127.0.0.1:4318'),
  /** Largest body accepted, measured after decompression (OTLP answers 413 above it). */
  max_body_size: byteSize.prefault('20MiB'),
  /** A request header whose value names the tenant, for per-tenant rate limits. */
  tenant_header: z.string().toLowerCase().optional(),
});

export type OtlpHttpConfig = z.output<typeof otlpHttpConfigSchema>;
