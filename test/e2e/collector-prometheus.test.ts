/**
 * End to end: a collector fed by the official OpenTelemetry JS SDK and exporters (protobuf and
 * JSON), scraped by a real Prometheus. What Prometheus stores, what the query API answers and what
 * promtool says of the exposition are compared with the ground truth of the traffic sent.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EdgesResponse, StatResponse, WorkloadStat } from '../../collector/api/views.js';
import { Collector } from '../../collector/collector.js';
import { loadConfig } from '../../collector/config/load.js';
import { parseOpenMetrics, parseSeries } from '../golden/exposition.js';
import { waitFor } from '../support/processes.js';
import { Prometheus, type PromSample } from '../support/prometheus.js';
import { driveTopology, PreexistingProxy, SeriesMap, type ExpectedWorkload, type GroundTruth } from '../support/sdk-topology.js';
import { requireProgram } from '../support/system-packages.js';

/** Labels Prometheus adds or that identify the family; the rest identify a series. */
const SCRAPE_LABELS = new Set(['__name__', 'job', 'instance']);

function byLabels(samples: PromSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const labels = Object.fromEntries(Object.entries(s.metric).filter(([k]) => !SCRAPE_LABELS.has(k)));
    out[SeriesMap.key(labels)] = Number(s.value[1]);
  }
  return out;
}

/** Same series, and each value equal to the expected one within floating-point rounding. */
function expectClose(actual: Record<string, number>, expected: SeriesMap, what: string): void {
  const want = expected.toObject();
  expect(Object.keys(actual).sort(), `${what}: series`).toEqual(Object.keys(want).sort());
  for (const [key, value] of Object.entries(want)) expect(actual[key], `${what} ${key}`).toBeCloseTo(value, 9);
}

/** Prometheus' histogram_quantile over explicit buckets (an independent oracle for span-derived latency). */
function histogramQuantile(q: number, bounds: number[], values: { seconds: number; weight: number }[]): number | null {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v.seconds <= b);
    counts[i === -1 ? bounds.length : i]! += v.weight;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (cumulative + c >= rank && c > 0) {
      if (i === bounds.length) return bounds[bounds.length - 1]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + ((bounds[i]! - lower) * (rank - cumulative)) / c;
    }
    cumulative += c;
  }
  return bounds[bounds.length - 1]!;
}

