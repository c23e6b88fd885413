/**
 * A known mesh topology driven through the official OpenTelemetry JS SDK and its OTLP exporters
 * (protobuf and JSON over HTTP), with the ground truth of what a collector must make of it.
 *
 * The truth is bookkeeping of what was sent (every span created, every request declared between two
 * services, every proxy measurement), interpreted by the rules of DESIGN.md (failure rule, sampling
 * weight, namespaces, virtual nodes); it never reads collector code or output.
 *
 * Traces (namespace `shop` unless said otherwise):
 * - 10 checkouts: user -> frontend (root SERVER) -> checkout (CLIENT/SERVER over mTLS), 2 of them
 *   failing with HTTP 5xx; each checkout queries postgres (a database that sends no spans), 6 call
 *   payments over gRPC (namespace `payments`, plaintext; one UNAVAILABLE, one OK with span status
 *   ERROR, which is not a failure) and 2 publish to a Kafka topic consumed by shipping.
 * - stock lookups from a frontend replica that samples at p = 0.25 (W3C tracestate `ot=th:c`),
 *   repeated until 3 traces were kept: user -> frontend -> inventory; one answers 404 with span
 *   status ERROR (not a failure by the HTTP rule).
 * - 2 client spans of frontend that name no peer: unpaired.
 * Proxy metrics (cumulative temporality):
 * - Linkerd-named metrics of checkout's proxy (`response_total`, `response_latency_ms`,
 *   `tcp_open_connections`), exported twice so that the second export is a delta;
 * - semantic-convention histograms of catalog (`http.server.request.duration`,
 *   `http.client.request.duration` to a Kubernetes service address and to a `peer.service`);
 * - optionally a proxy whose counter started before the collector (see `PreexistingProxy`): its
 *   first point is only a baseline.
 */
import {
  createTraceState,
  diag,
  DiagConsoleLogger,
  DiagLogLevel,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Counter,
  type Span,
} from '@opentelemetry/api';
import { OTLPMetricExporter as OTLPMetricExporterJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, SamplingDecision, TracerProvider, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';

export type Encoding = 'protobuf' | 'json';
export type Labels = Record<string, string>;

/** Series of one metric family keyed by their label set, as a test expects them. */
export class SeriesMap {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  /**
   * The sorted label set, without empty values: in Prometheus an empty label value is the same as
   * no label (so `connection_type=""` is stored without that label).
   */
  static key(labels: Labels): string {
    return JSON.stringify(Object.entries(labels).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  add(labels: Labels, value: number): void {
    const key = SeriesMap.key(labels);
    const s = this.series.get(key);
    if (s === undefined) this.series.set(key, { labels: { ...labels }, value });
    else s.value += value;
  }

  get(labels: Labels): number | undefined {
    return this.series.get(SeriesMap.key(labels))?.value;
  }

  /** `{ key: value }` for `toEqual` comparisons; the key is the sorted label set. */
  toObject(): Record<string, number> {
    return Object.fromEntries([...this.series].map(([k, s]) => [k, s.value]));
  }

  entries(): { labels: Labels; value: number }[] {
    return [...this.series.values()];
  }
}

/** The bucket bounds (ms) of `traces_span_metrics_duration_milliseconds`: the spanmetrics connector's default. */
export const SPAN_METRICS_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000];
/** Linkerd's proxy latency buckets (ms), used by the `response_latency_ms` histogram sent here. */
export const LINKERD_BUCKETS_MS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];
/** The semantic conventions' advice for `http.*.request.duration` (seconds). */
const SEMCONV_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const SPAN_KIND_LABEL: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: 'SPAN_KIND_INTERNAL',
  [SpanKind.SERVER]: 'SPAN_KIND_SERVER',
  [SpanKind.CLIENT]: 'SPAN_KIND_CLIENT',
  [SpanKind.PRODUCER]: 'SPAN_KIND_PRODUCER',
  [SpanKind.CONSUMER]: 'SPAN_KIND_CONSUMER',
};

export interface Node {
  namespace: string;
  name: string;
  virtual?: true;
}

/** What `/api/v1/stat` must say about one workload (rps and latency are checked separately). */
export interface ExpectedWorkload {
  namespace: string;
  name: string;
  meshed: boolean;
  source: 'proxy' | 'spans';
  requests: number;
  failures: number;
  tcp_connections: number | null;
  /** Durations (ms) of the requests behind the latency percentiles, with their weights; empty: none. */
  latencies: { ms: number; weight: number }[];
  /** For proxy workloads with a latency histogram: the exported family to cross-check with histogram_quantile. */
  hasProxyLatency: boolean;
}

