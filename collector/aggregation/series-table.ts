/**
 * The series of one metric family, keyed by label values, with a cardinality limit.
 *
 * Once the family holds `limit` series, observations for new label sets go to a single overflow
 * series labelled `otel_metric_overflow="true"` (the OpenTelemetry SDK convention) and are
 * counted, so a flood of hostile or buggy label values costs bounded memory and stays visible.
 * Series not updated for `ttlMs` are removed by `sweep()`, so churned pods do not accumulate.
 */
export class SeriesTable<S> {
  private readonly series = new Map<string, Entry<S>>();
  private overflowEntry: Entry<S> | undefined;
  /** Observations that went to the overflow series. */
  overflowed = 0;

  constructor(
    readonly family: string,
    readonly labelNames: readonly string[],
    readonly limit: number,
    private readonly create: () => S,
  ) {}

  /**
   * The series for `key`, created on first use with the labels `labelValues()` returns (called
   * only then, so the caller builds no array on the hot path). `key` must identify the label
   * values uniquely: build it with `seriesKey()`.
   */
  get(key: string, labelValues: () => readonly string[], now: number): S {
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= this.limit) return this.overflow(now);
      entry = { labels: toLabels(this.labelNames, labelValues()), value: this.create(), updated: now };
      this.series.set(key, entry);
    } else entry.updated = now;
    return entry.value;
  }

  /** Existing series only (no creation): for lookups that must not add cardinality. */
  peek(key: string): S | undefined {
    return this.series.get(key)?.value;
  }

  get size(): number {
    return this.series.size;
  }

  /** Every series with its labels (a stable object per series), the overflow series last. */
  *entries(): IterableIterator<[labels: Readonly<Record<string, string>>, value: S]> {
    for (const e of this.series.values()) yield [e.labels, e.value];
    if (this.overflowEntry) yield [this.overflowEntry.labels, this.overflowEntry.value];
  }

  /** Removes series not updated since `now - ttlMs`; returns how many. */
  sweep(now: number, ttlMs: number): number {
    const cutoff = now - ttlMs;
    let removed = 0;
    for (const [key, e] of this.series) {
      if (e.updated < cutoff) {
        this.series.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private overflow(now: number): S {
    this.overflowed++;
    if (this.overflowEntry === undefined) {
      this.overflowEntry = { labels: { otel_metric_overflow: 'true' }, value: this.create(), updated: now };
    }
    return this.overflowEntry.value;
  }
}

interface Entry<S> {
  labels: Readonly<Record<string, string>>;
  value: S;
  updated: number;
}

function toLabels(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i] ?? '';
  return labels;
}

/**
 * A map key for label values that no two different value lists share (each value but the last
 * is length-prefixed, so separators inside hostile values cannot forge another key).
 */
export function seriesKey(...values: string[]): string {
  let key = '';
  const last = values.length - 1;
  for (let i = 0; i < last; i++) key += `${values[i]!.length}:${values[i]!}`;
  return key + values[last]!;
}
