import type { MetricsData } from '../model/metrics.js';
import type { TracesData } from '../model/traces.js';

/** Where a batch came from; admission keys its per-source budgets on these. */
export interface Source {
  /** The receiver instance, as in the `receiver` label of the self-telemetry (`otlp_http`, `kafka`). */
  receiver: string;
  /** The tenant header's value, when the receiver was configured to read one. */
  tenant?: string | undefined;
}

export interface TraceBatch {
  data: TracesData;
  /** Number of spans in `data`. */
  items: number;
  source: Source;
}

export interface MetricBatch {
  data: MetricsData;
  /** Number of data points in `data`. */
  items: number;
  source: Source;
}

/**
 * What a consumer did with a batch. A consumer owns the batch it was handed; `accepted` and
 * `partial` mean it has taken responsibility for every item it did not reject.
 * - `partial`: `rejected` items were refused for good (the client must not resend them).
 * - `refused`: nothing was taken; the client should retry after `retryAfterSeconds`.
 */
export type ConsumeResult =
  | { kind: 'accepted' }
  | { kind: 'partial'; rejected: number; reason: string; message: string }
  | { kind: 'refused'; status: 429 | 503; reason: string; retryAfterSeconds: number; message: string };

export const ACCEPTED: ConsumeResult = Object.freeze({ kind: 'accepted' });

export interface TracesConsumer {
  consumeTraces(batch: TraceBatch): ConsumeResult | Promise<ConsumeResult>;
}

export interface MetricsConsumer {
  consumeMetrics(batch: MetricBatch): ConsumeResult | Promise<ConsumeResult>;
}

/** Components with a lifecycle. `shutdown()` is idempotent and safe before `start()`. */
export interface Lifecycle {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}
