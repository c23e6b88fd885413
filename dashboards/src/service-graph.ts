/**
 * Service graph (`meshtel-service-graph`): Grafana's Node Graph panel over the service-graph
 * family (`traces_service_graph_*`, the one Tempo's service-graph view reads), and an edge table.
 *
 * How the Node Graph panel gets its two frames from Prometheus (docs: dashboards/README.md):
 * every query is an instant query in table format, so each gives one frame with a column per label
 * and one value column, which Grafana names `Value #<refId>`. The queries whose refId starts with
 * `nodes_` are joined on their labels by a merge transformation filtered to them, those starting
 * with `edges_` by another; an organize transformation then renames the value columns to the
 * field names the panel reads. A frame with a `source` field is the edges frame, the other the
 * nodes frame (Grafana's nodeGraph `getGraphFrame`).
 *
 * - node `id` = `<namespace>/<workload>` (label_join of `server_namespace`, `server` for the
 *   callee side, `client_namespace`, `client` for the caller side, so that callers that are never
 *   called, like the virtual client `user`, are nodes too: `/user`), `title` = the workload,
 *   `detail__namespace` = its namespace;
 *   `mainstat` = requests/s it received, `secondarystat` = p99 latency (ms) as it served them,
 *   `arc__success` / `arc__failure` = shares of those requests that succeeded / failed (a node that
 *   only calls gets 1 / 0).
 * - edge `id` = `<source>-><target>`, `source`, `target` = node ids, `mainstat` = requests/s,
 *   `secondarystat` = success rate, `detail__mtls` = share of the requests over mTLS (1: secured;
 *   0: plaintext), `detail__p99_ms` = p99 latency the server saw.
 */
import * as nodegraph from '@grafana/grafana-foundation-sdk/nodegraph';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { NS, PROM, UID, UNIT, type Panel, namespaceVariable, newDashboard, query, rate, row, sel, tablePanel, timeseriesPanel, dashboardUrl } from './common.js';

const F = NS('server_namespace');
const TOTAL = sel('traces_service_graph_request_total', F);
const FAILED = sel('traces_service_graph_request_failed_total', F);
const TLS = sel('traces_service_graph_request_total', F, 'tls="true"');
const SERVER_BUCKET = sel('traces_service_graph_request_server_seconds_bucket', F);

type Side = 'client' | 'server';
const NODE = ['id', 'title', 'detail__namespace'];
const EDGE = ['id', 'source', 'target'];

/** The series of `v` labelled as the node of one side: id, title, detail__namespace. */
function asNode(v: string, side: Side): string {
  const titled = `label_replace(label_replace(${v}, "title", "$1", "${side}", "(.*)"), "detail__namespace", "$1", "${side}_namespace", "(.*)")`;
  return `label_join(${titled}, "id", "/", "${side}_namespace", "${side}")`;
}

/** The series of `v` labelled as edges: source, target, id. */
function asEdge(v: string): string {
  const ends = `label_join(label_join(${v}, "source", "/", "client_namespace", "client"), "target", "/", "server_namespace", "server")`;
  return `label_join(${ends}, "id", "->", "source", "target")`;
}

function by(labels: string[], v: string): string {
  return `sum by (${labels.join(', ')}) (${v})`;
}

/** Requests/s received per node; callers that are never called get 0, so that they are nodes too. */
const nodeRps = `${by(NODE, asNode(rate(TOTAL), 'server'))} or 0 * ${by(NODE, asNode(rate(TOTAL), 'client'))}`;
const nodeFailure = `(${by(NODE, asNode(rate(FAILED), 'server'))} or 0 * ${by(NODE, asNode(rate(TOTAL), 'server'))}) / ${by(NODE, asNode(rate(TOTAL), 'server'))} or 0 * ${by(NODE, asNode(rate(TOTAL), 'client'))}`;
const edgeRps = by(EDGE, asEdge(rate(TOTAL)));
const edgeFailure = `(${by(EDGE, asEdge(rate(FAILED)))} or 0 * ${edgeRps}) / ${edgeRps}`;

/** The node graph's queries: refId, expression (exported for the live check). */
export const NODE_GRAPH_QUERIES: Record<string, string> = {
  nodes_mainstat: nodeRps,
  nodes_secondarystat: `1000 * histogram_quantile(0.99, ${by([...NODE, 'le'], asNode(rate(SERVER_BUCKET), 'server'))})`,
  nodes_arc__success: `1 - (${nodeFailure})`,
  nodes_arc__failure: nodeFailure,
  edges_mainstat: edgeRps,
  edges_secondarystat: `1 - ${edgeFailure}`,
  edges_detail__mtls: `(${by(EDGE, asEdge(rate(TLS)))} or 0 * ${edgeRps}) / ${edgeRps}`,
  edges_detail__p99_ms: `1000 * histogram_quantile(0.99, ${by([...EDGE, 'le'], asEdge(rate(SERVER_BUCKET)))})`,
};

/** The field each query's value column becomes: the refId without its `nodes_` / `edges_` prefix. */
export function nodeGraphField(refId: string): string {
  return refId.replace(/^(nodes|edges)_/, '');
}

