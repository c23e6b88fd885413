/** Mesh overview (`meshtel-overview`): the whole mesh at a glance, and every workload in one table. */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { NS, type Panel, UID, UNIT, dashboardUrl, namespaceVariable, newDashboard, quantile, query, rate, row, sel, share, statPanel, tablePanel, timeseriesPanel } from './common.js';

const REQ = sel('meshtel_workload_requests_total', NS());
const REQ_OK = sel('meshtel_workload_requests_total', NS(), 'classification="success"');
const REQ_TLS = sel('meshtel_workload_requests_total', NS(), 'tls="true"');
const BUCKET = sel('meshtel_workload_request_duration_seconds_bucket', NS());
const WL = ['namespace', 'workload'];

export function overviewDashboard(): dashboard.DashboardBuilder {
  return newDashboard(UID.overview, 'meshtel / Mesh overview', 'The whole mesh: traffic, success, latency and mTLS, from the proxies\u2019 golden metrics, and every workload.')
    .withVariable(namespaceVariable())
    .withRow(row('Mesh'))
    .withPanel(totalRps())
    .withPanel(successRate())
    .withPanel(p99())
    .withPanel(mtlsShare())
    .withPanel(edgeCount())
    .withPanel(workloadCount())
    .withRow(row('Workloads'))
    .withPanel(workloadTable())
    .withPanel(rpsByWorkload())
    .withPanel(successByWorkload())
    .withPanel(p99ByWorkload())
    .withPanel(mtlsByWorkload());
}

function totalRps(): Panel {
  return statPanel(
    { title: 'Requests', unit: UNIT.rps, w: 4, description: 'Requests per second received by the workloads of the selected namespaces, as their proxies counted them (every request, whatever the trace sampling).' },
    query('A', `sum(${rate(REQ)})`, { instant: true }),
  );
}

function successRate(): Panel {
  return statPanel(
    { title: 'Success rate', unit: UNIT.ratio, w: 4, min: 0, max: 1, description: 'Share of those requests that succeeded: gRPC status OK, or no HTTP 5xx, or no span error (meshtel\u2019s failure rule).' },
    query('A', `sum(${rate(REQ_OK)}) / sum(${rate(REQ)})`, { instant: true }),
  );
}

function p99(): Panel {
  return statPanel(
    { title: 'p99 latency', unit: UNIT.seconds, w: 4, description: '99th percentile of the inbound request latency over all workloads, as the serving proxies measured it.' },
    query('A', quantile(0.99, BUCKET), { instant: true }),
  );
}

function mtlsShare(): Panel {
  return statPanel(
    { title: 'mTLS share', unit: UNIT.ratio, w: 4, min: 0, max: 1, description: 'Share of the requests that arrived over mutual TLS. Requests from outside the mesh (an ingress, a load generator) are plaintext by nature.' },
    query('A', share(REQ_TLS, REQ), { instant: true }),
  );
}

function edgeCount(): Panel {
  return statPanel(
    { title: 'Edges', unit: UNIT.count, w: 4, description: 'Caller \u2192 callee pairs between meshed workloads that carried requests over the rate interval (from the callers\u2019 proxies).' },
    query('A', `count(sum by (src_namespace, src_workload, dst_namespace, dst_workload) (${rate(sel('meshtel_edge_requests_total', NS('src_namespace')))}) > 0)`, { instant: true }),
  );
}

function workloadCount(): Panel {
  return statPanel(
    { title: 'Workloads', unit: UNIT.count, w: 4, description: 'Workloads that received requests over the rate interval.' },
    query('A', `count(sum by (namespace, workload) (${rate(REQ)}) > 0)`, { instant: true }),
  );
}

function workloadTable(): Panel {
  const t = tablePanel(
    { title: 'Workloads', unit: UNIT.none, h: 9, description: 'Every workload, like `meshtel stat`: requests/s, success rate, latency percentiles and mTLS share of its inbound requests. Click a workload for its dashboard.' },
    { namespace: 'Namespace', workload: 'Workload' },
    [
      { refId: 'RPS', header: 'RPS', unit: UNIT.rps, expr: `sum by (namespace, workload) (${rate(REQ)})` },
      { refId: 'SUCCESS', header: 'Success', unit: UNIT.ratio, expr: `sum by (namespace, workload) (${rate(REQ_OK)}) / sum by (namespace, workload) (${rate(REQ)})` },
      { refId: 'P50', header: 'p50', unit: UNIT.seconds, expr: quantile(0.5, BUCKET, WL) },
      { refId: 'P95', header: 'p95', unit: UNIT.seconds, expr: quantile(0.95, BUCKET, WL) },
      { refId: 'P99', header: 'p99', unit: UNIT.seconds, expr: quantile(0.99, BUCKET, WL) },
      { refId: 'MTLS', header: 'mTLS', unit: UNIT.ratio, expr: share(REQ_TLS, REQ, WL) },
    ],
  );
  return t.overrideByName('Workload', [
    { id: 'links', value: [{ title: 'Workload dashboard', url: dashboardUrl(UID.workload, { namespace: '${__data.fields.Namespace}', workload: '${__value.raw}' }) }] },
  ]);
}

function rpsByWorkload(): Panel {
  return timeseriesPanel(
    { title: 'Requests by workload', unit: UNIT.rps, description: 'Inbound requests per second of each workload.' },
    query('A', `sum by (namespace, workload) (${rate(REQ)})`, { legend: '{{namespace}}/{{workload}}' }),
  );
}

function successByWorkload(): Panel {
  return timeseriesPanel(
    { title: 'Success rate by workload', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of each workload\u2019s inbound requests that succeeded.' },
    query('A', `sum by (namespace, workload) (${rate(REQ_OK)}) / sum by (namespace, workload) (${rate(REQ)})`, { legend: '{{namespace}}/{{workload}}' }),
  );
}

function p99ByWorkload(): Panel {
  return timeseriesPanel(
    { title: 'p99 latency by workload', unit: UNIT.seconds, description: '99th percentile of each workload\u2019s inbound request latency, as its proxies measured it.' },
    query('A', quantile(0.99, BUCKET, WL), { legend: '{{namespace}}/{{workload}}', exemplar: true }),
  );
}

function mtlsByWorkload(): Panel {
  return timeseriesPanel(
    { title: 'mTLS share by workload', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of each workload\u2019s inbound requests that arrived over mutual TLS.' },
    query('A', share(REQ_TLS, REQ, WL), { legend: '{{namespace}}/{{workload}}' }),
  );
}
