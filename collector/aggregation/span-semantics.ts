import { attribute, booleanAttribute, numberAttribute, stringAttribute, type KeyValue } from '../model/common.js';
import { StatusCode, type Span } from '../model/traces.js';

/**
 * Whether a span records a failed request, by the rule of DESIGN.md: the gRPC status when there
 * is one (anything but OK fails), else the HTTP status (5xx fails), else the span status (ERROR).
 */
export function spanFailed(span: Span): boolean {
  const grpc = grpcFailed(span.attributes);
  if (grpc !== undefined) return grpc;
  const http = numberAttribute(span.attributes, 'http.response.status_code') ?? numberAttribute(span.attributes, 'http.status_code');
  if (http !== undefined) return http >= 500;
  return span.status.code === StatusCode.ERROR;
}

/**
 * `rpc.grpc.status_code` (older conventions, an int) or `rpc.response.status_code` (newer, the
 * status name such as "OK" or "UNAVAILABLE", or its number); undefined when neither is set.
 */
export function grpcFailed(attributes: readonly KeyValue[]): boolean | undefined {
  const code = numberAttribute(attributes, 'rpc.grpc.status_code');
  if (code !== undefined) return code !== 0;
  const response = attribute(attributes, 'rpc.response.status_code');
  if (response === undefined || response === null || response === '') return undefined;
  if (typeof response === 'string') return response !== 'OK' && response !== '0';
  if (typeof response === 'bigint' || typeof response === 'number') return Number(response) !== 0;
  return undefined;
}

/** Span duration in seconds (0 for spans that end before they start). */
export function durationSeconds(span: Span): number {
  const ns = span.endTimeUnixNano - span.startTimeUnixNano;
  return ns > 0n ? Number(ns) / 1e9 : 0;
}

/** Whether the hop the span describes ran over TLS, from `tls.established`; undefined if unknown. */
export function spanTls(span: Span): boolean | undefined {
  return booleanAttribute(span.attributes, 'tls.established');
}

const TWO_POW_56 = 2 ** 56;

/**
 * How many requests one span stands for: 1 / its sampling probability. Read from, in order:
 * - W3C tracestate `ot=th:<hex>` (OpenTelemetry consistent probability sampling: the rejection
 *   threshold T over 2^56, so p = 1 - T / 2^56), or the older `ot=p:<n>` (p = 2^-n);
 * - the span attribute `sampling.probability` (0 < p <= 1);
 * - Jaeger's `sampler.type = "probabilistic"` with `sampler.param` = p.
 * Anything missing or invalid means 1: the span counts once.
 */
export function samplingWeight(span: Span): number {
  if (span.traceState !== '') {
    const p = probabilityFromTraceState(span.traceState);
    if (p !== undefined) return 1 / p;
  }
  const attrs = span.attributes;
  const p = numberAttribute(attrs, 'sampling.probability');
  if (p !== undefined) return p > 0 && p <= 1 ? 1 / p : 1;
  if (stringAttribute(attrs, 'sampler.type') === 'probabilistic') {
    const param = numberAttribute(attrs, 'sampler.param');
    if (param !== undefined && param > 0 && param <= 1) return 1 / param;
  }
  return 1;
}

/** The sampling probability in an `ot` tracestate entry, or undefined when it carries none. */
export function probabilityFromTraceState(traceState: string): number | undefined {
  for (const member of traceState.split(',')) {
    const entry = member.trim();
    if (!entry.startsWith('ot=')) continue;
    for (const field of entry.slice(3).split(';')) {
      if (field.startsWith('th:')) {
        const hex = field.slice(3);
        if (!/^[0-9a-f]{1,14}$/.test(hex)) return undefined;
        const p = 1 - parseInt(hex.padEnd(14, '0'), 16) / TWO_POW_56;
        return p > 0 ? p : undefined;
      }
      if (field.startsWith('p:')) {
        const n = Number(field.slice(2));
        return Number.isInteger(n) && n >= 0 && n <= 62 ? 2 ** -n : undefined;
      }
    }
  }
  return undefined;
}
