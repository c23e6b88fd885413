/**
 * The shipped dashboards against real data (issue 8): the example mesh feeds a collector, a real
 * Prometheus scrapes it and evaluates the shipped rules (the SLO dashboard reads their recording
 * rules). `auth` fails 5% of its requests, so that the error panels have data whatever the
 * machine's load (left alone, failures come and go with the timeouts of a loaded machine);
 * `student` is slowed past its latency SLO, so that an SLO burns and its alert fires; and one outside client closes its connection, so that a workload's
 * closed connections have a series whatever the keep-alive timing. Every variable query runs (`label_values` through Prometheus' label API) and yields
 * values; every target of every panel, its variables substituted, runs through `/api/v1/query` and
 * returns data for at least one combination of the variables' values (a workload with no callers
 * has no "inbound by source", but some workload has). What cannot have data in this setup is
 * listed, with the reason, in dashboards/live-check-exceptions.yml; an exception that no longer
 * applies fails the test too, so the list stays true.
 *
 * The pipeline-health dashboard needs the whole pipeline: the collector the mesh sends to (all
 * mode) exports its traces to a gateway (tail-sampled) and to an endpoint nothing listens on (sends
 * fail, are retried, given up; its tiny queue overflows); the gateway writes them to Kafka
 * (librdkafka's mock cluster); an aggregator reads them into a one-item service-graph store, so
 * that spans are dropped and expire unpaired. That store makes a service graph of its own, which
 * would blur the mesh's, so the three collectors are scraped (as job `meshtel`) by a second
 * Prometheus, the one the pipeline dashboard is checked against.
 *
 * Then the service-graph panel: its queries, merged and renamed as the panel's transformations say,
 * must give the nodes and edges of the example mesh with the right mTLS flags. And the exemplars:
 * every target that asks for them gets them from Prometheus where the data has them, and each one
 * names a span the collector exported (to an OTLP stand-in for Jaeger).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../collector/collector.js';
import { serviceHost } from '../../demo/topology.js';
import { configSchema } from '../../collector/config/schema.js';
import { ensureBuilt, ROOT, startCollector as startCollectorProcess } from '../support/collector-process.js';
import { MockKafka, startAggregator } from '../support/kafka.js';
import { RunningMesh } from '../support/mesh.js';
import { JaegerOtlpStandin } from '../support/jaeger-standins.js';
import { stopAll, waitFor } from '../support/processes.js';
import { Prometheus } from '../support/prometheus.js';
import { requireProgram } from '../support/system-packages.js';

interface Target {
  refId: string;
  expr: string;
  exemplar?: boolean;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  transformations?: { id: string; options: { renameByName?: Record<string, string> } }[];
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  includeAll?: boolean;
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Exception {
  dashboard: string;
  panel: string;
  refId: string;
  reason: string;
}

const DIR = join(ROOT, 'dashboards');
const dashboards = readdirSync(DIR)
  .filter((f) => /^meshtel-.*\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Dashboard);
const exceptions = (parse(readFileSync(join(DIR, 'live-check-exceptions.yml'), 'utf8')) as { exceptions: Exception[] }).exceptions;

/** Grafana's `$__rate_interval` for a 1 s scrape interval is 4 scrapes; a little more absorbs jitter. */
const RATE_INTERVAL = '15s';

type Binding = Record<string, string>;

/** Replaces `$name`, `${name}` and `${name:fmt}` as Grafana does (regex values for multi variables). */
function substitute(text: string, b: Binding): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a: string | undefined, c: string | undefined) => {
    const name = (a ?? c)!;
    if (name === '__rate_interval') return RATE_INTERVAL;
    return b[name] ?? m;
  });
}

let collector: Collector;
let mesh: RunningMesh;
/** Stands in for Jaeger: every span the collector exports. */
let jaeger: JaegerOtlpStandin;
/** Scrapes `collector` only, and evaluates the shipped rules: every dashboard but the pipeline's. */
let prometheus: Prometheus;
/** Scrapes `collector`, the gateway and the aggregator: the pipeline dashboard. */
let pipelinePrometheus: Prometheus;
const cleanup: (() => Promise<unknown>)[] = [];

