import type { BucketExemplar } from '../model/families.js';

/** A series takes at most one new exemplar per this many milliseconds. */
export const EXEMPLAR_INTERVAL_MS = 1000;

/**
 * What a histogram series keeps of exemplars: the latest one per bucket, and when it may take the
 * next. The hot path pays one comparison per observation (`now >= exemplarDue`); `sampleExemplar`
 * runs at most once a second per series.
 */
export interface ExemplarSlots {
  exemplars: (BucketExemplar | undefined)[] | undefined;
  /** ms since the epoch; 0 for a new series, which takes its first observation. */
  exemplarDue: number;
}

/** Keeps one observation of a traced request as the exemplar of `bucket` (of `buckets`). */
export function sampleExemplar(slots: ExemplarSlots, buckets: number, bucket: number, traceId: string, spanId: string, value: number, now: number): void {
  slots.exemplarDue = now + EXEMPLAR_INTERVAL_MS;
  keepExemplar(slots, buckets, bucket, { traceId, spanId, value, timestampMs: now });
}

/** Puts `exemplar` in `bucket`, replacing the one there. */
export function keepExemplar(slots: ExemplarSlots, buckets: number, bucket: number, exemplar: BucketExemplar): void {
  (slots.exemplars ??= new Array<BucketExemplar | undefined>(buckets).fill(undefined))[bucket] = exemplar;
}