/** What `/api/v1/edges` must say about one edge (rps is checked separately). */
export interface ExpectedEdge {
  src: Node;
  dst: Node;
  secured: boolean;
  source: 'proxy' | 'spans';
  requests: number;
  failures: number;
}

export interface GroundTruth {
  spanMetrics: {
    calls: SeriesMap;
    durationCount: SeriesMap;
    durationSumMs: SeriesMap;
    /** Cumulative bucket counts, labels include `le`. */
    durationBuckets: SeriesMap;
  };
  serviceGraph: {
    requests: SeriesMap;
    failed: SeriesMap;
    serverCount: SeriesMap;
    serverSumSeconds: SeriesMap;
    clientCount: SeriesMap;
    clientSumSeconds: SeriesMap;
    unpaired: SeriesMap;
  };
  golden: {
    workloadRequests: SeriesMap;
    edgeRequests: SeriesMap;
    workloadLatencyCount: SeriesMap;
    workloadLatencySumSeconds: SeriesMap;
    /** Cumulative buckets of the Linkerd latency histogram at Linkerd's bounds (a subset of the exported ones). */
    workloadLatencyBuckets: SeriesMap;
    edgeLatencyCount: SeriesMap;
    edgeLatencySumSeconds: SeriesMap;
    workloadTcp: SeriesMap;
    /** First points of streams that started before the collector: baselines, not counted. */
    baselinePoints: number;
  };
  /** Sorted as the API sorts them: namespace, then name. */
  stat: ExpectedWorkload[];
  /** Sorted as the API sorts them: source namespace, source name, destination namespace, destination name. */
  edges: ExpectedEdge[];
  sampling: { service: string; spanName: string; probability: number; made: number; kept: number };
  /** Spans exported (sampled-out ones not included). */
  spansExported: number;
}

interface SpanFact {
  service: string;
  workload: { namespace: string; name: string };
  name: string;
  kind: SpanKind;
  error: boolean;
  failed: boolean;
  ms: number;
  weight: number;
  tls: boolean;
}

interface EdgeFact {
  client: Node;
  server: Node;
  connectionType: '' | 'virtual_node' | 'database' | 'messaging_system';
  tls: boolean;
  failed: boolean;
  weight: number;
  clientMs: number | undefined;
  serverMs: number | undefined;
}

/** DESIGN.md's rule: gRPC status not OK, else HTTP 5xx, else span status ERROR. */
function requestFailed(attributes: Attributes, error: boolean): boolean {
  const grpc = attributes['rpc.grpc.status_code'];
  if (typeof grpc === 'number') return grpc !== 0;
  const http = attributes['http.response.status_code'];
  if (typeof http === 'number') return http >= 500;
  return error;
}

/**
 * A head sampler in the style of OpenTelemetry's consistent probability sampling: a root span is
 * kept when the trace id's 56 random bits reach the rejection threshold, and then carries the
 * threshold in its tracestate (`ot=th:<hex>`); children follow their parent. Without a threshold
 * every root is kept and no tracestate is set.
 */
class ConsistentSampler implements Sampler {
  constructor(private readonly threshold: string | undefined) {}

  get probability(): number {
    return this.threshold === undefined ? 1 : 1 - parseInt(this.threshold.padEnd(14, '0'), 16) / 2 ** 56;
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent !== undefined && isSpanContextValid(parent)) {
      return { decision: (parent.traceFlags & TraceFlags.SAMPLED) !== 0 ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
    }
    if (this.threshold === undefined) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    const randomness = BigInt(`0x${traceId.slice(-14)}`);
    if (randomness < BigInt(`0x${this.threshold.padEnd(14, '0')}`)) return { decision: SamplingDecision.NOT_RECORD };
    return { decision: SamplingDecision.RECORD_AND_SAMPLED, traceState: createTraceState(`ot=th:${this.threshold}`) };
  }

  toString(): string {
    return `ConsistentSampler{th:${this.threshold ?? '0'}}`;
  }
}

function traceExporter(encoding: Encoding, otlp: string) {
  const url = `http://${otlp}/v1/traces`;
  return encoding === 'protobuf' ? new OTLPTraceExporterProto({ url }) : new OTLPTraceExporterJson({ url });
}

function metricExporter(encoding: Encoding, otlp: string): PushMetricExporter {
  const options = { url: `http://${otlp}/v1/metrics`, temporalityPreference: AggregationTemporalityPreference.CUMULATIVE };
  return encoding === 'protobuf' ? new OTLPMetricExporterProto(options) : new OTLPMetricExporterJson(options);
}