describe('collector fed by the OpenTelemetry SDK, scraped by Prometheus', () => {
  let dir: string;
  let collector: Collector;
  let prometheus: Prometheus;
  let truth: GroundTruth;
  /** A moment before the collector started: no rate can cover more time than has passed since. */
  let startedBefore: number;

  const admin = (path: string) => fetch(`http://${collector.adminAddress}${path}`);

  beforeAll(async () => {
    // A proxy that counted before the collector existed; its first point must only be a baseline.
    const preexisting = await PreexistingProxy.record();
    await waitFor('the wall clock to pass the pre-existing stream start', () => (Date.now() > preexisting.startTimeMs + 5 ? true : undefined), 5_000, 2);

    dir = mkdtempSync(join(tmpdir(), 'meshtel-e2e-prom-'));
    const configFile = join(dir, 'meshtel.yaml');
    // A short store TTL so that the database edge and the unpaired spans expire within the test.
    writeFileSync(configFile, 'aggregation:\n  service_graph:\n    store_ttl: 1s\n');
    startedBefore = Date.now();
    collector = new Collector(loadConfig({ file: configFile, flags: { 'otlp-endpoint': '127.0.0.1:0', 'admin-endpoint': '127.0.0.1:0' } }), {
      logger: pino({ level: 'silent' }),
    });
    await collector.start();
    prometheus = await Prometheus.start({ targets: { meshtel: collector.adminAddress }, scrapeInterval: '1s' });

    truth = await driveTopology(collector.otlpAddress, { preexisting });

    // Expiry runs on the collector's own 1s tick: wait until no half-edge is pending any more ...
    await waitFor('the service-graph store to drain', async () => {
      const text = await (await admin('/metrics')).text();
      return /^meshtel_servicegraph_store_items 0$/m.test(text) ? true : undefined;
    }, 10_000);
    // ... and for a scrape that started after that: from then on Prometheus holds the final values.
    const settled = Date.now();
    await prometheus.waitForQuery('timestamp(up{job="meshtel"} == 1)', (s) => (s.length === 1 && Number(s[0]!.value[1]) * 1000 > settled ? true : undefined), 15_000);
  });

  afterAll(async () => {
    await collector?.shutdown();
    await prometheus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('span metrics: calls and duration histograms per service, span name, kind and status', async () => {
    const sm = truth.spanMetrics;
    expect(byLabels(await prometheus.query('traces_span_metrics_calls_total'))).toEqual(sm.calls.toObject());
    expect(byLabels(await prometheus.query('traces_span_metrics_duration_milliseconds_count'))).toEqual(sm.durationCount.toObject());
    expectClose(byLabels(await prometheus.query('traces_span_metrics_duration_milliseconds_sum')), sm.durationSumMs, 'duration sum');
    expect(byLabels(await prometheus.query('traces_span_metrics_duration_milliseconds_bucket'))).toEqual(sm.durationBuckets.toObject());

    // The sampled share: each kept span of the p=0.25 replica counts 4 times.
    const { service, spanName, probability, kept } = truth.sampling;
    expect(probability).toBe(0.25);
    const stock = await prometheus.query(`sum(traces_span_metrics_calls_total{service_name="${service}",span_name="${spanName}"})`);
    expect(Number(stock[0]?.value[1])).toBe(kept / probability);
    // HTTP 404 with span status ERROR keeps STATUS_CODE_ERROR in span metrics (it is not a failed request).
    const notFound = await prometheus.query('traces_span_metrics_calls_total{service_name="inventory",status_code="STATUS_CODE_ERROR"}');
    expect(notFound.map((s) => Number(s.value[1]))).toEqual([1 / probability]);
  });

  test('service graph: paired edges, the user and database virtual nodes, messaging, failures, tls and namespaces', async () => {
    const sg = truth.serviceGraph;
    expect(byLabels(await prometheus.query('traces_service_graph_request_total'))).toEqual(sg.requests.toObject());
    expect(byLabels(await prometheus.query('traces_service_graph_request_failed_total'))).toEqual(sg.failed.toObject());
    // A virtual-node edge has only one side's latency: the other side's histogram is absent.
    expect(byLabels(await prometheus.query('traces_service_graph_request_server_seconds_count'))).toEqual(sg.serverCount.toObject());
    expect(byLabels(await prometheus.query('traces_service_graph_request_client_seconds_count'))).toEqual(sg.clientCount.toObject());
    expectClose(byLabels(await prometheus.query('traces_service_graph_request_server_seconds_sum')), sg.serverSumSeconds, 'server seconds sum');
    expectClose(byLabels(await prometheus.query('traces_service_graph_request_client_seconds_sum')), sg.clientSumSeconds, 'client seconds sum');
    expect(byLabels(await prometheus.query('traces_service_graph_unpaired_spans_total'))).toEqual(sg.unpaired.toObject());
    expect(await prometheus.query('traces_service_graph_dropped_spans_total')).toEqual([]);

    // The shapes the topology was built to exercise, spelled out (Prometheus stores no empty labels).
    const edge = async (client: string, server: string) =>
      (await prometheus.query(`traces_service_graph_request_total{client="${client}",server="${server}"}`)).map((x) => ({
        ...Object.fromEntries(Object.entries(x.metric).filter(([k]) => !SCRAPE_LABELS.has(k) && k !== 'client' && k !== 'server')),
        value: Number(x.value[1]),
      }));
    const { probability, kept } = truth.sampling;
    expect(await edge('user', 'frontend')).toEqual([{ connection_type: 'virtual_node', server_namespace: 'shop', tls: 'false', value: 10 + kept / probability }]);
    expect(await edge('checkout', 'postgres')).toEqual([{ connection_type: 'database', client_namespace: 'shop', server_namespace: 'shop', tls: 'false', value: 10 }]);
    expect(await edge('checkout', 'payments')).toEqual([{ client_namespace: 'shop', server_namespace: 'payments', tls: 'false', value: 6 }]);
    expect(await edge('frontend', 'checkout')).toEqual([{ client_namespace: 'shop', server_namespace: 'shop', tls: 'true', value: 10 }]);
    expect(await edge('frontend', 'inventory')).toEqual([{ client_namespace: 'shop', server_namespace: 'shop', tls: 'true', value: kept / probability }]);
    expect(await edge('checkout', 'shipping')).toEqual([{ connection_type: 'messaging_system', client_namespace: 'shop', server_namespace: 'shop', tls: 'false', value: 2 }]);
    const failed = await prometheus.query('traces_service_graph_request_failed_total > 0');
    expect(Object.fromEntries(failed.map((s) => [`${s.metric.client}->${s.metric.server}`, Number(s.value[1])]))).toEqual({
      'user->frontend': 2, // HTTP 502 at the root
      'frontend->checkout': 2, // HTTP 503
      'checkout->payments': 1, // gRPC UNAVAILABLE; the OK call with span status ERROR is not a failure
    });

    const expired = byLabels(await prometheus.query('meshtel_servicegraph_expired_edges_total'));
    expect(expired).toEqual({ [SeriesMap.key({ outcome: 'virtual_node' })]: 10, [SeriesMap.key({ outcome: 'unpaired' })]: 2 });
    expect(Number((await prometheus.query('meshtel_servicegraph_store_items'))[0]?.value[1])).toBe(0);
  });

  test('golden metrics from Linkerd-named and semantic-convention proxy metrics', async () => {
    const g = truth.golden;
    expect(byLabels(await prometheus.query('meshtel_workload_requests_total'))).toEqual(g.workloadRequests.toObject());
    expect(byLabels(await prometheus.query('meshtel_edge_requests_total'))).toEqual(g.edgeRequests.toObject());
    expect(byLabels(await prometheus.query('meshtel_workload_request_duration_seconds_count'))).toEqual(g.workloadLatencyCount.toObject());
    expectClose(byLabels(await prometheus.query('meshtel_workload_request_duration_seconds_sum')), g.workloadLatencySumSeconds, 'workload latency sum');
    expect(byLabels(await prometheus.query('meshtel_edge_request_duration_seconds_count'))).toEqual(g.edgeLatencyCount.toObject());
    expectClose(byLabels(await prometheus.query('meshtel_edge_request_duration_seconds_sum')), g.edgeLatencySumSeconds, 'edge latency sum');
    expect(byLabels(await prometheus.query('meshtel_workload_tcp_open_connections'))).toEqual(g.workloadTcp.toObject());

    // Linkerd's latency buckets map one to one onto meshtel's (Linkerd's layout plus 0.5ms).
    const buckets = byLabels(await prometheus.query('meshtel_workload_request_duration_seconds_bucket{workload="checkout"}'));
    for (const { labels, value } of g.workloadLatencyBuckets.entries()) expect(buckets[SeriesMap.key(labels)], `le=${labels.le}`).toBe(value);

    // The stream that started before the collector: its first point is a baseline, only the later 7 count.
    const baseline = await prometheus.query('meshtel_golden_points_total{outcome="baseline"}');
    expect(Number(baseline[0]?.value[1])).toBe(g.baselinePoints);
    expect(g.workloadRequests.get({ namespace: 'shop', workload: 'legacy', classification: 'success', tls: 'true' })).toBe(7);
  });

  test('/api/v1/stat answers the known requests, success rates, sources and connections', async () => {
    const res = await admin('/api/v1/stat?window=1m');
    expect(res.status).toBe(200);
    const stat = (await res.json()) as StatResponse;
    const elapsed = (Date.now() - startedBefore) / 1000;
    expect(stat.window).toBe('1m');
    for (const w of stat.workloads) {
      expect(Object.keys(w).sort()).toEqual(['latency_ms', 'meshed', 'name', 'namespace', 'requests', 'rps', 'source', 'success_rate', 'tcp_connections']);
    }
    expect(stat.workloads.map(({ namespace, name, meshed, source, requests, success_rate, tcp_connections }) => ({ namespace, name, meshed, source, requests, success_rate, tcp_connections }))).toEqual(
      truth.stat.map((w) => ({
        namespace: w.namespace,
        name: w.name,
        meshed: w.meshed,
        source: w.source,
        requests: w.requests,
        success_rate: expect.closeTo(1 - w.failures / w.requests, 6) as number,
        tcp_connections: w.tcp_connections,
      })),
    );
    // Rates: the requests over the time the window covers, between 1s and the collector's age.
    for (const w of stat.workloads) {
      expect(w.rps, `${w.name} rps`).toBeGreaterThanOrEqual(w.requests / elapsed - 0.001);
      expect(w.rps, `${w.name} rps`).toBeLessThanOrEqual(w.requests + 0.001);
    }

    // Latency: proxy workloads agree with histogram_quantile over the exported histogram; span
    // workloads with the quantiles of the known span durations over the same buckets.
    const le = await prometheus.query('meshtel_workload_request_duration_seconds_bucket{workload="checkout"}');
    const bounds = le.map((s) => s.metric.le!).filter((b) => b !== '+Inf').map(Number).sort((a, b) => a - b);
    expect(bounds.length).toBeGreaterThan(10);
    const find = (w: ExpectedWorkload): WorkloadStat => stat.workloads.find((x) => x.namespace === w.namespace && x.name === w.name)!;
    for (const w of truth.stat) {
      const got = find(w).latency_ms;
      for (const [key, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
        let want: number | null;
        if (w.source === 'proxy') {
          if (!w.hasProxyLatency) {
            want = null;
          } else {
            const r = await prometheus.query(`histogram_quantile(${q}, meshtel_workload_request_duration_seconds_bucket{namespace="${w.namespace}",workload="${w.name}"})`);
            want = Number(r[0]!.value[1]) * 1000;
          }
        } else {
          const seconds = histogramQuantile(q, bounds, w.latencies.map((l) => ({ seconds: l.ms / 1000, weight: l.weight })));
          want = seconds === null ? null : seconds * 1000;
        }
        if (want === null) expect(got[key], `${w.name} ${key}`).toBeNull();
        else expect(got[key], `${w.name} ${key}`).toBeCloseTo(want, 2);
      }
    }

    const payments = (await (await admin('/api/v1/stat?window=30s&namespace=payments')).json()) as StatResponse;
    expect(payments.window).toBe('30s');
    expect(payments.workloads.map((w) => [w.namespace, w.name, w.requests])).toEqual(
      truth.stat.filter((w) => w.namespace === 'payments').map((w) => [w.namespace, w.name, w.requests]),
    );
    const bad = await admin('/api/v1/stat?window=soon');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/window must be a duration/);
  });

  test('/api/v1/edges answers the known edges: requests, failures, success rate, mTLS, virtual nodes', async () => {
    const res = await admin('/api/v1/edges');
    expect(res.status).toBe(200);
    const edges = (await res.json()) as EdgesResponse;
    const elapsed = (Date.now() - startedBefore) / 1000;
    expect(edges.window).toBe('1m');
    expect(edges.edges.map(({ src, dst, secured, source, requests, failures, success_rate }) => ({ src, dst, secured, source, requests, failures, success_rate }))).toStrictEqual(
      truth.edges.map((e) => ({
        src: e.src,
        dst: e.dst,
        secured: e.secured,
        source: e.source,
        requests: e.requests,
        failures: e.failures,
        success_rate: expect.closeTo(1 - e.failures / e.requests, 6) as number,
      })),
    );
    for (const e of edges.edges) {
      expect(Object.keys(e).sort()).toEqual(['dst', 'failures', 'requests', 'rps', 'secured', 'source', 'src', 'success_rate']);
      expect(e.rps).toBeGreaterThanOrEqual(e.requests / elapsed - 0.001);
      expect(e.rps).toBeLessThanOrEqual(e.requests + 0.001);
    }
    // The virtual nodes: the user calling in, a database and a peer known only by name send nothing themselves.
    expect(edges.edges.filter((e) => e.src.virtual).map((e) => e.src.name)).toEqual(['user']);
    expect(edges.edges.filter((e) => e.dst.virtual).map((e) => e.dst.name).sort()).toEqual(['postgres', 'pricing']);
  });

  test('/metrics speaks the format the scraper asks for: OpenMetrics with exemplars to Prometheus, the text format otherwise', async () => {
    const prometheusAccept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const [om, text] = await Promise.all([
      fetch(`http://${collector.adminAddress}/metrics`, { headers: { accept: prometheusAccept } }),
      admin('/metrics'),
    ]);
    expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect([om.headers.get('vary'), text.headers.get('vary')]).toEqual(['Accept', 'Accept']);
    const openMetrics = parseOpenMetrics(await om.text());
    const plain = parseSeries(await text.text());
    // The traffic is over: the same series in both, and the same values but the process's own.
    const stable = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, /^(process|nodejs)_/.test(k) ? 0 : v]));
    expect(stable(openMetrics.series)).toEqual(stable(plain));
    const spanExemplars = [...openMetrics.exemplars.keys()].filter((k) => k.startsWith('traces_span_metrics_duration_milliseconds_bucket{'));
    expect(spanExemplars.length).toBeGreaterThan(0);
    // Prometheus asked for OpenMetrics on every scrape and stored the exemplars.
    const now = Date.now() / 1000;
    const res = (await (
      await fetch(`${prometheus.url}/api/v1/query_exemplars?${new URLSearchParams({ query: 'traces_span_metrics_duration_milliseconds_bucket', start: String(now - 600), end: String(now) }).toString()}`)
    ).json()) as { data: { exemplars: { labels: Record<string, string> }[] }[] };
    const stored = res.data.flatMap((d) => d.exemplars);
    expect(stored.length).toBeGreaterThan(0);
    for (const x of stored) expect(x.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  test('promtool check metrics finds nothing but the spanmetrics connector\'s millisecond unit', async () => {
    requireProgram('promtool');
    const exposition = await (await admin('/metrics')).text();
    expect(exposition).toContain('traces_span_metrics_duration_milliseconds_bucket{');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    const findings = `${check.stdout}\n${check.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    // Deliberate: the name and unit are the OpenTelemetry Collector's, which Jaeger's Monitor tab reads (DESIGN.md).
    const milliseconds = 'traces_span_metrics_duration_milliseconds use base unit "seconds" instead of "milliseconds"';
    expect(findings).toContain(milliseconds);
    expect(findings.filter((f) => f !== milliseconds), 'promtool findings other than the documented millisecond unit').toEqual([]);
  });
});
