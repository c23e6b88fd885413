/**
 * Workload (`meshtel-workload`, variables `namespace`, `workload`): one workload's inbound traffic
 * (split by mTLS), latency, callers and callees, TCP, routes, and links to its traces in Jaeger.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { NS, UNIT, UID, WL, type Panel, jaegerLink, namespaceVariable, newDashboard, quantile, query, rate, row, sel, timeseriesPanel, workloadVariable } from './common.js';
import { goldenSeries, goldenStats, tcpPanels, type GoldenWords } from './golden-panels.js';

const W = [NS(), WL()];
const WORKLOAD = { prefix: 'meshtel_workload', matchers: W } as const;
const INBOUND = sel('meshtel_edge_requests_total', NS('dst_namespace'), WL('dst_workload'));
const OUTBOUND = sel('meshtel_edge_requests_total', NS('src_namespace'), WL('src_workload'));
const OUTBOUND_BUCKET = sel('meshtel_edge_request_duration_seconds_bucket', NS('src_namespace'), WL('src_workload'));
const SG_IN = sel('traces_service_graph_request_total', NS('server_namespace'), WL('server'));
const ROUTES = sel('traces_span_metrics_calls_total', WL('service_name'), 'span_kind="SPAN_KIND_SERVER"');
const ROUTES_ERR = sel('traces_span_metrics_calls_total', WL('service_name'), 'span_kind="SPAN_KIND_SERVER"', 'status_code="STATUS_CODE_ERROR"');
const ROUTES_BUCKET = sel('traces_span_metrics_duration_milliseconds_bucket', WL('service_name'), 'span_kind="SPAN_KIND_SERVER"');

/** The shared golden-signal and TCP panels, in this dashboard's words. */
const SAY: GoldenWords = {
  success: 'Share of the inbound requests that succeeded, as the workload\u2019s proxies counted them.',
  rps: 'Inbound requests per second, over all instances.',
  p99: '99th percentile of the inbound request latency.',
  mtls: 'Share of the inbound requests that arrived over mutual TLS.',
  byTls: 'Inbound requests per second, split by whether they arrived over mutual TLS.',
  successOverTime: 'Share of the inbound requests that succeeded, over time.',
  latencyTitle: 'Latency p50 / p95 / p99',
  latency: 'Percentiles of the inbound request latency, as the workload\u2019s proxies measured it.',
  tcpOpen: 'TCP connections open to the workload (from its clients), summed over its instances.',
  tcpBytes: 'Bytes per second the workload received and sent over TCP, from its side.',
  tcpClosed: 'Connections to the workload that closed per second, by outcome (`error`: closed with an error).',
};

export function workloadDashboard(): dashboard.DashboardBuilder {
  const d = newDashboard(UID.workload, 'meshtel / Workload', 'One workload: its inbound golden signals split by mTLS, latency percentiles, who calls it and whom it calls, TCP, routes, and its traces in Jaeger.')
    .withVariable(namespaceVariable(false))
    .withVariable(workloadVariable())
    .link(jaegerLink('Traces of $workload in Jaeger', '${workload}'))
    .withRow(row('Golden signals'));
  for (const p of [...goldenStats(WORKLOAD, SAY), ...goldenSeries(WORKLOAD, SAY), certExpiry()]) d.withPanel(p);
  d.withRow(row('Callers and callees'))
    .withPanel(inboundBySource())
    .withPanel(inboundBySourceSpans())
    .withPanel(outboundByDestination())
    .withPanel(outboundSuccessByDestination())
    .withPanel(outboundP99ByDestination())
    .withRow(row('TCP'));
  for (const p of tcpPanels(WORKLOAD, SAY)) d.withPanel(p);
  return d.withRow(row('Routes (from spans)')).withPanel(routeRps()).withPanel(routeErrors()).withPanel(routeP99());
}