function sampled(span: Span): boolean {
  return (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

/**
 * The sampling probability a span carries in its W3C tracestate (`ot=th:<hex>`: rejection threshold
 * over 2^56), as the SDK attached it (set by the sampler at the root, inherited by children); 1 without.
 */
function probabilityOf(span: Span): number {
  const th = /(?:^|;)th:([0-9a-f]{1,14})(?:;|$)/.exec(span.spanContext().traceState?.get('ot') ?? '')?.[1];
  return th === undefined ? 1 : 1 - parseInt(th.padEnd(14, '0'), 16) / 2 ** 56;
}

/** One instrumented service: a TracerProvider with its resource, sampler and exporter. */
class Service {
  readonly provider: TracerProvider;
  private readonly sampler: ConsistentSampler;

  constructor(
    private readonly truth: TruthRecorder,
    readonly name: string,
    readonly namespace: string,
    resource: Attributes,
    encoding: Encoding,
    otlp: string,
    threshold?: string,
  ) {
    this.sampler = new ConsistentSampler(threshold);
    this.provider = new TracerProvider({
      resource: resourceFromAttributes(resource),
      sampler: this.sampler,
      // Exports on forceFlush (the delay is longer than any test), so that all services flush together.
      spanProcessors: [new BatchSpanProcessor({ exporter: traceExporter(encoding, otlp), scheduledDelayMillis: 600_000, maxExportBatchSize: 1000, maxQueueSize: 10_000 })],
    });
  }

  get node(): Node {
    return { namespace: this.namespace, name: this.name };
  }

  /** Starts and ends one span with exact times; records it in the truth when it was sampled. */
  span(spec: { name: string; kind: SpanKind; parent?: Span; start: number; ms: number; attributes?: Attributes; error?: boolean }): Span {
    const attributes = spec.attributes ?? {};
    const ctx = spec.parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, spec.parent);
    const span = this.provider.getTracer('meshtel-e2e').startSpan(spec.name, { kind: spec.kind, attributes, startTime: spec.start }, ctx);
    if (spec.error === true) span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    span.end(spec.start + spec.ms);
    if (sampled(span)) {
      this.truth.span({
        service: this.name,
        workload: this.node,
        name: spec.name,
        kind: spec.kind,
        error: spec.error === true,
        failed: requestFailed(attributes, spec.error === true),
        ms: spec.ms,
        weight: 1 / probabilityOf(span),
        tls: attributes['tls.established'] === true,
      });
    }
    return span;
  }

  get probability(): number {
    return this.sampler.probability;
  }
}

/** Collects the facts of what was sent and turns them into the expected outputs. */
class TruthRecorder {
  readonly spans: SpanFact[] = [];
  readonly edgeFacts: EdgeFact[] = [];
  readonly golden = {
    workloadRequests: new SeriesMap(),
    edgeRequests: new SeriesMap(),
    workloadLatencyCount: new SeriesMap(),
    workloadLatencySumSeconds: new SeriesMap(),
    workloadLatencyBuckets: new SeriesMap(),
    edgeLatencyCount: new SeriesMap(),
    edgeLatencySumSeconds: new SeriesMap(),
    workloadTcp: new SeriesMap(),
    baselinePoints: 0,
  };
  /** Proxy-side inbound traffic per workload and outbound per edge, for the query API. */
  readonly proxyWorkloads = new Map<string, { node: Node; requests: number; failures: number; latencies: { ms: number; weight: number }[]; tcp: number | null }>();
  readonly proxyEdges = new Map<string, { src: Node; dst: Node; requests: number; failures: number; secured: number }>();

  span(fact: SpanFact): void {
    this.spans.push(fact);
  }

  edge(fact: Omit<EdgeFact, 'weight'> & { weight?: number }): void {
    this.edgeFacts.push({ weight: 1, ...fact });
  }

  proxyWorkload(node: Node) {
    const key = `${node.namespace}/${node.name}`;
    let w = this.proxyWorkloads.get(key);
    if (w === undefined) {
      w = { node, requests: 0, failures: 0, latencies: [], tcp: null };
      this.proxyWorkloads.set(key, w);
    }
    return w;
  }

  /** Inbound requests counted by a workload's proxy. */
  inbound(node: Node, count: number, failed: boolean, tls: boolean): void {
    const w = this.proxyWorkload(node);
    w.requests += count;
    if (failed) w.failures += count;
    this.golden.workloadRequests.add(
      { namespace: node.namespace, workload: node.name, classification: failed ? 'failure' : 'success', tls: String(tls) },
      count,
    );
  }

  /** Outbound requests counted by the source workload's proxy. */
  outbound(src: Node, dst: Node, count: number, failed: boolean, tls: boolean): void {
    const key = `${src.namespace}/${src.name}>${dst.namespace}/${dst.name}`;
    let e = this.proxyEdges.get(key);
    if (e === undefined) {
      e = { src, dst, requests: 0, failures: 0, secured: 0 };
      this.proxyEdges.set(key, e);
    }
    e.requests += count;
    if (failed) e.failures += count;
    if (tls) e.secured += count;
    this.golden.edgeRequests.add(
      {
        src_namespace: src.namespace,
        src_workload: src.name,
        dst_namespace: dst.namespace,
        dst_workload: dst.name,
        classification: failed ? 'failure' : 'success',
        tls: String(tls),
      },
      count,
    );
  }

  inboundLatency(node: Node, seconds: number, count: number): void {
    const labels = { namespace: node.namespace, workload: node.name };
    this.golden.workloadLatencyCount.add(labels, count);
    this.golden.workloadLatencySumSeconds.add(labels, seconds * count);
    this.proxyWorkload(node).latencies.push({ ms: seconds * 1000, weight: count });
  }

  outboundLatency(src: Node, dst: Node, seconds: number, count: number): void {
    const labels = { src_namespace: src.namespace, src_workload: src.name, dst_namespace: dst.namespace, dst_workload: dst.name };
    this.golden.edgeLatencyCount.add(labels, count);
    this.golden.edgeLatencySumSeconds.add(labels, seconds * count);
  }

  build(sampling: GroundTruth['sampling']): GroundTruth {
    const spanMetrics = { calls: new SeriesMap(), durationCount: new SeriesMap(), durationSumMs: new SeriesMap(), durationBuckets: new SeriesMap() };
    for (const s of this.spans) {
      const labels = {
        service_name: s.service,
        span_name: s.name,
        span_kind: SPAN_KIND_LABEL[s.kind],
        status_code: s.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET',
      };
      spanMetrics.calls.add(labels, s.weight);
      spanMetrics.durationCount.add(labels, s.weight);
      spanMetrics.durationSumMs.add(labels, s.ms * s.weight);
      for (const le of [...SPAN_METRICS_BUCKETS_MS, Infinity]) {
        spanMetrics.durationBuckets.add({ ...labels, le: le === Infinity ? '+Inf' : String(le) }, s.ms <= le ? s.weight : 0);
      }
    }

    const sg = {
      requests: new SeriesMap(),
      failed: new SeriesMap(),
      serverCount: new SeriesMap(),
      serverSumSeconds: new SeriesMap(),
      clientCount: new SeriesMap(),
      clientSumSeconds: new SeriesMap(),
      unpaired: new SeriesMap(),
    };
    for (const e of this.edgeFacts) {
      const labels = {
        client: e.client.name,
        server: e.server.name,
        connection_type: e.connectionType,
        client_namespace: e.client.namespace,
        server_namespace: e.server.namespace,
        tls: String(e.tls),
      };
      sg.requests.add(labels, e.weight);
      sg.failed.add(labels, e.failed ? e.weight : 0);
      if (e.serverMs !== undefined) {
        sg.serverCount.add(labels, e.weight);
        sg.serverSumSeconds.add(labels, (e.serverMs / 1000) * e.weight);
      }
      if (e.clientMs !== undefined) {
        sg.clientCount.add(labels, e.weight);
        sg.clientSumSeconds.add(labels, (e.clientMs / 1000) * e.weight);
      }
    }

    // The query API: inbound requests per workload (proxy numbers preferred over spans) ...
    const spanWorkloads = new Map<string, ExpectedWorkload>();
    for (const s of this.spans) {
      if (s.kind !== SpanKind.SERVER && s.kind !== SpanKind.CONSUMER) continue;
      const key = `${s.workload.namespace}/${s.workload.name}`;
      let w = spanWorkloads.get(key);
      if (w === undefined) {
        w = { ...s.workload, meshed: false, source: 'spans', requests: 0, failures: 0, tcp_connections: null, latencies: [], hasProxyLatency: false };
        spanWorkloads.set(key, w);
      }
      w.requests += s.weight;
      if (s.failed) w.failures += s.weight;
      w.latencies.push({ ms: s.ms, weight: s.weight });
    }
    const workloads = new Map(spanWorkloads);
    for (const [key, p] of this.proxyWorkloads) {
      workloads.set(key, {
        ...p.node,
        meshed: true,
        source: 'proxy',
        requests: p.requests,
        failures: p.failures,
        tcp_connections: p.tcp,
        latencies: p.latencies,
        hasProxyLatency: p.latencies.length > 0,
      });
    }
    const stat = [...workloads.values()].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));

    // ... and requests per edge, from service-graph edges or from the source's proxy.
    const edges = new Map<string, ExpectedEdge>();
    const isWorkload = (n: Node) => workloads.has(`${n.namespace}/${n.name}`);
    for (const e of this.edgeFacts) {
      const key = `${e.client.namespace}/${e.client.name}>${e.server.namespace}/${e.server.name}`;
      let x = edges.get(key);
      if (x === undefined) {
        const dst: Node = { namespace: e.server.namespace, name: e.server.name };
        if (e.server.virtual === true || !isWorkload(e.server)) dst.virtual = true;
        x = { src: e.client, dst, secured: true, source: 'spans', requests: 0, failures: 0 };
        edges.set(key, x);
      }
      x.requests += e.weight;
      if (e.failed) x.failures += e.weight;
      if (!e.tls) x.secured = false;
    }
    for (const [key, p] of this.proxyEdges) {
      const dst: Node = { ...p.dst };
      if (!isWorkload(p.dst)) dst.virtual = true;
      edges.set(key, { src: p.src, dst, secured: p.secured >= p.requests, source: 'proxy', requests: p.requests, failures: p.failures });
    }
    const edgeList = [...edges.values()].sort(
      (a, b) =>
        compare(a.src.namespace, b.src.namespace) ||
        compare(a.src.name, b.src.name) ||
        compare(a.dst.namespace, b.dst.namespace) ||
        compare(a.dst.name, b.dst.name),
    );

    return {
      spanMetrics,
      serviceGraph: sg,
      golden: this.golden,
      stat,
      edges: edgeList,
      sampling,
      spansExported: this.spans.length,
    };
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * An exporter whose destination is known only later: the pre-existing proxy counts before the
 * collector (and so its port) exists, and exports to it once it runs.
 */
class DeferredExporter implements PushMetricExporter {
  target: PushMetricExporter | undefined;

  export(...args: Parameters<PushMetricExporter['export']>): void {
    if (this.target === undefined) throw new Error('the pre-existing proxy exported before it knew the collector');
    this.target.export(...args);
  }

  forceFlush(): Promise<void> {
    return this.target?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.target?.shutdown() ?? Promise.resolve();
  }
}

/**
 * A Linkerd proxy (workload `legacy` in `shop`) whose request counter started before the collector
 * did: `record()` counts 100 requests and must run before the collector starts; `startTimeMs` is the
 * start time the SDK gives the stream. After the collector started, `report()` exports that first
 * point (a baseline: not counted), counts 7 more and exports again: only the 7 count.
 */
export class PreexistingProxy {
  static readonly node: Node = { namespace: 'shop', name: 'legacy' };
  readonly counted = 7;

  private constructor(
    private readonly provider: MeterProvider,
    private readonly exporter: DeferredExporter,
    private readonly counter: Counter,
    readonly startTimeMs: number,
  ) {}

  static async record(): Promise<PreexistingProxy> {
    const exporter = new DeferredExporter();
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'k8s.deployment.name': 'legacy', 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'legacy-5d9c7-x2x7w' }),
      readers: [reader],
    });
    const counter = provider.getMeter('linkerd-proxy').createCounter('response_total');
    counter.add(100, INBOUND_SUCCESS_TLS);
    // Collecting does not export; it shows the start time the SDK gave the stream.
    const { resourceMetrics } = await reader.collect();
    const point = resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints[0];
    if (point === undefined) throw new Error('the SDK collected no point for the pre-existing proxy');
    return new PreexistingProxy(provider, exporter, counter, point.startTime[0] * 1000 + point.startTime[1] / 1e6);
  }

  async report(otlp: string, truth: TruthRecorder): Promise<void> {
    this.exporter.target = metricExporter('protobuf', otlp);
    await this.provider.forceFlush();
    truth.golden.baselinePoints++;
    this.counter.add(this.counted, INBOUND_SUCCESS_TLS);
    await this.provider.forceFlush();
    truth.inbound(PreexistingProxy.node, this.counted, false, true);
    await this.provider.shutdown();
  }
}

