/**
 * Edge (`meshtel-edge`, variables `src_namespace`, `src_workload`, `dst_namespace`,
 * `dst_workload`): one caller -> callee pair as the caller's proxies saw it, the server's view
 * from the service graph, and the caller's routes (client spans).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { UNIT, UID, type Panel, jaegerLink, labelValuesVariable, newDashboard, quantile, query, rate, row, sel, timeseriesPanel } from './common.js';
import { goldenSeries, goldenStats, tcpPanels, type GoldenWords } from './golden-panels.js';

const E = ['src_namespace=~"$src_namespace"', 'src_workload=~"$src_workload"', 'dst_namespace=~"$dst_namespace"', 'dst_workload=~"$dst_workload"'];
const EDGE = { prefix: 'meshtel_edge', matchers: E } as const;
const SG = ['client_namespace=~"$src_namespace"', 'client=~"$src_workload"', 'server_namespace=~"$dst_namespace"', 'server=~"$dst_workload"'];
const ROUTES = sel('traces_span_metrics_calls_total', 'service_name=~"$src_workload"', 'span_kind="SPAN_KIND_CLIENT"');
const ROUTES_BUCKET = sel('traces_span_metrics_duration_milliseconds_bucket', 'service_name=~"$src_workload"', 'span_kind="SPAN_KIND_CLIENT"');

function edgeVariables(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  const base = 'meshtel_edge_requests_total';
  return d
    .withVariable(labelValuesVariable('src_namespace', base, 'src_namespace', { label: 'Source namespace', description: 'Namespace of the calling workload.' }))
    .withVariable(labelValuesVariable('src_workload', `${base}{src_namespace=~"$src_namespace"}`, 'src_workload', { label: 'Source', description: 'The calling workload.' }))
    .withVariable(labelValuesVariable('dst_namespace', `${base}{src_namespace=~"$src_namespace", src_workload=~"$src_workload"}`, 'dst_namespace', { label: 'Destination namespace', description: 'Namespace of the called workload.' }))
    .withVariable(
      labelValuesVariable('dst_workload', `${base}{src_namespace=~"$src_namespace", src_workload=~"$src_workload", dst_namespace=~"$dst_namespace"}`, 'dst_workload', { label: 'Destination', description: 'The called workload.' }),
    );
}

/** The shared golden-signal and TCP panels, in this dashboard's words. */
const SAY: GoldenWords = {
  success: 'Share of the requests on this edge that succeeded.',
  rps: 'Requests per second the source sent to the destination.',
  p99: '99th percentile latency of the requests, as the caller\u2019s proxies measured it.',
  mtls: 'Share of the requests on this edge sent over mutual TLS (1: the edge is secured).',
  byTls: 'Requests per second on this edge, split by whether they went over mutual TLS.',
  successOverTime: 'Share of the requests on this edge that succeeded, over time.',
  latencyTitle: 'Latency p50 / p95 / p99 (caller)',
  latency: 'Percentiles of the request latency as the caller\u2019s proxies measured it (network included).',
  tcpOpen: 'TCP connections open from the source to the destination.',
  tcpBytes: 'Bytes per second over the edge\u2019s connections, from the source\u2019s side (`sent`: towards the destination).',
  tcpClosed: 'Connections of the edge that closed per second, by outcome (`error` includes connects that failed).',
};

export function edgeDashboard(): dashboard.DashboardBuilder {
  const d = edgeVariables(newDashboard(UID.edge, 'meshtel / Edge', 'One caller \u2192 callee pair: requests split by mTLS, success, latency and TCP as the caller\u2019s proxies counted them, the server\u2019s view from paired spans, and the caller\u2019s routes.'));
  d.withRow(row('Golden signals (caller\u2019s proxies)'));
  for (const p of [...goldenStats(EDGE, SAY), ...goldenSeries(EDGE, SAY), serverView()]) d.withPanel(p);
  d.withRow(row('TCP'));
  for (const p of tcpPanels(EDGE, SAY)) d.withPanel(p);
  return d.withRow(row('Routes (client spans of the source)')).withPanel(routeRps()).withPanel(routeP99());
}

function serverView(): Panel {
  return timeseriesPanel(
    { title: 'p99 latency: server vs client (spans)', unit: UNIT.seconds, description: 'From the service graph (paired spans): p99 latency as the server saw it and as the client saw it; the gap is the network and the proxies.' },
    query('A', quantile(0.99, sel('traces_service_graph_request_server_seconds_bucket', ...SG)), { legend: 'server', exemplar: true }),
    query('B', quantile(0.99, sel('traces_service_graph_request_client_seconds_bucket', ...SG)), { legend: 'client', exemplar: true }),
  );
}

function routeRps(): Panel {
  return timeseriesPanel(
    { title: 'Client requests by route', unit: UNIT.rps, description: 'Client spans per second of the source by span name, from span metrics (all its destinations: span metrics carry no peer).' },
    query('A', `sum by (span_name) (${rate(ROUTES)})`, { legend: '{{span_name}}' }),
  );
}

function routeP99(): Panel {
  return timeseriesPanel(
    { title: 'Client p99 latency by route', unit: UNIT.milliseconds, description: '99th percentile duration of the source\u2019s client spans, by span name.' },
    query('A', quantile(0.99, ROUTES_BUCKET, ['span_name']), { legend: '{{span_name}}', exemplar: true }),
  ).links([jaegerLink('Traces of ${src_workload} in Jaeger', '${src_workload}')]);
}