export function serviceGraphDashboard(): dashboard.DashboardBuilder {
  return newDashboard(UID.serviceGraph, 'meshtel / Service graph', 'Who calls whom, from paired client and server spans (the service-graph metrics Tempo\u2019s service graph reads): requests, latency, failures and mTLS per node and per edge.')
    .withVariable(namespaceVariable())
    .withPanel(graph())
    .withPanel(edgeTable())
    .withRow(row('Over time'))
    .withPanel(edgeRpsOverTime())
    .withPanel(plaintextOverTime());
}

function graph(): Panel {
  const p = new nodegraph.PanelBuilder()
    .title('Service graph')
    .description('Nodes: workloads, with requests/s received (main), p99 latency in ms as served (second), and the share of failed requests in red on the ring. Edges: requests/s, success rate, and the share over mTLS (detail__mtls, 1 = secured). `user` is the virtual client of requests from outside the mesh.')
    .unit(UNIT.rps)
    .datasource(PROM)
    .span(24)
    .height(14)
    .nodes(
      new nodegraph.NodeOptionsBuilder()
        .mainStatUnit(UNIT.rps)
        .secondaryStatUnit(UNIT.milliseconds)
        .arcs([new nodegraph.ArcOptionBuilder().field('arc__success').color('green'), new nodegraph.ArcOptionBuilder().field('arc__failure').color('red')]),
    )
    .edges(new nodegraph.EdgeOptionsBuilder().mainStatUnit(UNIT.rps).secondaryStatUnit(UNIT.ratio));
  for (const [refId, expr] of Object.entries(NODE_GRAPH_QUERIES)) p.withTarget(query(refId, expr, { table: true }));
  const renameByName: Record<string, string> = {};
  for (const refId of Object.keys(NODE_GRAPH_QUERIES)) renameByName[`Value #${refId}`] = nodeGraphField(refId);
  p.withTransformation({ id: 'merge', filter: { id: 'byRefId', options: '/^nodes_/' }, options: {} });
  p.withTransformation({ id: 'merge', filter: { id: 'byRefId', options: '/^edges_/' }, options: {} });
  p.withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName } });
  p.overrideByName('title', [{ id: 'links', value: [{ title: 'Workload dashboard', url: dashboardUrl(UID.workload, { namespace: '${__data.fields.detail__namespace}', workload: '${__value.raw}' }) }] }]);
  return p;
}

function edgeTable(): Panel {
  const ends = { client_namespace: 'Source namespace', client: 'Source', server_namespace: 'Destination namespace', server: 'Destination' };
  const g = Object.keys(ends);
  const sum = (v: string): string => `sum by (${g.join(', ')}) (${v})`;
  const t = tablePanel(
    { title: 'Edges', unit: UNIT.none, h: 9, description: 'Every edge of the graph: requests/s, success rate, share over mTLS (1: secured, 0: plaintext) and p99 latency as the server saw it. Click a pair for the edge dashboard.' },
    ends,
    [
      { refId: 'RPS', header: 'RPS', unit: UNIT.rps, expr: sum(rate(TOTAL)) },
      { refId: 'SUCCESS', header: 'Success', unit: UNIT.ratio, expr: `1 - (${sum(rate(FAILED))} or 0 * ${sum(rate(TOTAL))}) / ${sum(rate(TOTAL))}` },
      { refId: 'MTLS', header: 'mTLS', unit: UNIT.ratio, expr: `(${sum(rate(TLS))} or 0 * ${sum(rate(TOTAL))}) / ${sum(rate(TOTAL))}` },
      { refId: 'P99', header: 'p99 (server)', unit: UNIT.seconds, expr: `histogram_quantile(0.99, sum by (le, ${g.join(', ')}) (${rate(SERVER_BUCKET)}))` },
    ],
  );
  return t.overrideByName('Destination', [
    {
      id: 'links',
      value: [{ title: 'Edge dashboard', url: dashboardUrl(UID.edge, { src_namespace: '${__data.fields["Source namespace"]}', src_workload: '${__data.fields.Source}', dst_namespace: '${__data.fields["Destination namespace"]}', dst_workload: '${__value.raw}' }) }],
    },
  ]);
}

function edgeRpsOverTime(): Panel {
  return timeseriesPanel(
    { title: 'Requests by edge', unit: UNIT.rps, description: 'Requests per second of each edge of the graph, over time.' },
    query('A', `sum by (client, server) (${rate(TOTAL)})`, { legend: '{{client}} \u2192 {{server}}' }),
  );
}

function plaintextOverTime(): Panel {
  return timeseriesPanel(
    { title: 'Plaintext requests by edge', unit: UNIT.rps, description: 'Requests per second of each edge that did not run over TLS. Requests from outside the mesh (`user`) are expected here; meshed pairs are not.' },
    query('A', `sum by (client, server) (${rate(sel('traces_service_graph_request_total', F, 'tls="false"'))})`, { legend: '{{client}} \u2192 {{server}}' }),
  );
}