function certExpiry(): Panel {
  return timeseriesPanel(
    { title: 'Identity certificate: time left', unit: UNIT.seconds, description: 'Time until the workload\u2019s soonest-expiring mTLS identity certificate expires (over its instances reporting now).' },
    query('A', `min(${sel('meshtel_workload_identity_cert_expiration_timestamp_seconds', ...W)}) - time()`, { legend: 'time left' }),
  );
}

function inboundBySource(): Panel {
  return timeseriesPanel(
    { title: 'Inbound by source (meshed callers)', unit: UNIT.rps, description: 'Requests per second to this workload from each meshed caller, as the callers\u2019 proxies counted them. Callers outside the mesh have no proxy and appear in the next panel only.' },
    query('A', `sum by (src_namespace, src_workload, tls) (${rate(INBOUND)})`, { legend: '{{src_namespace}}/{{src_workload}} tls={{tls}}' }),
  );
}

function inboundBySourceSpans(): Panel {
  return timeseriesPanel(
    { title: 'Inbound by source (from spans)', unit: UNIT.rps, description: 'Requests per second to this workload per caller from the service graph (paired spans), including the virtual client `user` for requests from outside the mesh.' },
    query('A', `sum by (client, tls) (${rate(SG_IN)})`, { legend: '{{client}} tls={{tls}}' }),
  );
}

function outboundByDestination(): Panel {
  return timeseriesPanel(
    { title: 'Outbound by destination', unit: UNIT.rps, description: 'Requests per second this workload sent to each destination, split by mTLS.' },
    query('A', `sum by (dst_namespace, dst_workload, tls) (${rate(OUTBOUND)})`, { legend: '{{dst_namespace}}/{{dst_workload}} tls={{tls}}' }),
  );
}

function outboundSuccessByDestination(): Panel {
  const ok = sel('meshtel_edge_requests_total', NS('src_namespace'), WL('src_workload'), 'classification="success"');
  const g = 'sum by (dst_namespace, dst_workload)';
  return timeseriesPanel(
    { title: 'Outbound success rate by destination', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of the requests to each destination that succeeded, as this workload\u2019s proxies saw them.' },
    query('A', `${g} (${rate(ok)}) / ${g} (${rate(OUTBOUND)})`, { legend: '{{dst_namespace}}/{{dst_workload}}' }),
  );
}

function outboundP99ByDestination(): Panel {
  return timeseriesPanel(
    { title: 'Outbound p99 latency by destination', unit: UNIT.seconds, description: '99th percentile latency of the requests to each destination, as this workload\u2019s proxies measured it (network included).' },
    query('A', quantile(0.99, OUTBOUND_BUCKET, ['dst_namespace', 'dst_workload']), { legend: '{{dst_namespace}}/{{dst_workload}}', exemplar: true }),
  );
}

function routeRps(): Panel {
  return timeseriesPanel(
    { title: 'Requests by route', unit: UNIT.rps, w: 8, description: 'Server spans per second of the workload by span name (its routes), from span metrics (scaled by the sampling probability the spans carry).' },
    query('A', `sum by (span_name) (${rate(ROUTES)})`, { legend: '{{span_name}}' }),
  );
}

function routeErrors(): Panel {
  return timeseriesPanel(
    { title: 'Errors by route', unit: UNIT.rps, w: 8, description: 'Server spans per second with status ERROR, by span name.' },
    query('A', `sum by (span_name) (${rate(ROUTES_ERR)})`, { legend: '{{span_name}}' }),
  );
}

function routeP99(): Panel {
  return timeseriesPanel(
    { title: 'p99 latency by route', unit: UNIT.milliseconds, w: 8, description: '99th percentile duration of the server spans, by span name (milliseconds, as the spanmetrics connector records it).' },
    query('A', quantile(0.99, ROUTES_BUCKET, ['span_name']), { legend: '{{span_name}}', exemplar: true }),
  ).links([jaegerLink('Traces of ${workload} in Jaeger', '${workload}')]);
}
