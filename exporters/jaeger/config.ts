import { z } from 'zod';
import { positiveDuration, positiveInt } from '../../collector/config/schema-helpers.js';

export type Protocol = 'otlp' | 'thrift_http' | 'thrift_udp';

/**
 * Where to send, and how, from one URL (DESIGN.md): `udp://host:6832` is Thrift (binary) to a
 * Jaeger agent; a path ending in `/api/traces` is Thrift over HTTP to a Jaeger collector; anything
 * else is OTLP/HTTP protobuf with `/v1/traces` appended (Jaeger 1.35+ and v2, port 4318).
 */
export const jaegerEndpoint = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be a URL like http://jaeger:4318 (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  if (url.protocol === 'udp:') {
    if (url.port === '') {
      ctx.addIssue({ code: 'custom', message: `a udp:// endpoint needs a port, for example udp://jaeger:6832 (got ${JSON.stringify(value)})` });
      return z.NEVER;
    }
    return { protocol: 'thrift_udp' as Protocol, url: url.toString() };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be http://, https:// or udp:// (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  if (url.pathname.endsWith('/api/traces')) return { protocol: 'thrift_http' as Protocol, url: url.toString() };
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return { protocol: 'otlp' as Protocol, url: url.toString() };
});

const limit = z
  .strictObject({ rate: z.number().positive(), burst: positiveInt.optional() })
  .transform((l) => ({ rate: l.rate, burst: l.burst ?? Math.max(1, Math.ceil(l.rate)) }));

/** One entry of `exporters.traces`: a Jaeger (or any OTLP) backend, with its own queue. */
export const traceExporterConfigSchema = z.strictObject({
  /** The `exporter` label of its self-telemetry. */
  name: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'must be lowercase letters, digits, - or _').default('jaeger'),
  endpoint: jaegerEndpoint,
  /** Sent with every request, for example an authorization token. */
  headers: z.record(z.string(), z.string()).default({}),
  tls: z
    .strictObject({
      /** PEM file of the CA that signed the backend's certificate (default: the system's). */
      ca_file: z.string().optional(),
      /** PEM files of a client certificate and key, for mutual TLS. */
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
      /** Skip verifying the backend's certificate (tests only). */
      insecure_skip_verify: z.boolean().default(false),
    })
    .optional(),
  /** How long one send may take. */
  timeout: positiveDuration.prefault('10s'),
  queue: z
    .strictObject({
      /** Most spans waiting to be sent; beyond, new spans are dropped and counted. */
      capacity: positiveInt.default(100_000),
    })
    .prefault({}),
  batch: z
    .strictObject({
      /** Spans per request. */
      max_spans: positiveInt.default(512),
      /** Longest a span waits for a batch to fill. */
      timeout: positiveDuration.prefault('200ms'),
    })
    .prefault({}),
  retry: z
    .strictObject({
      initial_interval: positiveDuration.prefault('1s'),
      max_interval: positiveDuration.prefault('30s'),
      /** A batch still failing after this long is given up (and counted). */
      max_elapsed_time: positiveDuration.prefault('5m'),
    })
    .prefault({}),
  /** Batches sent at once. */
  sending_concurrency: positiveInt.default(2),
  /**
   * The export budget: spans per second sent at most. Over it, spans still count in every metric
   * but are sampled out of export, whole traces at a time, traces with an error or slower than
   * `slow_threshold` kept first.
   */
  budget: z
    .strictObject({
      spans: limit,
      slow_threshold: positiveDuration.prefault('1s'),
    })
    .optional(),
  /**
   * Tail sampling: decide per trace after `decision_wait`, keeping every trace with a failed
   * span or one slower than `slow_threshold`, and of the others only `others` spans per second
   * (whole traces). Metrics are never affected; the budget (if any) applies to what it keeps.
   */
  tail_sampling: z
    .strictObject({
      decision_wait: positiveDuration.prefault('5s'),
      max_traces: positiveInt.default(50_000),
      slow_threshold: positiveDuration.prefault('1s'),
      /** Omit to keep only error and slow traces. */
      others: limit.optional(),
    })
    .optional(),
});

export type TraceExporterConfig = z.output<typeof traceExporterConfigSchema>;
