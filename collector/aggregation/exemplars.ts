import type { BucketExemplar } from '../model/families.js';

/** A series takes at most one new exemplar per this many milliseconds. */
export const EXEMPLAR_INTERVAL_MS = 1000;

/** What a histogram series keeps of exemplars: the latest one per bucket, once it has any. */
export interface ExemplarSlots {
  exemplars: (BucketExemplar | undefined)[] | undefined;
}

/**
 * Exemplar slots of a series that samples its own observations: it may take the next exemplar
 * once `exemplarDue` has passed, so the hot path pays one comparison per observation and
 * `sampleExemplar` runs at most once a second per series.
 */
export interface SampledExemplars extends ExemplarSlots {
  /** ms since the epoch; 0 for a new series, which takes its first observation. */
  exemplarDue: number;
}

/** Keeps one observation of a traced request as the exemplar of `bucket` (of `buckets`). */
export function sampleExemplar(slots: SampledExemplars, buckets: number, bucket: number, traceId: string, spanId: string, value: number, now: number): void {
  slots.exemplarDue = now + EXEMPLAR_INTERVAL_MS;
  keepExemplar(slots, buckets, bucket, { traceId, spanId, value, timestampMs: now });
}

/** Puts `exemplar` in `bucket`, replacing the one there. */
export function keepExemplar(slots: ExemplarSlots, buckets: number, bucket: number, exemplar: BucketExemplar): void {
  (slots.exemplars ??= new Array<BucketExemplar | undefined>(buckets).fill(undefined))[bucket] = exemplar;
}
