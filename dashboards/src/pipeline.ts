/**
 * Pipeline health (`meshtel-pipeline`, variable `instance`): meshtel's self-telemetry
 * (docs/metrics.md, Self-telemetry): what the receivers took and refused, what the exporters sent
 * and lost, Kafka, the service-graph store, cardinality overflow, and the process.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { UNIT, UID, type Panel, labelValuesVariable, newDashboard, query, rate, row, sel, timeseriesPanel } from './common.js';

const I = 'instance=~"$instance"';
const s = (metric: string, ...m: string[]): string => sel(metric, I, ...m);
const sumRate = (by: string, metric: string, ...m: string[]): string => `sum by (${by}) (${rate(s(metric, ...m))})`;

export function pipelineDashboard(): dashboard.DashboardBuilder {
  return newDashboard(UID.pipeline, 'meshtel / Pipeline health', 'meshtel itself: spans and metric points received, accepted, refused and rate-limited; trace export and its queue; Kafka; the service-graph store; cardinality overflow; memory and CPU.')
    .withVariable(labelValuesVariable('instance', 'meshtel_build_info', 'instance', { label: 'Collector', description: 'The collector processes (Prometheus targets) to show.', multi: true }))
    .withRow(row('Receivers'))
    .withPanel(spansIn())
    .withPanel(pointsIn())
    .withPanel(refusedByReason())
    .withPanel(rejectedByReason())
    .withPanel(requestsByOutcome())
    .withPanel(rateLimited())
    .withRow(row('Trace export'))
    .withPanel(exporterSpans())
    .withPanel(exporterFailed())
    .withPanel(exporterQueue())
    .withPanel(exporterRetries())
    .withRow(row('Kafka'))
    .withPanel(kafkaLag())
    .withPanel(kafkaThroughput())
    .withPanel(kafkaFailures())
    .withRow(row('Aggregation'))
    .withPanel(storeSize())
    .withPanel(expiredEdges())
    .withPanel(unpairedAndDropped())
    .withPanel(series())
    .withPanel(overflow())
    .withPanel(goldenPoints())
    .withRow(row('Process'))
    .withPanel(memory())
    .withPanel(cpu())
    .withPanel(eventLoopLag());
}

function spansIn(): Panel {
  return timeseriesPanel(
    { title: 'Spans: received, accepted, refused, rejected', unit: UNIT.itemsPerSecond, description: 'Spans per second per receiver: decoded (received) = accepted + refused (retryable: 429/503, the client resends) + rejected (for good).' },
    query('A', sumRate('receiver', 'meshtel_receiver_received_spans_total'), { legend: 'received {{receiver}}' }),
    query('B', sumRate('receiver', 'meshtel_receiver_accepted_spans_total'), { legend: 'accepted {{receiver}}' }),
    query('C', sumRate('receiver', 'meshtel_receiver_refused_spans_total'), { legend: 'refused {{receiver}}' }),
    query('D', sumRate('receiver', 'meshtel_receiver_rejected_spans_total'), { legend: 'rejected {{receiver}}' }),
  );
}

function pointsIn(): Panel {
  return timeseriesPanel(
    { title: 'Metric points: received, accepted, refused, rejected', unit: UNIT.itemsPerSecond, description: 'Metric data points per second per receiver, with the same four counts as spans.' },
    query('A', sumRate('receiver', 'meshtel_receiver_received_metric_points_total'), { legend: 'received {{receiver}}' }),
    query('B', sumRate('receiver', 'meshtel_receiver_accepted_metric_points_total'), { legend: 'accepted {{receiver}}' }),
    query('C', sumRate('receiver', 'meshtel_receiver_refused_metric_points_total'), { legend: 'refused {{receiver}}' }),
    query('D', sumRate('receiver', 'meshtel_receiver_rejected_metric_points_total'), { legend: 'rejected {{receiver}}' }),
  );
}

function refusedByReason(): Panel {
  return timeseriesPanel(
    { title: 'Refused by reason', unit: UNIT.itemsPerSecond, w: 8, description: 'Spans and points refused with a retryable status, by reason: `rate_limited` (429), `memory_limited` (503), `internal_error` (503).' },
    query('A', sumRate('reason', 'meshtel_receiver_refused_spans_total'), { legend: 'spans {{reason}}' }),
    query('B', sumRate('reason', 'meshtel_receiver_refused_metric_points_total'), { legend: 'points {{reason}}' }),
  );
}

function rejectedByReason(): Panel {
  return timeseriesPanel(
    { title: 'Rejected by reason', unit: UNIT.itemsPerSecond, w: 8, description: 'Spans and points rejected for good in a partial success, by reason (`invalid`, `rate_limited`).' },
    query('A', sumRate('reason', 'meshtel_receiver_rejected_spans_total'), { legend: 'spans {{reason}}' }),
    query('B', sumRate('reason', 'meshtel_receiver_rejected_metric_points_total'), { legend: 'points {{reason}}' }),
  );
}

function requestsByOutcome(): Panel {
  return timeseriesPanel(
    { title: 'Export requests by outcome', unit: UNIT.rps, w: 8, description: 'OTLP export requests per second by signal and outcome: accepted, partial, refused, invalid (400), too_large (413), unsupported (415).' },
    query('A', sumRate('signal, outcome', 'meshtel_receiver_requests_total'), { legend: '{{signal}} {{outcome}}' }),
  );
}

function rateLimited(): Panel {
  return timeseriesPanel(
    { title: 'Rate-limited', unit: UNIT.itemsPerSecond, description: 'Spans and points turned away by the rate limiter: refused with 429 (resent by the client) or rejected in a partial success (their source was over its budget).' },
    query('A', `sum(${rate(s('meshtel_receiver_refused_spans_total', 'reason="rate_limited"'))})`, { legend: 'spans refused' }),
    query('B', `sum(${rate(s('meshtel_receiver_rejected_spans_total', 'reason="rate_limited"'))})`, { legend: 'spans rejected' }),
    query('C', `sum(${rate(s('meshtel_receiver_refused_metric_points_total', 'reason="rate_limited"'))})`, { legend: 'points refused' }),
  );
}

function exporterSpans(): Panel {
  return timeseriesPanel(
    { title: 'Exporter: received, sent, sampled out', unit: UNIT.itemsPerSecond, description: 'Spans per second handed to each trace exporter, taken by the backend, and not exported by decision (budget, tail sampling; they count in every metric).' },
    query('A', sumRate('exporter', 'meshtel_exporter_received_spans_total'), { legend: 'received {{exporter}}' }),
    query('B', sumRate('exporter', 'meshtel_exporter_sent_spans_total'), { legend: 'sent {{exporter}}' }),
    query('C', sumRate('exporter, reason', 'meshtel_exporter_sampled_out_spans_total'), { legend: 'sampled out {{exporter}} {{reason}}' }),
  );
}

function exporterFailed(): Panel {
  return timeseriesPanel(
    { title: 'Exporter: failed', unit: UNIT.itemsPerSecond, description: 'Spans lost per second: not delivered (by reason: permanent, retries_exhausted, rejected, shutdown) or dropped because the queue was full.' },
    query('A', sumRate('exporter, reason', 'meshtel_exporter_send_failed_spans_total'), { legend: 'send failed {{exporter}} {{reason}}' }),
    query('B', sumRate('exporter', 'meshtel_exporter_enqueue_failed_spans_total'), { legend: 'queue full {{exporter}}' }),
  );
}

function exporterQueue(): Panel {
  return timeseriesPanel(
    { title: 'Exporter queue', unit: UNIT.count, description: 'Spans waiting in each exporter\u2019s queue, against its capacity; spans in flight (being sent or retried) and held by tail sampling.' },
    query('A', `sum by (exporter) (${s('meshtel_exporter_queue_size')})`, { legend: 'queued {{exporter}}' }),
    query('B', `sum by (exporter) (${s('meshtel_exporter_queue_capacity')})`, { legend: 'capacity {{exporter}}' }),
    query('C', `sum by (exporter) (${s('meshtel_exporter_in_flight_spans')})`, { legend: 'in flight {{exporter}}' }),
    query('D', `sum by (exporter) (${s('meshtel_exporter_awaiting_decision_spans')})`, { legend: 'awaiting decision {{exporter}}' }),
  );
}

function exporterRetries(): Panel {
  return timeseriesPanel(
    { title: 'Exporter retries', unit: UNIT.perSecond, description: 'Send attempts retried per second, per exporter.' },
    query('A', sumRate('exporter', 'meshtel_exporter_retries_total'), { legend: '{{exporter}}' }),
  );
}

function kafkaLag(): Panel {
  return timeseriesPanel(
    { title: 'Kafka consumer lag', unit: UNIT.count, w: 8, description: 'Messages not yet processed per topic, summed over partitions (aggregator mode).' },
    query('A', `sum by (topic) (${s('meshtel_kafka_consumer_lag')})`, { legend: '{{topic}}' }),
  );
}

function kafkaThroughput(): Panel {
  return timeseriesPanel(
    { title: 'Kafka produced and consumed', unit: UNIT.perSecond, w: 8, description: 'Messages per second written by gateways and consumed by aggregators, per topic.' },
    query('A', sumRate('topic', 'meshtel_kafka_produced_messages_total'), { legend: 'produced {{topic}}' }),
    query('B', sumRate('topic, outcome', 'meshtel_kafka_consumed_messages_total'), { legend: 'consumed {{topic}} {{outcome}}' }),
  );
}

function kafkaFailures(): Panel {
  return timeseriesPanel(
    { title: 'Kafka failures', unit: UNIT.itemsPerSecond, w: 8, description: 'Items the gateways could not write (their requests refused with 503), and offsets skipped by the aggregators (messages lost to retention).' },
    query('A', sumRate('topic, reason', 'meshtel_kafka_produce_failed_items_total'), { legend: 'produce failed {{topic}} {{reason}}' }),
    query('B', sumRate('topic', 'meshtel_kafka_skipped_offsets_total'), { legend: 'skipped offsets {{topic}}' }),
  );
}

function storeSize(): Panel {
  return timeseriesPanel(
    { title: 'Service-graph store', unit: UNIT.count, w: 8, description: 'Half-edges waiting for their other half, against the store\u2019s capacity (store_max_items).' },
    query('A', `sum(${s('meshtel_servicegraph_store_items')})`, { legend: 'items' }),
    query('B', `sum(${s('meshtel_servicegraph_store_capacity')})`, { legend: 'capacity' }),
  );
}

function expiredEdges(): Panel {
  return timeseriesPanel(
    { title: 'Expired half-edges', unit: UNIT.perSecond, w: 8, description: 'Half-edges that expired per second: into an edge to a virtual node, or unpaired.' },
    query('A', sumRate('outcome', 'meshtel_servicegraph_expired_edges_total'), { legend: '{{outcome}}' }),
  );
}

function unpairedAndDropped(): Panel {
  return timeseriesPanel(
    { title: 'Unpaired and dropped spans', unit: UNIT.itemsPerSecond, w: 8, description: 'Service-graph spans that expired without their other half and named no peer, and spans dropped because the store was full.' },
    query('A', `sum(${rate(s('traces_service_graph_unpaired_spans_total'))})`, { legend: 'unpaired' }),
    query('B', `sum(${rate(s('traces_service_graph_dropped_spans_total'))})`, { legend: 'dropped' }),
  );
}

function series(): Panel {
  return timeseriesPanel(
    { title: 'Series per family', unit: UNIT.count, w: 8, description: 'Series held per metric family, against the cardinality limit.' },
    query('A', `max by (metric) (${s('meshtel_series')})`, { legend: '{{metric}}' }),
    query('B', `max(${s('meshtel_series_limit')})`, { legend: 'limit' }),
  );
}

function overflow(): Panel {
  return timeseriesPanel(
    { title: 'Overflow', unit: UNIT.perSecond, w: 8, description: 'Observations per second recorded into a family\u2019s overflow series (otel_metric_overflow="true") because it is over its cardinality limit.' },
    query('A', sumRate('metric', 'meshtel_series_overflow_total'), { legend: '{{metric}}' }),
  );
}

function goldenPoints(): Panel {
  return timeseriesPanel(
    { title: 'Proxy metric points by outcome', unit: UNIT.itemsPerSecond, w: 8, description: 'Metric points read for golden metrics per second: used, baseline, or not usable (unrecognized, no_direction, ...).' },
    query('A', sumRate('outcome', 'meshtel_golden_points_total'), { legend: '{{outcome}}' }),
  );
}

function memory(): Panel {
  return timeseriesPanel(
    { title: 'Memory', unit: UNIT.bytes, w: 8, description: 'Resident memory and V8 heap in use, per collector.' },
    query('A', s('process_resident_memory_bytes'), { legend: 'rss {{instance}}' }),
    query('B', s('nodejs_heap_size_used_bytes'), { legend: 'heap used {{instance}}' }),
  );
}

function cpu(): Panel {
  return timeseriesPanel(
    { title: 'CPU', unit: UNIT.ratio, w: 8, description: 'CPU time per second of wall time, per collector (1 = one core; the collector runs on one thread).' },
    query('A', rate(s('process_cpu_seconds_total')), { legend: '{{instance}}' }),
  );
}

function eventLoopLag(): Panel {
  return timeseriesPanel(
    { title: 'Event-loop lag p99', unit: UNIT.seconds, w: 8, description: '99th percentile of event-loop delay since the previous scrape: how long work waited for the collector\u2019s only thread.' },
    query('A', s('nodejs_eventloop_lag_p99_seconds'), { legend: '{{instance}}' }),
  );
}
