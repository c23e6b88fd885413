/** The pipeline's own health: collectors up, data refused, rejected or lost, queues, Kafka, the store. */
import { UID } from '../../dashboards/uids.js';
import { dashboard, num, percent, runbook, sel, str, type RuleFile, type Severity } from './rules.js';
import type { Thresholds } from './settings.js';

interface Spec {
  alert: string;
  expr: string;
  for?: string;
  severity: Severity;
  summary: string;
  description: string;
}

export function pipelineRules(t: Thresholds): RuleFile {
  const job = `job=${str(t.job)}`;
  const rate = (metric: string, by: string, ...matchers: string[]) => `sum by (${by}) (rate(${sel(metric, job, ...matchers)}[5m]))`;
  const rejected = (signal: 'spans' | 'metric_points', what: string): Spec => ({
    alert: `Meshtel${signal === 'spans' ? 'Spans' : 'MetricPoints'}Rejected`,
    expr: `${rate(`meshtel_receiver_rejected_${signal}_total`, 'instance, receiver, reason')} > 0`,
    for: '10m',
    severity: 'warning',
    summary: `meshtel rejects ${what} for good`,
    description: `{{ $labels.instance }} rejects {{ $value | humanize }} ${what}/s ({{ $labels.reason }}) in partial successes: the senders do not retry them, they are lost.`,
  });
  const specs: Spec[] = [
    {
      alert: 'MeshtelCollectorDown',
      expr: `up{${job}} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'A meshtel collector is down',
      description: `Prometheus could not scrape {{ $labels.instance }} (job ${t.job}) for 5 minutes: the telemetry it receives is refused or lost, and its metrics are missing.`,
    },
    {
      alert: 'MeshtelCollectorAbsent',
      expr: `absent(up{${job}})`,
      for: '15m',
      severity: 'critical',
      summary: 'No meshtel collector is known to Prometheus',
      description: `Prometheus has no target of job ${t.job} for 15 minutes: every meshtel alert is blind.`,
    },
    {
      // Requests, not items: a body refused before it is read (memory past the hard limit) has
      // no item count, and those are the refusals that matter most.
      alert: 'MeshtelTelemetryRefused',
      expr: `${rate('meshtel_receiver_requests_total', 'instance, receiver, signal', 'outcome="refused"')}
/
${rate('meshtel_receiver_requests_total', 'instance, receiver, signal')} > ${num(t.refused_ratio)}`,
      for: '10m',
      severity: 'warning',
      summary: 'meshtel refuses {{ $labels.signal }} for load',
      description: `{{ $labels.instance }} refused {{ $value | humanizePercentage }} of the {{ $labels.signal }} export requests reaching its {{ $labels.receiver }} receiver over the last 5 minutes (threshold ${percent(t.refused_ratio)}); clients resend them, but a lasting refusal means the collector is over its rate or memory limits.`,
    },
    rejected('spans', 'spans'),
    rejected('metric_points', 'metric points'),
    {
      alert: 'MeshtelTraceExportFailing',
      expr: `${rate('meshtel_exporter_send_failed_spans_total', 'instance, exporter, reason')} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'Trace export {{ $labels.exporter }} is losing spans',
      description: '{{ $labels.instance }} failed to deliver {{ $value | humanize }} spans/s to {{ $labels.exporter }} ({{ $labels.reason }}) over the last 5 minutes: those traces are missing in Jaeger.',
    },
    {
      alert: 'MeshtelTraceExportQueueFull',
      expr: `${rate('meshtel_exporter_enqueue_failed_spans_total', 'instance, exporter')} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'The export queue of {{ $labels.exporter }} is full: spans are dropped',
      description: '{{ $labels.instance }} drops {{ $value | humanize }} spans/s because the queue of {{ $labels.exporter }} is full: the backend is slower than the traffic.',
    },
    {
      alert: 'MeshtelTraceExportQueueNearlyFull',
      expr: `max by (instance, exporter) (${sel('meshtel_exporter_queue_size', job)} / ${sel('meshtel_exporter_queue_capacity', job)}) > ${num(t.export_queue_full_ratio)}`,
      for: '10m',
      severity: 'warning',
      summary: 'The export queue of {{ $labels.exporter }} is nearly full',
      description: `The queue of {{ $labels.exporter }} on {{ $labels.instance }} is {{ $value | humanizePercentage }} full (threshold ${percent(t.export_queue_full_ratio)}); spans will be dropped once it is full.`,
    },
    {
      alert: 'MeshtelKafkaConsumerLagHigh',
      expr: `sum by (topic) (${sel('meshtel_kafka_consumer_lag', job)}) > ${num(t.kafka_lag_messages)}`,
      for: '10m',
      severity: 'warning',
      summary: 'The aggregators fall behind on {{ $labels.topic }}',
      description: `The aggregators have {{ $value | humanize }} messages of {{ $labels.topic }} not yet processed (threshold ${num(t.kafka_lag_messages)}): metrics are late, and data will be lost if the lag outgrows the topic's retention.`,
    },
    {
      alert: 'MeshtelKafkaMessagesLost',
      expr: `sum by (instance, topic) (increase(${sel('meshtel_kafka_skipped_offsets_total', job)}[10m])) > 0`,
      severity: 'critical',
      summary: 'Kafka deleted messages of {{ $labels.topic }} before they were consumed',
      description: '{{ $labels.instance }} skipped {{ $value | humanize }} offsets of {{ $labels.topic }} in the last 10 minutes: retention deleted them before an aggregator read them, and their data is lost.',
    },
    {
      alert: 'MeshtelKafkaProduceFailing',
      expr: `${rate('meshtel_kafka_produce_failed_items_total', 'instance, topic, reason')} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'A gateway cannot write to Kafka',
      description: '{{ $labels.instance }} refused {{ $value | humanize }} items/s of {{ $labels.topic }} because Kafka did not take them ({{ $labels.reason }}); clients resend them, but a lasting failure backs up every proxy.',
    },
    {
      alert: 'MeshtelUnpairedSpansHigh',
      expr: `${rate('traces_service_graph_unpaired_spans_total', 'instance')}
/
(${rate('traces_service_graph_request_total', 'instance')} + ${rate('traces_service_graph_unpaired_spans_total', 'instance')}) > ${num(t.unpaired_ratio)}
and
${rate('traces_service_graph_request_total', 'instance')} >= ${num(t.min_request_rate)}`,
      for: '15m',
      severity: 'warning',
      summary: 'Many spans find no other half for the service graph',
      description: `{{ $value | humanizePercentage }} of the service-graph spans on {{ $labels.instance }} expired unpaired (threshold ${percent(t.unpaired_ratio)}): edges are undercounted. Spans of one trace may be split across aggregators, or a side does not send spans.`,
    },
    {
      alert: 'MeshtelServiceGraphSpansDropped',
      expr: `${rate('traces_service_graph_dropped_spans_total', 'instance')} > 0`,
      for: '10m',
      severity: 'warning',
      summary: 'The service-graph store is full',
      description: '{{ $labels.instance }} drops {{ $value | humanize }} spans/s from the service graph because its store is full: edges are undercounted.',
    },
    {
      alert: 'MeshtelSeriesOverflow',
      expr: `${rate('meshtel_series_overflow_total', 'instance, metric')} > 0`,
      for: '10m',
      severity: 'warning',
      summary: '{{ $labels.metric }} is over its cardinality limit',
      description: '{{ $labels.instance }} records {{ $value | humanize }} observations/s of {{ $labels.metric }} into its overflow series (otel_metric_overflow="true"): new label combinations are not told apart.',
    },
    {
      alert: 'MeshtelWatchdog',
      expr: 'vector(1)',
      severity: 'info',
      summary: 'Always firing: the alerting pipeline works',
      description: 'This alert always fires. Route it to a dead man\'s switch: when it stops arriving, Prometheus or Alertmanager is down.',
    },
  ];
  return {
    file: 'meshtel-pipeline.rules.yml',
    groups: [
      {
        name: 'meshtel-pipeline',
        rules: specs.map((s) => ({
          alert: s.alert,
          expr: s.expr,
          ...(s.for === undefined ? {} : { for: s.for }),
          labels: { severity: s.severity },
          annotations: {
            summary: s.summary,
            description: s.description,
            runbook_url: runbook(t, s.alert),
            ...(s.alert === 'MeshtelWatchdog' ? {} : { dashboard_url: dashboard(t, UID.pipeline) }),
          },
        })),
      },
    ],
  };
}
