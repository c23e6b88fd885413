import type { TracesData } from '../../collector/model/traces.js';

/** What one send attempt came to: results as data, so that retry policy stays in one place. */
export type SendResult =
  | { kind: 'success'; /** spans the backend said it rejected (OTLP partial success) */ rejected: number }
  | { kind: 'retryable'; error: string; /** the backend's Retry-After */ retryAfterMs?: number | undefined }
  | { kind: 'failure'; error: string };

/** Sends batches of spans to one backend in one protocol. */
export interface SpanTransport {
  send(data: TracesData, spans: number, signal: AbortSignal): Promise<SendResult>;
  shutdown(): Promise<void>;
}

/** HTTP statuses worth retrying (the OTLP specification's list). */
export function retryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
