import type { RateRun } from '../results.js';

export interface RateTiming {
  warmupMs: number;
  durationMs: number;
}

/**
 * Runs `work` on payloads from `next` for `warmupMs`, then measures it for `durationMs`: items
 * (spans, data points) and bytes per second, and the mean time per payload. `onMeasure` runs
 * between the two (to reset counters the warm-up touched).
 */
export function rate<P extends { bytes: Uint8Array }>(
  label: string,
  next: () => P,
  itemsOf: (p: P) => number,
  timing: RateTiming,
  work: (p: P) => unknown,
  onMeasure?: () => void,
): RateRun {
  for (const end = performance.now() + timing.warmupMs; performance.now() < end; ) work(next());
  onMeasure?.();
  let items = 0;
  let bytes = 0;
  let payloads = 0;
  const start = performance.now();
  const end = start + timing.durationMs;
  let now = start;
  while (now < end) {
    const p = next();
    work(p);
    items += itemsOf(p);
    bytes += p.bytes.length;
    payloads++;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { label, itemsPerSecond: items / seconds, bytesPerSecond: bytes / seconds, msPerBatch: (now - start) / payloads };
}

/** The receiver's steps for one payload: decode it, validate and count its items, aggregate them. */
export interface Pipeline<P, D> {
  decode: (p: P) => D;
  validate: (data: D) => number;
  aggregate: (data: D, items: number) => void;
  /** Step labels, in order, for the report. */
  labels: readonly [string, string, string];
}

/**
 * The rate of the whole pipeline (`label`), then the rate each step alone would run at (split by
 * the time each took) and its time per payload.
 */
export function pipelineRates<P extends { bytes: Uint8Array }, D>(label: string, next: () => P, itemsOf: (p: P) => number, timing: RateTiming, pipeline: Pipeline<P, D>): RateRun[] {
  const ms = [0, 0, 0];
  const all = rate(
    label,
    next,
    itemsOf,
    timing,
    (p) => {
      const t0 = performance.now();
      const data = pipeline.decode(p);
      const t1 = performance.now();
      const items = pipeline.validate(data);
      const t2 = performance.now();
      pipeline.aggregate(data, items);
      const t3 = performance.now();
      ms[0]! += t1 - t0;
      ms[1]! += t2 - t1;
      ms[2]! += t3 - t2;
    },
    () => ms.fill(0),
  );
  const elapsed = ms[0]! + ms[1]! + ms[2]!;
  return [
    all,
    ...pipeline.labels.map((stepLabel, i) => ({
      label: stepLabel,
      itemsPerSecond: (all.itemsPerSecond * elapsed) / ms[i]!,
      bytesPerSecond: (all.bytesPerSecond * elapsed) / ms[i]!,
      msPerBatch: (all.msPerBatch * ms[i]!) / elapsed,
    })),
  ];
}