/** The Prometheus a dashboard is checked against. */
const prometheusFor = (uid: string): Prometheus => (uid === 'meshtel-pipeline' ? pipelinePrometheus : prometheus);

async function labelValues(p: Prometheus, query: string, b: Binding): Promise<string[]> {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(substitute(query, b));
  if (m === null) throw new Error(`not a label_values query: ${query}`);
  const params = new URLSearchParams({ 'match[]': m[1]!, start: String(Date.now() / 1000 - 600) });
  const res = (await (await fetch(`${p.url}/api/v1/label/${m[2]}/values?${params.toString()}`)).json()) as { status: string; data: string[]; error?: string };
  if (res.status !== 'success') throw new Error(`${query}: ${res.error}`);
  return res.data;
}

/** Every combination of the dashboard's variable values, each variable's query run with the ones before it. */
async function bindings(d: Dashboard, problems: string[]): Promise<Binding[]> {
  let out: Binding[] = [{}];
  for (const v of d.templating.list) {
    if (v.type === 'datasource') continue;
    const next: Binding[] = [];
    for (const b of out) {
      const values = await labelValues(prometheusFor(d.uid), v.query!, b);
      if (values.length === 0) problems.push(`${d.uid}: variable ${v.name} has no values with ${JSON.stringify(b)}`);
      for (const value of values) next.push({ ...b, [v.name]: escapeRegex(value) });
      if (v.includeAll === true) next.push({ ...b, [v.name]: '.*' });
    }
    out = next;
  }
  return out;
}

/** Grafana's escaping of a multi-value variable's value: regex-escaped, then backslashes doubled for the PromQL string. */
function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\/g, '\\\\');
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * One request to `student` from an outside client that closes its connection after the answer,
 * as the load generator's requests but without keep-alive: the load generator keeps its
 * connections open while the load runs, so otherwise no connection to a workload need close.
 */
async function oneClosedConnection(m: RunningMesh): Promise<void> {
  const status = await m.call<{ processes: { pods: string[]; ports: { inboundPlain: number } }[] }>('GET', '/status');
  const port = status.processes.find((p) => p.pods.some((pod) => pod.startsWith('student')))!.ports.inboundPlain;
  const code = await new Promise<number | undefined>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/student/1', agent: false, headers: { host: serviceHost('student'), connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer from student within 30s')));
    req.on('error', reject);
  });
  expect(code, 'the answer of student to an outside client').toBe(200);
}

/** Polls until `promql` gives at least `n` series (generous: two shared cores run all of this). */
async function waitForSeries(p: Prometheus, promql: string, n = 1): Promise<void> {
  await p.waitForQuery(`count(${promql})`, (s) => (Number(s[0]?.value[1] ?? 0) >= n ? true : undefined), 90_000);
}

