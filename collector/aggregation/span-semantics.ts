import { attribute, numberAttribute, type AnyValue, type KeyValue } from '../model/common.js';

/**
 * The rules of DESIGN.md for reading OpenTelemetry semantic conventions that spans and metric
 * points share. A request fails when its gRPC status is not OK, else when its HTTP status is
 * 5xx, else when the span status is ERROR (metric points: when `error.type` is set).
 */

/**
 * Whether a gRPC status attribute value means failure: `rpc.grpc.status_code` (older
 * conventions, an int) or `rpc.response.status_code` (newer, the status name such as "OK" or
 * "UNAVAILABLE", or its number). Undefined when the value says nothing.
 */
export function grpcStatusFailed(value: AnyValue | undefined): boolean | undefined {
  if (typeof value === 'bigint') return value !== 0n;
  if (typeof value === 'number') return Number.isFinite(value) ? value !== 0 : undefined;
  if (typeof value === 'string' && value !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n !== 0 : value !== 'OK';
  }
  return undefined;
}

/** The gRPC rule over an attribute list (metric points); undefined when no gRPC status is set. */
export function grpcFailed(attributes: readonly KeyValue[]): boolean | undefined {
  return grpcStatusFailed(attribute(attributes, 'rpc.grpc.status_code')) ?? grpcStatusFailed(attribute(attributes, 'rpc.response.status_code'));
}

/** The HTTP status of a metric point, new or old convention. */
export function httpStatus(attributes: readonly KeyValue[]): number | undefined {
  return numberAttribute(attributes, 'http.response.status_code') ?? numberAttribute(attributes, 'http.status_code');
}

const TWO_POW_56 = 2 ** 56;

/**
 * The sampling probability in an `ot` tracestate entry, or undefined when it carries none:
 * `th:<hex>` (OpenTelemetry consistent probability sampling: the rejection threshold T over
 * 2^56, so p = 1 - T / 2^56), or the older `p:<n>` (p = 2^-n).
 */
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