const INBOUND_SUCCESS_TLS = { direction: 'inbound', classification: 'success', tls: 'true', status_code: '200' };

export interface DriveOptions {
  /** A proxy that counted before the collector started; reported after the rest. */
  preexisting?: PreexistingProxy;
}

/**
 * Sends the whole topology to the collector's OTLP/HTTP receiver at `otlp` (`host:port`) and
 * returns what the collector must make of it. Every export has been answered when this returns.
 */
export async function driveTopology(otlp: string, options: DriveOptions = {}): Promise<GroundTruth> {
  // The SDK reports failed exports only through diag: show them, or a refused export would only
  // surface as wrong numbers further on.
  diag.setLogger(new DiagConsoleLogger(), { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });
  const truth = new TruthRecorder();
  const shop = 'shop';
  const frontend = new Service(truth, 'frontend', shop, { 'service.name': 'frontend', 'k8s.namespace.name': shop, 'k8s.deployment.name': 'frontend' }, 'protobuf', otlp);
  // A replica of frontend with head sampling at p = 0.25 (threshold 0xc << 52 over 2^56).
  const frontendSampled = new Service(truth, 'frontend', shop, { 'service.name': 'frontend', 'k8s.namespace.name': shop, 'service.instance.id': 'frontend-2' }, 'json', otlp, 'c');
  const checkout = new Service(truth, 'checkout', shop, { 'service.name': 'checkout', 'service.namespace': shop }, 'json', otlp);
  // k8s.namespace.name wins over service.namespace.
  const payments = new Service(truth, 'payments', 'payments', { 'service.name': 'payments', 'k8s.namespace.name': 'payments', 'service.namespace': 'billing' }, 'protobuf', otlp);
  const inventory = new Service(truth, 'inventory', shop, { 'service.name': 'inventory', 'service.namespace': shop }, 'protobuf', otlp);
  const shipping = new Service(truth, 'shipping', shop, { 'service.name': 'shipping', 'k8s.namespace.name': shop }, 'json', otlp);
  const services = [frontend, frontendSampled, checkout, payments, inventory, shipping];
  const user: Node = { namespace: '', name: 'user', virtual: true };
  const postgres: Node = { namespace: shop, name: 'postgres', virtual: true };

  const t0 = Date.now();
  // 10 checkouts; 3 and 7 fail with HTTP 5xx.
  for (let i = 0; i < 10; i++) {
    const t = t0 + i * 200;
    const fail = i === 3 || i === 7;
    const root = frontend.span({
      name: 'GET /checkout',
      kind: SpanKind.SERVER,
      start: t,
      ms: fail ? 120 : 40,
      attributes: { 'http.request.method': 'GET', 'http.route': '/checkout', 'http.response.status_code': fail ? 502 : 200 },
      error: fail,
    });
    truth.edge({ client: user, server: frontend.node, connectionType: 'virtual_node', tls: false, failed: fail, clientMs: undefined, serverMs: fail ? 120 : 40 });
    frontend.span({ name: 'render cart', kind: SpanKind.INTERNAL, parent: root, start: t + 1, ms: 2 });
    const call = frontend.span({
      name: 'POST /api/orders',
      kind: SpanKind.CLIENT,
      parent: root,
      start: t + 5,
      ms: fail ? 100 : 30,
      attributes: { 'http.request.method': 'POST', 'server.address': 'checkout', 'http.response.status_code': fail ? 503 : 200, 'tls.established': true },
      error: fail,
    });
    const served = checkout.span({
      name: 'POST /api/orders',
      kind: SpanKind.SERVER,
      parent: call,
      start: t + 8,
      ms: fail ? 90 : 25,
      attributes: { 'http.request.method': 'POST', 'http.route': '/api/orders', 'http.response.status_code': fail ? 503 : 200, 'tls.established': true },
      error: fail,
    });
    truth.edge({ client: frontend.node, server: checkout.node, connectionType: '', tls: true, failed: fail, clientMs: fail ? 100 : 30, serverMs: fail ? 90 : 25 });
    // postgres sends no spans: the unpaired client span becomes a database edge once it expires.
    checkout.span({
      name: 'SELECT orders',
      kind: SpanKind.CLIENT,
      parent: served,
      start: t + 10,
      ms: 3,
      attributes: { 'db.system': 'postgresql', 'db.name': 'orders', 'peer.service': 'postgres', 'db.statement': 'SELECT * FROM orders WHERE id = $1' },
    });
    truth.edge({ client: checkout.node, server: postgres, connectionType: 'database', tls: false, failed: false, clientMs: 3, serverMs: undefined });
    if (i < 6) {
      // gRPC: 4 is UNAVAILABLE (a failure); 5 is OK with span status ERROR (not a failure: gRPC status wins).
      const grpcStatus = i === 4 ? 14 : 0;
      const error = i === 4 || i === 5;
      const rpc = { 'rpc.system': 'grpc', 'rpc.service': 'payments.v1.Payments', 'rpc.method': 'Charge', 'rpc.grpc.status_code': grpcStatus, 'tls.established': false };
      const charge = checkout.span({ name: 'payments.v1.Payments/Charge', kind: SpanKind.CLIENT, parent: served, start: t + 12, ms: i === 4 ? 50 : 10, attributes: { ...rpc, 'server.address': 'payments.payments' }, error });
      payments.span({ name: 'payments.v1.Payments/Charge', kind: SpanKind.SERVER, parent: charge, start: t + 13, ms: i === 4 ? 45 : 8, attributes: rpc, error });
      truth.edge({ client: checkout.node, server: payments.node, connectionType: '', tls: false, failed: i === 4, clientMs: i === 4 ? 50 : 10, serverMs: i === 4 ? 45 : 8 });
    }
    if (i % 5 === 0) {
      const publish = checkout.span({
        name: 'orders publish',
        kind: SpanKind.PRODUCER,
        parent: served,
        start: t + 20,
        ms: 1,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.operation.type': 'send' },
      });
      shipping.span({
        name: 'orders process',
        kind: SpanKind.CONSUMER,
        parent: publish,
        start: t + 30,
        ms: 8,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.operation.type': 'process' },
      });
      truth.edge({ client: checkout.node, server: shipping.node, connectionType: 'messaging_system', tls: false, failed: false, clientMs: 1, serverMs: 8 });
    }
  }

  // Stock lookups through the sampling replica until 3 traces were kept; each stands for 4 requests.
  const weight = 1 / frontendSampled.probability;
  let made = 0;
  let kept = 0;
  while (kept < 3) {
    if (++made > 1000) throw new Error('the p=0.25 sampler kept fewer than 3 of 1000 traces');
    const t = t0 + 2500 + made;
    const root = frontendSampled.span({ name: 'GET /stock', kind: SpanKind.SERVER, start: t, ms: 20, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } });
    if (!sampled(root)) continue;
    const notFound = kept === 1;
    const status = notFound ? 404 : 200;
    const call = frontendSampled.span({
      name: 'GET /api/stock',
      kind: SpanKind.CLIENT,
      parent: root,
      start: t + 2,
      ms: 10,
      attributes: { 'http.request.method': 'GET', 'server.address': 'inventory', 'http.response.status_code': status, 'tls.established': true },
      error: notFound,
    });
    inventory.span({
      name: 'GET /api/stock',
      kind: SpanKind.SERVER,
      parent: call,
      start: t + 3,
      ms: 6,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': status, 'tls.established': true },
      error: notFound,
    });
    truth.edge({ client: user, server: frontend.node, connectionType: 'virtual_node', tls: false, failed: false, weight, clientMs: undefined, serverMs: 20 });
    truth.edge({ client: frontend.node, server: inventory.node, connectionType: '', tls: true, failed: false, weight, clientMs: 10, serverMs: 6 });
    kept++;
  }

  // Client spans that name no peer: unpaired once they expire.
  for (let i = 0; i < 2; i++) {
    frontend.span({ name: 'GET /flags', kind: SpanKind.CLIENT, start: t0 + 3000 + i, ms: 5, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } });
  }
  const unpaired = new SeriesMap();
  unpaired.add({ client: 'frontend', server: '', connection_type: '' }, 2);

  // Proxy metrics, exported together with the spans.
  const proxies = proxyMetrics(truth, otlp);

  // Every service flushes at once, so that both halves of each edge arrive well within the store TTL.
  await Promise.all([...services.map((s) => s.provider.forceFlush()), proxies.firstExport()]);
  await proxies.secondExport();
  if (options.preexisting !== undefined) await options.preexisting.report(otlp, truth);
  await Promise.all([...services.map((s) => s.provider.shutdown()), proxies.shutdown()]);

  const result = truth.build({ service: 'frontend', spanName: 'GET /stock', probability: frontendSampled.probability, made, kept });
  for (const s of unpaired.entries()) result.serviceGraph.unpaired.add(s.labels, s.value);
  return result;
}