beforeAll(async () => {
  ensureBuilt();
  requireProgram('prometheus');
  cleanup.push(() => stopAll()); // last: whatever a failed start left running
  const dir = mkdtempSync(join(tmpdir(), 'meshtel-e2e-dashboards-'));
  cleanup.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));

  // The Kafka tier: a gateway writing to Kafka, an aggregator reading it into a one-item pairing
  // store (most spans dropped: traces_service_graph_dropped_spans_total; halves whose other half
  // was dropped expire unpaired: ..._unpaired_spans_total).
  const kafka = await MockKafka.start(1);
  cleanup.push(() => kafka.stop());
  const config = join(dir, 'aggregator.yaml');
  writeFileSync(config, 'aggregation:\n  service_graph:\n    store_ttl: 1s\n    store_max_items: 1\n');
  const kafkaArgs = ['--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
  const [aggregator, gateway] = await Promise.all([
    startAggregator(['--config', config, ...kafkaArgs]),
    startCollectorProcess([...kafkaArgs, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']),
  ]);
  cleanup.push(() => aggregator.process.stop(), () => gateway.process.stop());

  // The collector the mesh sends to, with three trace exporters: to the Jaeger stand-in (every
  // span, so that each exemplar's span can be found there); to the gateway, tail-sampled (spans
  // sampled out, others awaiting their decision), and to a port nothing listens on with a budget
  // (spans sampled out by it), a small queue (full: enqueue failures) and quick retries (given up).
  const nowhere = await closedPort();
  jaeger = await new JaegerOtlpStandin().start();
  cleanup.push(() => jaeger.stop());
  collector = new Collector(
    configSchema.parse({
      receivers: { otlp: { endpoint: '127.0.0.1:0' } },
      admin: { endpoint: '127.0.0.1:0' },
      aggregation: { service_graph: { store_ttl: '1s' } },
      exporters: {
        traces: [
          { name: 'jaeger', endpoint: jaeger.endpoint },
          { name: 'gateway', endpoint: `http://${gateway.otlp}`, tail_sampling: { decision_wait: '1s', others: { rate: 50 } } },
          {
            name: 'unreachable',
            endpoint: `http://127.0.0.1:${nowhere}`,
            timeout: '1s',
            queue: { capacity: 50 },
            budget: { spans: { rate: 100 } },
            retry: { initial_interval: '100ms', max_interval: '200ms', max_elapsed_time: '500ms' },
          },
        ],
      },
      shutdown_timeout: '2s',
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  cleanup.push(() => collector.shutdown());
  mesh = await RunningMesh.start(collector.otlpAddress, { rate: 50 });
  cleanup.push(() => mesh.stop());
  // student answers in 400 ms, past its latency SLO's 300 ms (alerts/slo.yml): that SLO burns its
  // budget and its burn alert fires, whatever the machine's load.
  await mesh.call('PUT', '/faults/student', { latency_ms: 400 });
  await mesh.call('PUT', '/faults/auth', { error_rate: 0.05 });

  const rules = readdirSync(join(ROOT, 'alerts'))
    .filter((f) => f.endsWith('.rules.yml'))
    .map((f) => join(ROOT, 'alerts', f));
  [prometheus, pipelinePrometheus] = await Promise.all([
    Prometheus.start({ targets: { meshtel: collector.adminAddress }, ruleFiles: rules }),
    Prometheus.start({ targets: { meshtel: [collector.adminAddress, gateway.admin, aggregator.admin] } }),
  ]);
  cleanup.push(() => prometheus.stop(), () => pipelinePrometheus.stop());
  await Promise.all([prometheus.waitForTargetsUp(), pipelinePrometheus.waitForTargetsUp()]);
  await mesh.waitForAnswers(200);
  await oneClosedConnection(mesh);
  // Enough scrapes for every rate over RATE_INTERVAL, and the recording rules evaluated: every SLO
  // of alerts/slo.yml has its error budget.
  const slos = (parse(readFileSync(join(ROOT, 'alerts', 'slo.yml'), 'utf8')) as { slos: unknown[] }).slos.length;
  await waitForSeries(prometheus, `sum by (workload) (rate(meshtel_workload_requests_total[${RATE_INTERVAL}])) > 0`, 4);
  await waitForSeries(prometheus, `sum by (client, server) (rate(traces_service_graph_request_total[${RATE_INTERVAL}])) > 0`, 4);
  await waitForSeries(prometheus, 'meshtel:slo_error_budget_remaining:ratio', slos);
  await waitForSeries(prometheus, 'ALERTS{alertname="MeshtelErrorBudgetBurn", slo="student-latency"}');
  await waitForSeries(prometheus, `rate(meshtel_workload_tcp_closed_connections_total{workload="student"}[${RATE_INTERVAL}])`);
  // The pipeline's series that are not there from the start (the others are created at 0), each
  // scraped long enough for a rate: spans through Kafka, dropped and unpaired, sends given up.
  for (const q of [
    `rate(meshtel_kafka_consumed_messages_total{outcome="processed", topic="otlp_spans"}[${RATE_INTERVAL}]) > 0`,
    'meshtel_kafka_consumer_lag',
    `rate(traces_service_graph_dropped_spans_total[${RATE_INTERVAL}])`,
    `rate(traces_service_graph_unpaired_spans_total[${RATE_INTERVAL}])`,
    `rate(meshtel_exporter_sent_spans_total{exporter="gateway"}[${RATE_INTERVAL}]) > 0`,
    `rate(meshtel_exporter_send_failed_spans_total{exporter="unreachable", reason="retries_exhausted"}[${RATE_INTERVAL}]) > 0`,
  ])
    await waitForSeries(pipelinePrometheus, q);
}, 240_000);

afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
}, 60_000);

describe('every query of every dashboard returns data from the example mesh', () => {
  it.each(dashboards.map((d) => ({ uid: d.uid, d })))('$uid', async ({ d }) => {
    const problems: string[] = [];
    const all = await bindings(d, problems);
    expect(all.length, `${d.uid}: variable combinations`).toBeGreaterThan(0);
    const excepted = exceptions.filter((e) => e.dashboard === d.uid);
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        let data = false;
        for (const b of all) {
          if ((await prometheusFor(d.uid).query(substitute(t.expr, b))).length > 0) {
            data = true;
            break;
          }
        }
        const exception = excepted.find((e) => e.panel === p.title && e.refId === t.refId);
        if (!data && exception === undefined) problems.push(`${d.uid} / ${p.title} / ${t.refId}: no data for any of ${all.length} variable combinations: ${t.expr}`);
        if (data && exception !== undefined) problems.push(`${d.uid} / ${p.title} / ${t.refId}: listed as an exception (${exception.reason}) but has data: remove it`);
      }
    }
    for (const e of excepted) {
      if (!d.panels.some((p) => p.title === e.panel && (p.targets ?? []).some((t) => t.refId === e.refId))) problems.push(`exception for a target that does not exist: ${JSON.stringify(e)}`);
    }
    expect(problems).toEqual([]);
  }, 120_000);
});

