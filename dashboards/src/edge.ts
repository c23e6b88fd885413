/**
 * Edge (`meshtel-edge`, variables `src_namespace`, `src_workload`, `dst_namespace`,
 * `dst_workload`): one caller -> callee pair as the caller's proxies saw it, the server's view
 * from the service graph, and the caller's routes (client spans).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { UNIT, UID, type Panel, jaegerLink, labelValuesVariable, newDashboard, quantile, query, rate, row, sel, share, statPanel, timeseriesPanel } from './common.js';

const E = ['src_namespace=~"$src_namespace"', 'src_workload=~"$src_workload"', 'dst_namespace=~"$dst_namespace"', 'dst_workload=~"$dst_workload"'];
const REQ = sel('meshtel_edge_requests_total', ...E);
const REQ_OK = sel('meshtel_edge_requests_total', ...E, 'classification="success"');
const REQ_TLS = sel('meshtel_edge_requests_total', ...E, 'tls="true"');
const BUCKET = sel('meshtel_edge_request_duration_seconds_bucket', ...E);
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

export function edgeDashboard(): dashboard.DashboardBuilder {
  return edgeVariables(newDashboard(UID.edge, 'meshtel / Edge', 'One caller \u2192 callee pair: requests split by mTLS, success, latency and TCP as the caller\u2019s proxies counted them, the server\u2019s view from paired spans, and the caller\u2019s routes.'))
    .withRow(row('Golden signals (caller\u2019s proxies)'))
    .withPanel(successStat())
    .withPanel(rpsStat())
    .withPanel(p99Stat())
    .withPanel(mtlsStat())
    .withPanel(rpsByTls())
    .withPanel(successRate())
    .withPanel(latency())
    .withPanel(serverView())
    .withRow(row('TCP'))
    .withPanel(tcpOpen())
    .withPanel(tcpBytes())
    .withPanel(tcpClosed())
    .withRow(row('Routes (client spans of the source)'))
    .withPanel(routeRps())
    .withPanel(routeP99());
}

function successStat(): Panel {
  return statPanel({ title: 'Success rate', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of the requests on this edge that succeeded.' }, query('A', `sum(${rate(REQ_OK)}) / sum(${rate(REQ)})`, { instant: true }));
}

function rpsStat(): Panel {
  return statPanel({ title: 'Requests', unit: UNIT.rps, description: 'Requests per second the source sent to the destination.' }, query('A', `sum(${rate(REQ)})`, { instant: true }));
}

function p99Stat(): Panel {
  return statPanel({ title: 'p99 latency', unit: UNIT.seconds, description: '99th percentile latency of the requests, as the caller\u2019s proxies measured it.' }, query('A', quantile(0.99, BUCKET), { instant: true }));
}

function mtlsStat(): Panel {
  return statPanel({ title: 'mTLS share', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of the requests on this edge sent over mutual TLS (1: the edge is secured).' }, query('A', share(REQ_TLS, REQ), { instant: true }));
}

function rpsByTls(): Panel {
  return timeseriesPanel(
    { title: 'Requests: mTLS vs plaintext', unit: UNIT.rps, description: 'Requests per second on this edge, split by whether they went over mutual TLS.' },
    query('A', `sum(${rate(sel('meshtel_edge_requests_total', ...E, 'tls="true"'))})`, { legend: 'mTLS' }),
    query('B', `sum(${rate(sel('meshtel_edge_requests_total', ...E, 'tls="false"'))})`, { legend: 'plaintext' }),
  );
}

function successRate(): Panel {
  return timeseriesPanel({ title: 'Success rate', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of the requests on this edge that succeeded, over time.' }, query('A', `sum(${rate(REQ_OK)}) / sum(${rate(REQ)})`, { legend: 'success rate' }));
}

function latency(): Panel {
  return timeseriesPanel(
    { title: 'Latency p50 / p95 / p99 (caller)', unit: UNIT.seconds, description: 'Percentiles of the request latency as the caller\u2019s proxies measured it (network included).' },
    query('A', quantile(0.5, BUCKET), { legend: 'p50', exemplar: true }),
    query('B', quantile(0.95, BUCKET), { legend: 'p95', exemplar: true }),
    query('C', quantile(0.99, BUCKET), { legend: 'p99', exemplar: true }),
  );
}

function serverView(): Panel {
  return timeseriesPanel(
    { title: 'p99 latency: server vs client (spans)', unit: UNIT.seconds, description: 'From the service graph (paired spans): p99 latency as the server saw it and as the client saw it; the gap is the network and the proxies.' },
    query('A', quantile(0.99, sel('traces_service_graph_request_server_seconds_bucket', ...SG)), { legend: 'server', exemplar: true }),
    query('B', quantile(0.99, sel('traces_service_graph_request_client_seconds_bucket', ...SG)), { legend: 'client', exemplar: true }),
  );
}

function tcpOpen(): Panel {
  return timeseriesPanel(
    { title: 'Open TCP connections', unit: UNIT.count, w: 8, description: 'TCP connections open from the source to the destination.' },
    query('A', `sum(${sel('meshtel_edge_tcp_open_connections', ...E)})`, { legend: 'open' }),
  );
}

function tcpBytes(): Panel {
  return timeseriesPanel(
    { title: 'TCP bytes', unit: UNIT.bytesPerSecond, w: 8, description: 'Bytes per second over the edge\u2019s connections, from the source\u2019s side (`sent`: towards the destination).' },
    query('A', `sum by (direction) (${rate(sel('meshtel_edge_tcp_bytes_total', ...E))})`, { legend: '{{direction}}' }),
  );
}

function tcpClosed(): Panel {
  return timeseriesPanel(
    { title: 'TCP connections closed', unit: UNIT.perSecond, w: 8, description: 'Connections of the edge that closed per second, by outcome (`error` includes connects that failed).' },
    query('A', `sum by (outcome) (${rate(sel('meshtel_edge_tcp_closed_connections_total', ...E))})`, { legend: '{{outcome}}' }),
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
