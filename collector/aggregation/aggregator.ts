import type { MetricFamily } from '../model/families.js';
import { SpanKind } from '../model/traces.js';
import { ACCEPTED, type ConsumeResult, type MetricBatch, type MetricsConsumer, type TraceBatch, type TracesConsumer } from '../pipeline/consumer.js';
import type { AggregationConfig } from './config.js';
import { GoldenMetrics } from './golden/golden-metrics.js';
import { serviceNameOf, workloadOf } from './identity.js';
import type { Series, SeriesTable } from './series-table.js';
import { ServiceGraph } from './service-graph/service-graph.js';
import { SpanFacts } from './span-facts.js';
import { SpanMetrics } from './span-metrics/span-metrics.js';
import { recordEdge, recordInbound } from './traffic/span-traffic.js';
import { TrafficStore } from './traffic/traffic-store.js';

/** Milliseconds since the epoch; injected so that tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The aggregation stage: consumes every accepted span and metric point and keeps span metrics,
 * the service graph, golden metrics and the query API's windows up to date. It never refuses
 * and never waits; what it cannot hold (cardinality, store size) it counts.
 *
 * Time-driven work (expiring half-edges, sweeping idle series) happens in `tick()`, which the
 * collector calls every second and tests call directly.
 */
export class Aggregator implements TracesConsumer, MetricsConsumer {
  readonly traffic: TrafficStore;
  private readonly spanMetrics: SpanMetrics | undefined;
  private readonly serviceGraph: ServiceGraph | undefined;
  private readonly golden: GoldenMetrics | undefined;
  private readonly facts: SpanFacts;
  private lastSweep: number;

  constructor(
    private readonly config: AggregationConfig,
    private readonly clock: Clock = systemClock,
  ) {
    const startedAt = clock.now();
    this.lastSweep = startedAt;
    const max = config.max_series_per_metric;
    this.traffic = new TrafficStore({
      slotMs: config.windows.slot,
      maxWindowMs: config.windows.max_window,
      bounds: config.golden.histogram_buckets.map((ms) => ms / 1000),
      maxEntities: config.windows.max_entities,
      startedAt,
    });
    this.facts = new SpanFacts(config.service_graph.virtual_node_peer_attributes);
    if (config.span_metrics.enabled) this.spanMetrics = new SpanMetrics(config.span_metrics, max);
    if (config.service_graph.enabled) {
      this.serviceGraph = new ServiceGraph(config.service_graph, max, (edge) => recordEdge(this.traffic, edge, this.clock.now()));
    }
    if (config.golden.enabled) {
      this.golden = new GoldenMetrics(config.golden, max, this.traffic, BigInt(startedAt) * 1_000_000n);
    }
  }

  /**
   * One pass over the spans: each span's attributes are read once (SpanFacts) and the facts
   * handed to span metrics, the service graph and the query windows in turn.
   */
  consumeTraces(batch: TraceBatch): ConsumeResult {
    const now = this.clock.now();
    const facts = this.facts;
    const bounds = this.traffic.bounds;
    const spanMetrics = this.spanMetrics;
    const serviceGraph = this.serviceGraph;
    for (const rs of batch.data.resourceSpans) {
      const attributes = rs.resource.attributes;
      const workload = workloadOf(attributes);
      const service = serviceNameOf(attributes);
      const serviceSeries = spanMetrics?.service(service);
      let inbound: Float64Array | undefined | null = null;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          facts.read(span);
          if (spanMetrics !== undefined) spanMetrics.record(service, serviceSeries!, span, facts, now);
          serviceGraph?.record(workload, span, facts, now);
          if (span.kind === SpanKind.SERVER || span.kind === SpanKind.CONSUMER) {
            inbound ??= this.traffic.workloadSlot('spans', workload, now, facts.startMs);
            if (inbound !== undefined) recordInbound(inbound, bounds, facts);
          }
        }
      }
    }
    return ACCEPTED;
  }

  consumeMetrics(batch: MetricBatch): ConsumeResult {
    this.golden?.add(batch.data.resourceMetrics, this.clock.now());
    return ACCEPTED;
  }

  /**
   * Expires pending half-edges, at most `maxExpired` of them; once a minute also sweeps idle
   * series, streams and windows. Returns true when it stopped at `maxExpired`: more may be due,
   * and the caller calls again (later, so as not to hold the thread: see Collector).
   */
  tick(maxExpired = Infinity): boolean {
    const now = this.clock.now();
    const expired = this.serviceGraph?.expire(now, maxExpired) ?? 0;
    if (now - this.lastSweep >= 60_000) {
      this.lastSweep = now;
      const ttl = this.config.series_ttl;
      this.spanMetrics?.sweep(now, ttl);
      this.serviceGraph?.sweep(now, ttl);
      this.golden?.sweep(now, ttl);
      this.traffic.sweep(now);
    }
    return expired >= maxExpired;
  }

  /** Turns every pending half-edge into an edge or an unpaired count (on shutdown). */
  flush(): void {
    this.serviceGraph?.flush(this.clock.now());
  }

  /** Every family the aggregation exports, including its own cardinality self-telemetry. */
  families(): MetricFamily[] {
    const tables: SeriesTable<Series>[] = [
      ...(this.spanMetrics ? [this.spanMetrics.table] : []),
      ...(this.serviceGraph?.tables ?? []),
      ...(this.golden?.tables ?? []),
    ];
    return [
      ...(this.spanMetrics?.families() ?? []),
      ...(this.serviceGraph?.families() ?? []),
      ...(this.golden?.families(() => this.clock.now()) ?? []),
      ...cardinalityFamilies(tables, this.config.max_series_per_metric),
      {
        name: 'meshtel_query_window_entities',
        help: 'Workloads and edges tracked for the query API windows.',
        type: 'gauge',
        collect: (emit) => {
          const size = this.traffic.size;
          emit(KIND_WORKLOAD, size.workloads);
          emit(KIND_EDGE, size.edges);
        },
      },
    ];
  }
}

const KIND_WORKLOAD = Object.freeze({ kind: 'workload' });
const KIND_EDGE = Object.freeze({ kind: 'edge' });

function cardinalityFamilies(tables: SeriesTable<Series>[], limit: number): MetricFamily[] {
  const labels = new Map(tables.map((t) => [t, Object.freeze({ metric: t.family })]));
  return [
    {
      name: 'meshtel_series',
      help: 'Series held per metric family (the overflow series not included).',
      type: 'gauge',
      collect: (emit) => {
        for (const t of tables) emit(labels.get(t)!, t.size);
      },
    },
    {
      name: 'meshtel_series_limit',
      help: 'Cardinality limit per metric family (aggregation.max_series_per_metric).',
      type: 'gauge',
      collect: (emit) => {
        for (const t of tables) emit(labels.get(t)!, limit);
      },
    },
    {
      name: 'meshtel_series_overflow_total',
      help: 'Observations recorded into the otel_metric_overflow="true" series because the family was at its cardinality limit.',
      type: 'counter',
      collect: (emit) => {
        for (const t of tables) emit(labels.get(t)!, t.overflowed);
      },
    },
  ];
}
