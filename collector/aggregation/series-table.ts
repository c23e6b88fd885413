/** What every series keeps: when it was last updated, for `sweep()`. */
export interface Series {
  updated: number;
}

/**
 * The series of one metric family, keyed by label values, with a cardinality limit.
 *
 * Once the family holds `limit` series, observations for new label sets go to a single overflow
 * series labelled `otel_metric_overflow="true"` (the OpenTelemetry SDK convention) and are
 * counted, so a flood of hostile or buggy label values costs bounded memory and stays visible.
 * Series not updated for a TTL are removed by `sweep()`, so churned pods do not accumulate.
 *
 * Lookups are split so that the hot path allocates nothing: `get(key)` for a known series,
 * `create(key, labels)` on a miss.
 */
export class SeriesTable<S extends Series> {
  private readonly series = new Map<string, Entry<S>>();
  private overflowEntry: Entry<S> | undefined;
  /** Observations that went to the overflow series. */
  overflowed = 0;

  constructor(
    readonly family: string,
    readonly labelNames: readonly string[],
    readonly limit: number,
    private readonly make: () => Omit<S, 'updated'>,
  ) {}

  /** The series for `key` (built with `seriesKey()`), marked updated; undefined when new. */
  get(key: string, now: number): S | undefined {
    const e = this.series.get(key);
    if (e === undefined) return undefined;
    e.series.updated = now;
    return e.series;
  }

  /** Creates the series for `key`, or returns the overflow series when the family is full. */
  create(key: string, labelValues: readonly string[], now: number): S {
    if (this.series.size >= this.limit) {
      this.overflowed++;
      this.overflowEntry ??= { labels: { otel_metric_overflow: 'true' }, series: this.newSeries(now) };
      return this.overflowEntry.series;
    }
    const e: Entry<S> = { labels: toLabels(this.labelNames, labelValues), series: this.newSeries(now) };
    this.series.set(key, e);
    return e.series;
  }

  get size(): number {
    return this.series.size;
  }

  /** Every series with its labels (a stable object per series), the overflow series last. */
  *entries(): IterableIterator<[labels: Readonly<Record<string, string>>, series: S]> {
    for (const e of this.series.values()) yield [e.labels, e.series];
    if (this.overflowEntry) yield [this.overflowEntry.labels, this.overflowEntry.series];
  }

  /** Removes series not updated since `now - ttlMs`; returns how many. */
  sweep(now: number, ttlMs: number): number {
    const cutoff = now - ttlMs;
    let removed = 0;
    for (const [key, e] of this.series) {
      if (e.series.updated < cutoff) {
        this.series.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private newSeries(now: number): S {
    const s = this.make() as S;
    s.updated = now;
    return s;
  }
}

interface Entry<S> {
  labels: Readonly<Record<string, string>>;
  series: S;
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
export function seriesKey(values: readonly string[]): string {
  let key = '';
  const last = values.length - 1;
  for (let i = 0; i < last; i++) key += `${values[i]!.length}:${values[i]!}`;
  return key + values[last]!;
}

/** The series for these label values in `table`, created on first use. */
export function seriesFor<S extends Series>(table: SeriesTable<S>, values: readonly string[], now: number): S {
  const key = seriesKey(values);
  return table.get(key, now) ?? table.create(key, values, now);
}
