/** Security (`meshtel-security`): mTLS share by namespace and workload, plaintext edges, certificates. */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { NS, UNIT, UID, type Panel, dashboardUrl, namespaceVariable, newDashboard, query, rate, row, sel, share, tablePanel, timeseriesPanel } from './common.js';

const REQ = sel('meshtel_workload_requests_total', NS());
const REQ_TLS = sel('meshtel_workload_requests_total', NS(), 'tls="true"');
const EDGE_PLAIN = sel('meshtel_edge_requests_total', NS('src_namespace'), 'tls="false"');
const SG_PLAIN = sel('traces_service_graph_request_total', NS('server_namespace'), 'tls="false"');
const CERT = sel('meshtel_workload_identity_cert_expiration_timestamp_seconds', NS());

export function securityDashboard(): dashboard.DashboardBuilder {
  return newDashboard(UID.security, 'meshtel / Security', 'mTLS coverage of the mesh by namespace and workload, the edges that carry plaintext, and the workloads\u2019 identity certificates.')
    .withVariable(namespaceVariable())
    .withRow(row('mTLS'))
    .withPanel(mtlsByNamespace())
    .withPanel(mtlsByWorkload())
    .withPanel(workloadTable())
    .withRow(row('Plaintext'))
    .withPanel(plaintextEdges())
    .withPanel(plaintextEdgesSpans())
    .withRow(row('Certificates'))
    .withPanel(certificates());
}

function mtlsByNamespace(): Panel {
  return timeseriesPanel(
    { title: 'mTLS share by namespace', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of the requests received by each namespace\u2019s workloads that arrived over mutual TLS.' },
    query('A', share(REQ_TLS, REQ, ['namespace']), { legend: '{{namespace}}' }),
  );
}

function mtlsByWorkload(): Panel {
  return timeseriesPanel(
    { title: 'mTLS share by workload', unit: UNIT.ratio, min: 0, max: 1, description: 'Share of each workload\u2019s inbound requests that arrived over mutual TLS.' },
    query('A', share(REQ_TLS, REQ, ['namespace', 'workload']), { legend: '{{namespace}}/{{workload}}' }),
  );
}

function workloadTable(): Panel {
  const wl = ['namespace', 'workload'];
  return tablePanel(
    { title: 'Workloads by mTLS share', unit: UNIT.none, description: 'Every workload: requests/s received over mTLS and in plaintext, and the mTLS share. Click a workload for its dashboard.' },
    { namespace: 'Namespace', workload: 'Workload' },
    [
      { refId: 'MTLS', header: 'mTLS share', unit: UNIT.ratio, expr: share(REQ_TLS, REQ, wl) },
      { refId: 'SECURED', header: 'mTLS RPS', unit: UNIT.rps, expr: `sum by (namespace, workload) (${rate(REQ_TLS)}) or 0 * sum by (namespace, workload) (${rate(REQ)})` },
      { refId: 'PLAIN', header: 'Plaintext RPS', unit: UNIT.rps, expr: `sum by (namespace, workload) (${rate(sel('meshtel_workload_requests_total', NS(), 'tls="false"'))}) or 0 * sum by (namespace, workload) (${rate(REQ)})` },
    ],
  ).overrideByName('Workload', [{ id: 'links', value: [{ title: 'Workload dashboard', url: dashboardUrl(UID.workload, { namespace: '${__data.fields.Namespace}', workload: '${__value.raw}' }) }] }]);
}

function plaintextEdges(): Panel {
  const g = ['src_namespace', 'src_workload', 'dst_namespace', 'dst_workload'];
  return tablePanel(
    { title: 'Plaintext edges between meshed workloads', unit: UNIT.none, description: 'Edges whose caller\u2019s proxy sent requests without mTLS over the rate interval. Between two meshed workloads this should be empty (alert MeshtelPlaintextBetweenMeshedWorkloads).' },
    { src_namespace: 'Source namespace', src_workload: 'Source', dst_namespace: 'Destination namespace', dst_workload: 'Destination' },
    [{ refId: 'RPS', header: 'Plaintext RPS', unit: UNIT.rps, expr: `sum by (${g.join(', ')}) (${rate(EDGE_PLAIN)}) > 0` }],
  ).overrideByName('Destination', [
    {
      id: 'links',
      value: [{ title: 'Edge dashboard', url: dashboardUrl(UID.edge, { src_namespace: '${__data.fields["Source namespace"]}', src_workload: '${__data.fields.Source}', dst_namespace: '${__data.fields["Destination namespace"]}', dst_workload: '${__value.raw}' }) }],
    },
  ]);
}

function plaintextEdgesSpans(): Panel {
  const g = ['client_namespace', 'client', 'server_namespace', 'server'];
  return tablePanel(
    { title: 'Plaintext edges (from spans)', unit: UNIT.none, description: 'Service-graph edges (paired spans) that did not run over TLS, including the virtual client `user` (requests from outside the mesh, plaintext by nature).' },
    { client_namespace: 'Client namespace', client: 'Client', server_namespace: 'Server namespace', server: 'Server' },
    [{ refId: 'RPS', header: 'Plaintext RPS', unit: UNIT.rps, expr: `sum by (${g.join(', ')}) (${rate(SG_PLAIN)}) > 0` }],
  );
}

function certificates(): Panel {
  return tablePanel(
    { title: 'Identity certificates', unit: UNIT.none, description: 'Time left until each workload\u2019s soonest-expiring mTLS identity certificate expires (alert MeshtelWorkloadCertificateExpiringSoon).' },
    { namespace: 'Namespace', workload: 'Workload' },
    [{ refId: 'LEFT', header: 'Expires in', unit: UNIT.seconds, expr: `min by (namespace, workload) (${CERT}) - time()` }],
  );
}