/** The node graph's frames, as the panel's transformations make them from the queries' rows. */
async function nodeGraphFrames(): Promise<{ nodes: Record<string, string | number>[]; edges: Record<string, string | number>[] }> {
  const d = dashboards.find((x) => x.uid === 'meshtel-service-graph')!;
  const panel = d.panels.find((p) => p.type === 'nodeGraph')!;
  const rename = panel.transformations!.find((t) => t.id === 'organize')!.options.renameByName!;
  const frames = { nodes: new Map<string, Record<string, string | number>>(), edges: new Map<string, Record<string, string | number>>() };
  // Every query at one instant, as Grafana runs a panel's queries: the success and failure arcs
  // of a node then add up to 1.
  const at = Math.floor(Date.now() / 1000) - 1;
  for (const t of panel.targets!) {
    const kind = t.refId.startsWith('nodes_') ? 'nodes' : 'edges';
    for (const s of await prometheus.query(substitute(t.expr, { namespace: '.*' }), at)) {
      const labels = Object.fromEntries(Object.entries(s.metric).sort());
      const key = JSON.stringify(labels);
      const row = frames[kind].get(key) ?? { ...labels };
      row[rename[`Value #${t.refId}`]!] = Number(s.value[1]);
      frames[kind].set(key, row);
    }
  }
  return { nodes: [...frames.nodes.values()], edges: [...frames.edges.values()] };
}