/** Checkout's Linkerd proxy (protobuf) and catalog's semantic-convention histograms (JSON). */
function proxyMetrics(truth: TruthRecorder, otlp: string) {
  const shop = 'shop';
  const checkout: Node = { namespace: shop, name: 'checkout' };
  const payments: Node = { namespace: 'payments', name: 'payments' };
  const catalog: Node = { namespace: shop, name: 'catalog' };

  // Linkerd: the resource names the workload by its deployment; no service.name.
  const linkerdReader = new PeriodicExportingMetricReader({ exporter: metricExporter('protobuf', otlp), exportIntervalMillis: 600_000 });
  const linkerd = new MeterProvider({
    resource: resourceFromAttributes({ 'k8s.deployment.name': 'checkout', 'k8s.namespace.name': shop, 'k8s.pod.name': 'checkout-7f9b8-abcde' }),
    readers: [linkerdReader],
  });
  const meter = linkerd.getMeter('linkerd-proxy');
  const responses = meter.createCounter('response_total');
  const latency = meter.createHistogram('response_latency_ms', { unit: 'ms', advice: { explicitBucketBoundaries: LINKERD_BUCKETS_MS } });
  const tcp = meter.createUpDownCounter('tcp_open_connections');
  const latencyValues: number[] = [];

  const inbound = (count: number, failed: boolean, tls: boolean) => {
    responses.add(count, { direction: 'inbound', classification: failed ? 'failure' : 'success', tls: String(tls), status_code: failed ? '500' : '200' });
    truth.inbound(checkout, count, failed, tls);
  };
  const outbound = (count: number, failed: boolean) => {
    responses.add(count, {
      direction: 'outbound',
      classification: failed ? 'failure' : 'success',
      tls: 'true',
      status_code: failed ? '503' : '200',
      dst_namespace: 'payments',
      dst_deployment: 'payments',
    });
    truth.outbound(checkout, payments, count, failed, true);
  };
  const observe = (ms: number, count: number) => {
    for (let i = 0; i < count; i++) latency.record(ms, { direction: 'inbound', tls: 'true' });
    truth.inboundLatency(checkout, ms / 1000, count);
    for (let i = 0; i < count; i++) latencyValues.push(ms);
  };

  // Phase 1.
  inbound(25, false, true);
  inbound(3, true, true);
  outbound(20, false);
  outbound(1, true);
  observe(3, 20);
  observe(15, 10);
  tcp.add(4, { direction: 'inbound', peer: 'src' });
  // The other side of the inbound proxy's connections: not the workload's own.
  tcp.add(9, { direction: 'inbound', peer: 'dst' });
  truth.proxyWorkload(checkout).tcp = 4;
  truth.golden.workloadTcp.add({ namespace: shop, workload: 'checkout' }, 4);

  // catalog: semantic-convention histograms in seconds, one export.
  const semconvReader = new PeriodicExportingMetricReader({ exporter: metricExporter('json', otlp), exportIntervalMillis: 600_000 });
  const semconv = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'catalog', 'k8s.namespace.name': shop }), readers: [semconvReader] });
  const http = semconv.getMeter('@opentelemetry/instrumentation-http');
  const server = http.createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: SEMCONV_BUCKETS_S } });
  const client = http.createHistogram('http.client.request.duration', { unit: 's', advice: { explicitBucketBoundaries: SEMCONV_BUCKETS_S } });
  const served = (status: number, seconds: number, count: number) => {
    for (let i = 0; i < count; i++) server.record(seconds, { 'http.request.method': 'GET', 'http.response.status_code': status, 'tls.established': true });
    truth.inbound(catalog, count, status >= 500, true);
    truth.inboundLatency(catalog, seconds, count);
  };
  const called = (peer: Attributes, dst: Node, status: number, seconds: number, count: number) => {
    for (let i = 0; i < count; i++) client.record(seconds, { 'http.request.method': 'GET', 'http.response.status_code': status, ...peer });
    truth.outbound(catalog, dst, count, status >= 500, false);
    truth.outboundLatency(catalog, dst, seconds, count);
  };
  served(200, 0.02, 12);
  served(503, 0.3, 3);
  called({ 'server.address': 'inventory.shop.svc.cluster.local', 'server.port': 8080 }, { namespace: shop, name: 'inventory' }, 200, 0.004, 8);
  called({ 'peer.service': 'pricing' }, { namespace: shop, name: 'pricing' }, 200, 0.05, 4);
  called({ 'peer.service': 'pricing' }, { namespace: shop, name: 'pricing' }, 500, 0.5, 2);

  return {
    firstExport: () => Promise.all([linkerd.forceFlush(), semconv.forceFlush()]),
    /** Phase 2 of the Linkerd proxy: the cumulative values grow and one stream appears. */
    secondExport: async () => {
      inbound(15, false, true);
      inbound(5, false, false);
      outbound(10, false);
      observe(15, 10);
      observe(250, 8);
      for (const le of LINKERD_BUCKETS_MS) {
        truth.golden.workloadLatencyBuckets.add({ namespace: shop, workload: 'checkout', le: String(le / 1000) }, latencyValues.filter((v) => v <= le).length);
      }
      truth.golden.workloadLatencyBuckets.add({ namespace: shop, workload: 'checkout', le: '+Inf' }, latencyValues.length);
      await linkerd.forceFlush();
    },
    shutdown: () => Promise.all([linkerd.shutdown(), semconv.shutdown()]),
  };
}
