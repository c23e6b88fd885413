import type { BucketExemplar, HistogramData, Labels, MetricFamily } from '../../collector/model/families.js';

/** One line of the exposition, in the shape prom-client's Registry renders. */
interface Value {
  value: number;
  labels: Labels;
  sharedLabels?: Labels;
  metricName?: string;
  /** Rendered by prom-client in OpenMetrics only; timestamp in seconds. */
  exemplar?: { labelSet: Labels; value: number; timestamp: number };
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * Adapts a MetricFamily to prom-client's metric interface, so that one Registry renders the
 * aggregation's families beside the collector's own counters. Values are read at scrape time;
 * nothing is copied between scrapes. Each series' labels object is stable, so prom-client's
 * cache of rendered label strings (keyed by that object) does the escaping once per series.
 */
export class FamilyMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricFamily['type'];
  readonly aggregator = 'sum';
  private readonly le: Labels[];

  constructor(private readonly family: MetricFamily) {
    this.name = family.name;
    this.help = family.help;
    this.type = family.type;
    this.le = [...(family.bounds ?? []).map((b) => Object.freeze({ le: formatBound(b) })), Object.freeze({ le: '+Inf' })];
  }

  /** The family's samples; with `exemplars`, each histogram bucket that kept one carries it. */
  get(exemplars = false): { name: string; help: string; type: string; aggregator: string; values: Value[] } {
    const values: Value[] = [];
    if (this.type === 'histogram') {
      const bucket = `${this.name}_bucket`;
      const sum = `${this.name}_sum`;
      const count = `${this.name}_count`;
      const le = this.le;
      this.family.collect((labels, v) => {
        const h = v as HistogramData;
        const kept = exemplars ? h.exemplars : undefined;
        let cumulative = 0;
        for (let i = 0; i < le.length; i++) {
          cumulative += h.counts[i]!;
          const value: Value = { value: cumulative, labels: le[i]!, sharedLabels: labels, metricName: bucket };
          const x = kept?.[i];
          if (x !== undefined) value.exemplar = exemplarOf(x);
          values.push(value);
        }
        values.push({ value: h.sum, labels: NO_LABELS, sharedLabels: labels, metricName: sum });
        values.push({ value: h.count, labels: NO_LABELS, sharedLabels: labels, metricName: count });
      });
    } else {
      this.family.collect((labels, v) => {
        values.push({ value: v as number, labels: NO_LABELS, sharedLabels: labels });
      });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Part of prom-client's interface; aggregated state is never reset by the registry. */
  reset(): void {}
}

function exemplarOf(x: BucketExemplar): NonNullable<Value['exemplar']> {
  return { labelSet: { trace_id: x.traceId, span_id: x.spanId }, value: x.value, timestamp: x.timestampMs / 1000 };
}

/** Bucket bounds as Prometheus clients print them (`0.005`, `1`, `15000`). */
function formatBound(b: number): string {
  return Number.isInteger(b) ? String(b) : String(Number(b.toPrecision(12)));
}
