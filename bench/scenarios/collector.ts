import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { Collector } from '../../collector/collector.js';
import { loadConfig } from '../../collector/config/load.js';
import type { HistogramData, Labels } from '../../collector/model/families.js';
import { PrometheusExporter } from '../../exporters/prometheus/exporter.js';
import { VERSION } from '../../collector/version.js';
import type { AggregationState } from '../results.js';

/** A real collector with default settings on free loopback ports, logging nothing. */
export async function startCollector(): Promise<Collector> {
  const config = loadConfig({ flags: { 'otlp-endpoint': '127.0.0.1:0', 'admin-endpoint': '127.0.0.1:0', 'log-level': 'silent' } });
  const collector = new Collector(config);
  await collector.start();
  return collector;
}

/** The OTLP/HTTP receiver's fastify app, for `inject()` (the bench runs in `all` mode, which has one). */
export function receiverApp(collector: Collector): FastifyInstance {
  if (collector.receiver === undefined) throw new Error(`a ${collector.config.mode} collector has no OTLP/HTTP receiver`);
  return collector.receiver.app;
}

/**
 * A PrometheusExporter of its own over the collector's aggregation (the collector keeps its
 * exporter private): `render()` of this one is the exporter's cost without HTTP.
 */
export function exporterFor(collector: Collector): PrometheusExporter {
  return new PrometheusExporter(new Registry(), collector.aggregator.families(), VERSION);
}

/** Reads the service-graph and span-metrics state from the aggregation's own families. */
export function aggregationState(collector: Collector): AggregationState {
  const series = new Map<string, number>();
  const sums = new Map<string, number>();
  for (const family of collector.aggregator.families()) {
    let n = 0;
    let sum = 0;
    family.collect((_labels: Labels, value: number | HistogramData) => {
      n++;
      sum += typeof value === 'number' ? value : value.count;
    });
    series.set(family.name, n);
    sums.set(family.name, sum);
  }
  return {
    edgeSeries: series.get('traces_service_graph_request_total') ?? 0,
    spanMetricSeries: series.get('traces_span_metrics_calls_total') ?? 0,
    pending: sums.get('meshtel_servicegraph_store_items') ?? 0,
    dropped: sums.get('traces_service_graph_dropped_spans_total') ?? 0,
    unpaired: sums.get('traces_service_graph_unpaired_spans_total') ?? 0,
    duplicates: sums.get('meshtel_servicegraph_duplicate_spans_total') ?? 0,
  };
}