describe('the service-graph panel', () => {
  it('yields the nodes and edges of the example mesh, with the right mTLS flags', async () => {
    const { nodes, edges } = await nodeGraphFrames();
    expect(nodes.map((n) => n.title).sort()).toEqual(['auth', 'number', 'score', 'student', 'user']);
    for (const n of nodes) {
      expect(n.id).toBe(`${n.detail__namespace ?? ''}/${n.title}`);
      expect(typeof n.mainstat).toBe('number');
      expect((n.arc__success as number) + (n.arc__failure as number)).toBeCloseTo(1, 9);
    }
    expect(nodes.find((n) => n.title === 'user')!.mainstat).toBe(0);
    const ids = new Set(nodes.map((n) => n.id));
    const got = Object.fromEntries(edges.map((e): [string, unknown] => [String(e.id), e.detail__mtls]));
    expect(got).toEqual({
      '/user->default/student': 0,
      'default/student->default/auth': 1,
      'default/student->default/number': 1,
      'default/number->default/score': 1,
    });
    for (const e of edges) {
      expect(ids.has(e.source as string) && ids.has(e.target as string), `edge ${e.id} ends on nodes`).toBe(true);
      expect(e.mainstat as number).toBeGreaterThan(0);
      expect(e.secondarystat as number).toBeGreaterThan(0.9);
    }
  }, 60_000);
});

interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

/** Prometheus' `/api/v1/query_exemplars` over the last ten minutes, as Grafana asks for them. */
async function queryExemplars(p: Prometheus, promql: string): Promise<ExemplarSeries[]> {
  const now = Date.now() / 1000;
  const params = new URLSearchParams({ query: promql, start: String(now - 600), end: String(now) });
  const res = (await (await fetch(`${p.url}/api/v1/query_exemplars?${params.toString()}`)).json()) as { status: string; data: ExemplarSeries[]; error?: string };
  if (res.status !== 'success') throw new Error(`exemplars of ${promql}: ${res.error}`);
  return res.data;
}

/**
 * The golden latency histograms come from the proxies' own metrics, and the example mesh's
 * proxies (the OpenTelemetry JS metrics SDK) attach no exemplars to them: meshtel passes the
 * proxies' exemplars through and invents none, so these targets must have none here.
 */
const PROXY_HISTOGRAMS = /meshtel_(workload|edge)_request_duration_seconds_bucket/;

describe('exemplars', () => {
  it('every target that asks for them gets exemplars from span data, each naming a span the collector exported', async () => {
    const problems: string[] = [];
    const named: { target: string; traceId: string; spanId: string }[] = [];
    for (const d of dashboards) {
      const all = await bindings(d, problems);
      for (const p of d.panels) {
        for (const t of (p.targets ?? []).filter((x) => x.exemplar === true)) {
          const target = `${d.uid} / ${p.title} / ${t.refId}`;
          let found: ExemplarSeries[] = [];
          for (const b of all) {
            found = (await queryExemplars(prometheusFor(d.uid), substitute(t.expr, b))).filter((x) => x.exemplars.length > 0);
            if (found.length > 0) break;
          }
          const fromProxies = PROXY_HISTOGRAMS.test(t.expr);
          if (fromProxies && found.length > 0) problems.push(`${target}: exemplars on a proxy histogram, which the example mesh's proxies never send`);
          if (!fromProxies && found.length === 0) problems.push(`${target}: no exemplars for any of ${all.length} variable combinations: ${t.expr}`);
          for (const f of found) {
            const le = Number(f.seriesLabels.le === '+Inf' ? Infinity : f.seriesLabels.le);
            for (const x of f.exemplars) {
              if (!(Number(x.value) <= le)) problems.push(`${target}: exemplar ${x.value} above its bucket's bound ${f.seriesLabels.le}`);
              named.push({ target, traceId: x.labels.trace_id ?? '', spanId: x.labels.span_id ?? '' });
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(named.length).toBeGreaterThan(0);
    // The exporter sends a span within its batch timeout of the scrape that showed its exemplar.
    const exported = () => {
      const ids = new Set<string>();
      for (const data of jaeger.accepted) for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) for (const x of ss.spans) ids.add(`${x.traceId}/${x.spanId}`);
      return ids;
    };
    const missing = await waitFor(
      'every exemplar span exported',
      () => {
        const ids = exported();
        const left = named.filter((n) => !ids.has(`${n.traceId}/${n.spanId}`));
        return left.length === 0 ? left : undefined;
      },
      30_000,
      250,
    ).catch(() => named.filter((n) => !exported().has(`${n.traceId}/${n.spanId}`)));
    expect(missing).toEqual([]);
  }, 120_000);
});
