/**
 * Real OpenTelemetry SDK telemetry for the OTLP decoder and receiver tests: spans and metrics made
 * by the official JS SDK for a small service mesh, serialized by the serializers the official
 * OTLP exporters use, plus typed access to an independent decoder (the OTel JS project's
 * protobufjs code generated from the official OTLP protos) to check our decoders against.
 */
import { createRequire } from 'node:module';
import {
  ROOT_CONTEXT,
  SpanKind as ApiSpanKind,
  SpanStatusCode,
  TraceFlags,
  ValueType,
  createTraceState,
  trace,
  type Attributes,
  type Context,
  type Span as ApiSpan,
  type SpanContext,
} from '@opentelemetry/api';
import {
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource as SdkResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics as SdkResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type IdGenerator,
  TracerProvider,
  type ReadableSpan,
  type SpanLimits,
} from '@opentelemetry/sdk-trace';
import { KvList, type AnyValue, type InstrumentationScope, type KeyValue, type Resource } from '../../collector/model/common.js';
import type {
  Exemplar,
  ExponentialHistogramPoint,
  HistogramPoint,
  Metric,
  MetricData,
  MetricsData,
  NumberPoint,
  SummaryPoint,
  Temporality,
} from '../../collector/model/metrics.js';
import type { Span, SpanKind, StatusCode, TracesData } from '../../collector/model/traces.js';

// ---------------------------------------------------------------------------------------------
// Time: explicit, nanosecond-precise HrTimes, so that 64-bit timestamps are exercised exactly.

/** 2023-11-14T22:13:20Z plus `ms` milliseconds and `extraNs` nanoseconds, as an SDK HrTime. */
export function hrTime(ms: number, extraNs = 0): [number, number] {
  const base = 1_700_000_000;
  const totalNs = (ms % 1000) * 1_000_000 + extraNs;
  return [base + Math.floor(ms / 1000) + Math.floor(totalNs / 1e9), totalNs % 1e9];
}

// ---------------------------------------------------------------------------------------------
// Spans

/** A workload of the example mesh: one SDK TracerProvider with its own resource. */
export interface Workload {
  name: string;
  namespace: string;
}

export const MESH_WORKLOADS = {
  frontend: { name: 'frontend', namespace: 'web' },
  checkout: { name: 'checkout', namespace: 'shop' },
  payments: { name: 'payments', namespace: 'shop' },
  notifier: { name: 'notifier', namespace: 'ops' },
} as const satisfies Record<string, Workload>;

function workloadResource(w: Workload, extra: Attributes = {}): SdkResource {
  return resourceFromAttributes({
    'service.name': w.name,
    'service.namespace': w.namespace,
    'service.version': '1.4.2',
    'k8s.namespace.name': w.namespace,
    'k8s.deployment.name': w.name,
    'k8s.pod.name': `${w.name}-5d8c7b9f6-x7k2p`,
    'telemetry.sdk.language': 'nodejs',
    ...extra,
  });
}

interface Tracing {
  provider: TracerProvider;
  exporter: InMemorySpanExporter;
}

/**
 * Ids from a counter instead of the SDK's random generator, so that a payload is the same bytes
 * on every run (the fuzz tests replay a seed against the same corpus).
 */
export function sequentialIds(start = 1): IdGenerator {
  let n = start;
  const next = (chars: number) => (n++).toString(16).padStart(chars, '0');
  return { generateTraceId: () => `ab${next(30)}`, generateSpanId: () => `cd${next(14)}` };
}

function tracing(w: Workload, spanLimits: SpanLimits = {}, extra: Attributes = {}, idGenerator?: IdGenerator): Tracing {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: workloadResource(w, extra),
    spanLimits,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(idGenerator ? { idGenerator } : {}),
  });
  return { provider, exporter };
}

/** The context a server sees for a remote parent (what a propagator would extract). */
function remote(span: ApiSpan): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { ...span.spanContext(), isRemote: true });
}

function child(parent: ApiSpan): Context {
  return trace.setSpan(ROOT_CONTEXT, parent);
}

/**
 * Attribute values of every type the SDK accepts: string (incl. non-ASCII and empty), int (small,
 * negative, beyond 2^53 but exact), double, bool, homogeneous arrays, a mixed array with a null,
 * bytes, and a nested map (an OTLP kvlist).
 */
export const EVERY_TYPE_ATTRIBUTES = {
  'http.request.method': 'GET',
  'url.path': '/cart/naïve/✓/🚀',
  'empty.string': '',
  'http.response.status_code': 200,
  'negative.int': -42,
  'big.int': 2 ** 60,
  'min.int': -(2 ** 62),
  'sampling.ratio': 0.25,
  'negative.double': -1.5e-7,
  'tls.established': true,
  'retry.disabled': false,
  'string.array': ['a', 'b', ''],
  'int.array': [1, -2, 3000000000],
  'double.array': [0.5, 1.25],
  'bool.array': [true, false],
  'mixed.array': ['x', 1, 2.5, true, null],
  'bytes.value': new Uint8Array([0, 1, 2, 0xfe, 0xff]),
  'map.value': { peer: { name: 'checkout', port: 8443, weights: [0.5, 0.5] }, secure: true },
} as const;

/** A fresh copy per span (the SDK keeps what it is given). */
function everyTypeAttributes(): Attributes {
  return { ...EVERY_TYPE_ATTRIBUTES };
}

export interface MeshSpans {
  spans: ReadableSpan[];
  /** Ids of interest, as the SDK reports them (lowercase hex). */
  traceId: string;
  linkedTraceId: string;
}

/**
 * Spans of one request through the example mesh, made by the SDK with one TracerProvider per
 * workload (so one resource per workload) and context handed across "the network" the way a
 * propagator does: an ingress with a W3C tracestate, frontend SERVER + CLIENT, checkout SERVER and
 * its database and gRPC CLIENT spans, payments SERVER failing with an exception event and
 * PRODUCER, notifier CONSUMER linked to the producer, plus a second independent trace.
 */
export async function meshSpans(options: { deterministic?: boolean } = {}): Promise<MeshSpans> {
  const ids = options.deterministic ? sequentialIds() : undefined;
  const frontend = tracing(MESH_WORKLOADS.frontend, {}, { 'host.cpu.count': 4, 'deployment.canary': false }, ids);
  const checkout = tracing(MESH_WORKLOADS.checkout, {}, {}, ids);
  // Limits low enough that the dropped counts are not zero.
  const payments = tracing(MESH_WORKLOADS.payments, { eventCountLimit: 2, attributeCountLimit: 6, linkCountLimit: 1 }, {}, ids);
  const notifier = tracing(MESH_WORKLOADS.notifier, {}, {}, ids);

  // The ingress gateway sampled at 1/4 (W3C tracestate `ot=th:c`) and forwarded the request.
  const ingress: SpanContext = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('ot=th:c;rv:ab12cd34ef5678,vendor=blue'),
  };
  const ingressCtx = trace.setSpanContext(ROOT_CONTEXT, ingress);

  const fe = frontend.provider.getTracer('meshtel.fixtures/http', '2.0.1', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });
  const feServer = fe.startSpan('GET /cart', { kind: ApiSpanKind.SERVER, startTime: hrTime(0, 1), attributes: everyTypeAttributes() }, ingressCtx);
  feServer.addEvent('cache.miss', { 'cache.key': 'cart:42', 'cache.size': 1024 }, hrTime(1, 500));
  const feClient = fe.startSpan(
    'POST /checkout',
    {
      kind: ApiSpanKind.CLIENT,
      startTime: hrTime(2),
      attributes: { 'http.request.method': 'POST', 'server.address': 'checkout.shop.svc', 'server.port': 8080, 'peer.service': 'checkout' },
    },
    child(feServer),
  );

  const co = checkout.provider.getTracer('meshtel.fixtures/http', '2.0.1');
  const coServer = co.startSpan(
    'POST /checkout',
    { kind: ApiSpanKind.SERVER, startTime: hrTime(3), attributes: { 'http.request.method': 'POST', 'http.response.status_code': 503, 'tls.client.subject': 'CN=frontend.web' } },
    remote(feClient),
  );
  const coDb = checkout.provider.getTracer('meshtel.fixtures/pg', '0.9.0').startSpan(
    'SELECT orders',
    {
      kind: ApiSpanKind.CLIENT,
      startTime: hrTime(4),
      attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'orders', 'db.query.text': 'SELECT * FROM orders WHERE id = $1', 'server.address': 'pg.data.svc' },
    },
    child(coServer),
  );
  coDb.end(hrTime(9, 999_999));
  const coGrpc = co.startSpan(
    'payments.v1.Payments/Charge',
    { kind: ApiSpanKind.CLIENT, startTime: hrTime(10), attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 13, 'server.address': 'payments.shop.svc' } },
    child(coServer),
  );

  const pay = payments.provider.getTracer('meshtel.fixtures/grpc');
  const payServer = pay.startSpan(
    'payments.v1.Payments/Charge',
    { kind: ApiSpanKind.SERVER, startTime: hrTime(11), attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 13 } },
    remote(coGrpc),
  );
  for (let i = 0; i < 9; i++) payServer.setAttribute(`payment.attempt.${i}`, i);
  // The SDK drops the oldest events over the limit: the first retry goes, the exception stays.
  payServer.addEvent('retry', { attempt: 1 }, hrTime(12));
  payServer.addEvent('retry', { attempt: 2 }, hrTime(13));
  payServer.recordException(new Error('card processor unavailable'), hrTime(14));
  payServer.setStatus({ code: SpanStatusCode.ERROR, message: 'card processor unavailable' });
  const producer = pay.startSpan(
    'orders publish',
    { kind: ApiSpanKind.PRODUCER, startTime: hrTime(15), attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } },
    child(payServer),
  );
  producer.end(hrTime(16));
  payServer.end(hrTime(17));
  coGrpc.setStatus({ code: SpanStatusCode.ERROR });
  coGrpc.end(hrTime(18));
  coServer.setStatus({ code: SpanStatusCode.OK });
  coServer.end(hrTime(19));
  feClient.end(hrTime(20));
  feServer.end(hrTime(21, 7));

  // The consumer runs in its own trace and links to the producer (with link attributes).
  const nt = notifier.provider.getTracer('meshtel.fixtures/kafka');
  const consumer = nt.startSpan('orders process', {
    kind: ApiSpanKind.CONSUMER,
    root: true,
    startTime: hrTime(30),
    links: [
      { context: { ...producer.spanContext(), isRemote: true, traceState: createTraceState('vendor=red') }, attributes: { 'messaging.batch.index': 0, 'link.reason': 'batch' } },
      { context: ingress },
    ],
    attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'process' },
  });
  const internal = nt.startSpan('render email', { kind: ApiSpanKind.INTERNAL, startTime: hrTime(31) }, child(consumer));
  internal.end(hrTime(32));
  consumer.end(hrTime(33));

  // Payments links are limited to one; a second trace root with a dropped link.
  const batch = pay.startSpan('settle batch', {
    root: true,
    startTime: hrTime(40),
    links: [{ context: feServer.spanContext() }, { context: consumer.spanContext() }],
  });
  batch.end(hrTime(41));

  const all: ReadableSpan[] = [];
  for (const t of [frontend, checkout, payments, notifier]) {
    await t.provider.forceFlush();
    all.push(...t.exporter.getFinishedSpans());
    await t.provider.shutdown();
  }
  return { spans: all, traceId: ingress.traceId, linkedTraceId: consumer.spanContext().traceId };
}

/** The bytes the official OTLP exporters would send for `spans`. */
export function serializeSpans(spans: ReadableSpan[]): { protobuf: Uint8Array; json: Uint8Array } {
  const protobuf = ProtobufTraceSerializer.serializeRequest(spans);
  const json = JsonTraceSerializer.serializeRequest(spans);
  if (protobuf === undefined || json === undefined) throw new Error('the OTLP trace serializers returned nothing');
  return { protobuf, json };
}

/** A small batch of `count` SDK spans from one workload, for the receiver tests. */
export async function simpleSpans(count: number, w: Workload = MESH_WORKLOADS.frontend): Promise<ReadableSpan[]> {
  const t = tracing(w);
  const tracer = t.provider.getTracer('meshtel.fixtures/simple');
  for (let i = 0; i < count; i++) {
    tracer.startSpan(`GET /item/${i}`, { kind: ApiSpanKind.SERVER, startTime: hrTime(i), attributes: { 'http.response.status_code': 200 } }).end(hrTime(i + 1));
  }
  await t.provider.forceFlush();
  const spans = t.exporter.getFinishedSpans();
  await t.provider.shutdown();
  return spans;
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** A reader that collects on demand (what a pull exporter does), with a temporality per instrument. */
class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export type TemporalityChoice = 'mixed' | 'delta';

/**
 * One collection of every kind of SDK metric a mesh proxy or service emits: a monotonic int
 * counter (cumulative in `mixed`), an observable counter (delta in `mixed`), an up-down counter,
 * a synchronous gauge and an observable gauge, an explicit-bucket histogram and an exponential
 * histogram (through a view), with attributes of several types.
 */
export async function meshMetrics(w: Workload = MESH_WORKLOADS.checkout, temporality: TemporalityChoice = 'mixed'): Promise<SdkResourceMetrics> {
  const reader = new CollectingReader({
    aggregationTemporalitySelector: (type) => {
      if (temporality === 'delta') return AggregationTemporality.DELTA;
      return type === InstrumentType.OBSERVABLE_COUNTER || type === InstrumentType.HISTOGRAM
        ? AggregationTemporality.DELTA
        : AggregationTemporality.CUMULATIVE;
    },
  });
  const provider = new MeterProvider({
    resource: workloadResource(w),
    readers: [reader],
    views: [{ instrumentName: 'mesh.request.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 40 } } }],
  });
  const meter = provider.getMeter('meshtel.fixtures/proxy', '1.0.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' });

  const requests = meter.createCounter('mesh.requests', { description: 'Requests handled by the proxy.', unit: '{request}', valueType: ValueType.INT });
  requests.add(7, { direction: 'inbound', 'dst.workload': 'checkout', tls: true });
  requests.add(3, { direction: 'outbound', 'dst.workload': 'payments', tls: true });
  requests.add(2 ** 40, { direction: 'outbound', 'dst.workload': 'pg', tls: false });

  let bytes = 1000;
  meter
    .createObservableCounter('mesh.tcp.bytes', { unit: 'By', valueType: ValueType.INT })
    .addCallback((r) => {
      bytes += 512;
      r.observe(bytes, { direction: 'inbound', 'peer.port': 8443 });
    });

  const open = meter.createUpDownCounter('mesh.tcp.connections.open', { unit: '{connection}', valueType: ValueType.INT });
  open.add(5, { direction: 'inbound' });
  open.add(-7, { direction: 'outbound' });

  meter.createGauge('mesh.queue.depth', { description: 'Pending requests.' }).record(12.75, { queue: 'ingress', weights: [0.5, 2] });
  meter.createObservableGauge('process.cpu.utilization', { unit: '1' }).addCallback((r) => r.observe(0.375, { 'cpu.mode': 'user' }));

  const latency = meter.createHistogram('mesh.response.latency', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [1, 5, 10, 50, 100, 500] },
  });
  for (const v of [0.4, 3, 3.5, 12, 48, 77.7, 480, 2500]) latency.record(v, { status_code: v > 400 ? '5xx' : '2xx', 'rpc.grpc.status_code': v > 400 ? 14 : 0 });

  const size = meter.createHistogram('mesh.request.size', { unit: 'By' });
  for (const v of [0, 0, 1, 3, 17, 1e3, 4096, 65536, 1.5e6]) size.record(v, { method: 'POST' });

  const result = await reader.collect();
  await provider.shutdown();
  if (result.errors.length > 0) throw new Error(`metric collection failed: ${String(result.errors[0])}`);
  return result.resourceMetrics;
}

/**
 * Replaces the collection times (the SDK reads the clock) with fixed ones, so that a payload is
 * the same bytes on every run. Everything else stays as the SDK aggregated it.
 */
export function pinTimes(rm: SdkResourceMetrics): SdkResourceMetrics {
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      // The SDK types them readonly for exporters; this is the producer's side.
      for (const p of m.dataPoints) Object.assign(p, { startTime: hrTime(0, 1), endTime: hrTime(10_000, 2) });
    }
  }
  return rm;
}

export function serializeMetrics(resourceMetrics: SdkResourceMetrics): { protobuf: Uint8Array; json: Uint8Array } {
  const protobuf = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
  const json = JsonMetricsSerializer.serializeRequest(resourceMetrics);
  if (protobuf === undefined || json === undefined) throw new Error('the OTLP metrics serializers returned nothing');
  return { protobuf, json };
}

// ---------------------------------------------------------------------------------------------
// The official decoder: protobufjs code generated from the OTLP protos (OTel JS 0.208).

/** A protobufjs 64-bit integer: a Long when the `long` package is present, else a number. */
export type PbLong = number | { low: number; high: number; unsigned: boolean };

export interface PbAnyValue {
  stringValue: string | null;
  boolValue: boolean | null;
  intValue: PbLong | null;
  doubleValue: number | null;
  arrayValue: { values: PbAnyValue[] } | null;
  kvlistValue: { values: PbKeyValue[] } | null;
  bytesValue: Uint8Array | null;
}
export interface PbKeyValue {
  key: string | null;
  value: PbAnyValue | null;
}
export interface PbResource {
  attributes: PbKeyValue[];
  droppedAttributesCount: number | null;
}
export interface PbScope {
  name: string | null;
  version: string | null;
  attributes: PbKeyValue[];
  droppedAttributesCount: number | null;
}
export interface PbSpan {
  traceId: Uint8Array | null;
  spanId: Uint8Array | null;
  traceState: string | null;
  parentSpanId: Uint8Array | null;
  flags: number | null;
  name: string | null;
  kind: number | null;
  startTimeUnixNano: PbLong | null;
  endTimeUnixNano: PbLong | null;
  attributes: PbKeyValue[];
  droppedAttributesCount: number | null;
  events: {
    timeUnixNano: PbLong | null;
    name: string | null;
    attributes: PbKeyValue[];
    droppedAttributesCount: number | null;
  }[];
  droppedEventsCount: number | null;
  links: {
    traceId: Uint8Array | null;
    spanId: Uint8Array | null;
    traceState: string | null;
    attributes: PbKeyValue[];
    droppedAttributesCount: number | null;
    flags: number | null;
  }[];
  droppedLinksCount: number | null;
  status: { message: string | null; code: number | null } | null;
}
export interface PbTracesRequest {
  resourceSpans: {
    resource: PbResource | null;
    scopeSpans: { scope: PbScope | null; spans: PbSpan[]; schemaUrl: string | null }[];
    schemaUrl: string | null;
  }[];
}
interface PbPointBase {
  attributes: PbKeyValue[];
  startTimeUnixNano: PbLong | null;
  timeUnixNano: PbLong | null;
  /** Absent on summary points, which have no exemplars. */
  exemplars?: PbExemplar[];
  flags: number | null;
}
export interface PbExemplar {
  filteredAttributes: PbKeyValue[];
  timeUnixNano: PbLong | null;
  asDouble: number | null;
  asInt: PbLong | null;
  spanId: Uint8Array | null;
  traceId: Uint8Array | null;
}
export interface PbNumberPoint extends PbPointBase {
  asDouble: number | null;
  asInt: PbLong | null;
}
export interface PbHistogramPoint extends PbPointBase {
  count: PbLong | null;
  sum: number | null;
  bucketCounts: PbLong[];
  explicitBounds: number[];
  min: number | null;
  max: number | null;
}
export interface PbExponentialPoint extends PbPointBase {
  count: PbLong | null;
  sum: number | null;
  scale: number | null;
  zeroCount: PbLong | null;
  positive: { offset: number | null; bucketCounts: PbLong[] } | null;
  negative: { offset: number | null; bucketCounts: PbLong[] } | null;
  min: number | null;
  max: number | null;
  zeroThreshold: number | null;
}
export interface PbSummaryPoint extends PbPointBase {
  count: PbLong | null;
  sum: number | null;
  quantileValues: { quantile: number | null; value: number | null }[];
}
export interface PbMetric {
  name: string | null;
  description: string | null;
  unit: string | null;
  gauge: { dataPoints: PbNumberPoint[] } | null;
  sum: { dataPoints: PbNumberPoint[]; aggregationTemporality: number | null; isMonotonic: boolean | null } | null;
  histogram: { dataPoints: PbHistogramPoint[]; aggregationTemporality: number | null } | null;
  exponentialHistogram: { dataPoints: PbExponentialPoint[]; aggregationTemporality: number | null } | null;
  summary: { dataPoints: PbSummaryPoint[] } | null;
  metadata: PbKeyValue[];
}
export interface PbMetricsRequest {
  resourceMetrics: {
    resource: PbResource | null;
    scopeMetrics: { scope: PbScope | null; metrics: PbMetric[]; schemaUrl: string | null }[];
    schemaUrl: string | null;
  }[];
}
export interface PbPartialSuccessResponse {
  partialSuccess: { rejectedSpans?: PbLong | null; rejectedDataPoints?: PbLong | null; errorMessage: string | null } | null;
}

/** A generated message type: decode, plus encode/fromObject for hand-made payloads. */
export interface PbType<T> {
  decode(bytes: Uint8Array): T;
  encode(message: unknown): { finish(): Uint8Array };
  fromObject(object: Record<string, unknown>): unknown;
  verify(message: unknown): string | null;
}

export interface OfficialOtlp {
  ExportTraceServiceRequest: PbType<PbTracesRequest>;
  ExportTraceServiceResponse: PbType<PbPartialSuccessResponse>;
  ExportMetricsServiceRequest: PbType<PbMetricsRequest>;
  ExportMetricsServiceResponse: PbType<PbPartialSuccessResponse>;
}

const requireCjs = createRequire(import.meta.url);
const ROOT_PATH = 'otlp-transformer-protobufjs/build/src/generated/root.js';

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: PbType<PbTracesRequest>; ExportTraceServiceResponse: PbType<PbPartialSuccessResponse> } };
        metrics: { v1: { ExportMetricsServiceRequest: PbType<PbMetricsRequest>; ExportMetricsServiceResponse: PbType<PbPartialSuccessResponse> } };
      };
    };
  };
}

/** The official generated protobufjs messages (independent of our decoder). */
export function officialOtlp(): OfficialOtlp {
  const root = requireCjs(ROOT_PATH) as GeneratedRoot;
  const { trace: t, metrics: m } = root.opentelemetry.proto.collector;
  return {
    ExportTraceServiceRequest: t.v1.ExportTraceServiceRequest,
    ExportTraceServiceResponse: t.v1.ExportTraceServiceResponse,
    ExportMetricsServiceRequest: m.v1.ExportMetricsServiceRequest,
    ExportMetricsServiceResponse: m.v1.ExportMetricsServiceResponse,
  };
}

interface ProtobufJsFull {
  parse(source: string, options?: { keepCase?: boolean }): { root: { lookupType(name: string): PbType<unknown> } };
}

/**
 * `google.rpc.Status`, which the generated OTLP root does not contain, built with the same
 * protobufjs library the generated code uses, from the message definition in
 * https://github.com/googleapis/googleapis/blob/master/google/rpc/status.proto.
 */
export function officialRpcStatus(): PbType<{ code: number | null; message: string | null; details: unknown[] }> {
  const fromRoot = createRequire(requireCjs.resolve(ROOT_PATH));
  const protobuf = fromRoot('protobufjs') as ProtobufJsFull;
  const { root } = protobuf.parse(`
    syntax = "proto3";
    package google.rpc;
    message Any { string type_url = 1; bytes value = 2; }
    message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  `);
  return root.lookupType('google.rpc.Status') as PbType<{ code: number | null; message: string | null; details: unknown[] }>;
}

/** protobufjs's wire-format writer (the one the generated OTLP code uses), for byte-level tests. */
export interface PbWriter {
  uint32(value: number): PbWriter;
  int32(value: number): PbWriter;
  sint32(value: number): PbWriter;
  uint64(value: string | number): PbWriter;
  int64(value: string | number): PbWriter;
  fixed32(value: number): PbWriter;
  fixed64(value: string | number): PbWriter;
  sfixed64(value: string | number): PbWriter;
  double(value: number): PbWriter;
  bool(value: boolean): PbWriter;
  string(value: string): PbWriter;
  bytes(value: Uint8Array): PbWriter;
  fork(): PbWriter;
  ldelim(): PbWriter;
  finish(): Uint8Array;
}

/** protobufjs's wire-format reader; 64-bit reads return Longs. */
export interface PbReader {
  pos: number;
  len: number;
  uint32(): number;
  int32(): number;
  sint32(): number;
  uint64(): PbLong;
  int64(): PbLong;
  fixed32(): number;
  fixed64(): PbLong;
  sfixed64(): PbLong;
  double(): number;
  bool(): boolean;
  string(): string;
  bytes(): Uint8Array;
  skipType(wireType: number): PbReader;
}

export interface PbWireFormat {
  Writer: { create(): PbWriter };
  Reader: { create(buffer: Uint8Array): PbReader };
}

/** The protobufjs runtime the generated OTLP code runs on (protobufjs/minimal, with `long`). */
export function officialWireFormat(): PbWireFormat {
  return createRequire(requireCjs.resolve(ROOT_PATH))('protobufjs/minimal') as PbWireFormat;
}

// ---------------------------------------------------------------------------------------------
// Converting the official decoder's output into our model, applying the proto3 defaults our model
// documents (absent string '', absent number 0, absent timestamp 0n, absent optional double
// undefined), so that the two can be compared with one deep equality.

export function pbBigInt(v: PbLong | null | undefined, signed: boolean): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const u = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

function pbNumber(v: PbLong | null | undefined): number {
  return Number(pbBigInt(v, false));
}

export function hex(bytes: Uint8Array | null | undefined): string {
  return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : '';
}

export function pbAnyValue(v: PbAnyValue | null): AnyValue {
  if (v === null) return null;
  if (v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== null) return v.boolValue;
  if (v.intValue !== null) return pbBigInt(v.intValue, true);
  if (v.doubleValue !== null) return v.doubleValue;
  if (v.arrayValue !== null) return v.arrayValue.values.map(pbAnyValue);
  if (v.kvlistValue !== null) return new KvList(pbAttributes(v.kvlistValue.values));
  if (v.bytesValue !== null) return new Uint8Array(v.bytesValue);
  return null;
}

export function pbAttributes(kvs: PbKeyValue[]): KeyValue[] {
  return kvs.map((kv) => ({ key: kv.key ?? '', value: pbAnyValue(kv.value) }));
}

function pbResource(r: PbResource | null): Resource {
  return { attributes: pbAttributes(r?.attributes ?? []), droppedAttributesCount: r?.droppedAttributesCount ?? 0 };
}

function pbScope(s: PbScope | null): InstrumentationScope {
  return {
    name: s?.name ?? '',
    version: s?.version ?? '',
    attributes: pbAttributes(s?.attributes ?? []),
    droppedAttributesCount: s?.droppedAttributesCount ?? 0,
  };
}

function pbSpan(s: PbSpan): Span {
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    traceState: s.traceState ?? '',
    parentSpanId: hex(s.parentSpanId),
    flags: s.flags ?? 0,
    name: s.name ?? '',
    kind: (s.kind ?? 0) as SpanKind,
    startTimeUnixNano: pbBigInt(s.startTimeUnixNano, false),
    endTimeUnixNano: pbBigInt(s.endTimeUnixNano, false),
    attributes: pbAttributes(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    events: s.events.map((e) => ({
      timeUnixNano: pbBigInt(e.timeUnixNano, false),
      name: e.name ?? '',
      attributes: pbAttributes(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: s.links.map((l) => ({
      traceId: hex(l.traceId),
      spanId: hex(l.spanId),
      traceState: l.traceState ?? '',
      attributes: pbAttributes(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: l.flags ?? 0,
    })),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    status: { code: (s.status?.code ?? 0) as StatusCode, message: s.status?.message ?? '' },
  };
}

/** The official decoding of an ExportTraceServiceRequest, expressed in our model. */
export function officialTraces(bytes: Uint8Array): TracesData {
  const req = officialOtlp().ExportTraceServiceRequest.decode(bytes);
  return {
    resourceSpans: req.resourceSpans.map((rs) => ({
      resource: pbResource(rs.resource),
      scopeSpans: rs.scopeSpans.map((ss) => ({ scope: pbScope(ss.scope), spans: ss.spans.map(pbSpan), schemaUrl: ss.schemaUrl ?? '' })),
      schemaUrl: rs.schemaUrl ?? '',
    })),
  };
}

function pbExemplar(x: PbExemplar): Exemplar {
  return {
    filteredAttributes: pbAttributes(x.filteredAttributes),
    timeUnixNano: pbBigInt(x.timeUnixNano, false),
    value: x.asInt !== null ? pbBigInt(x.asInt, true) : (x.asDouble ?? 0),
    spanId: hex(x.spanId),
    traceId: hex(x.traceId),
  };
}

function pbBase(p: PbPointBase) {
  return {
    attributes: pbAttributes(p.attributes),
    startTimeUnixNano: pbBigInt(p.startTimeUnixNano, false),
    timeUnixNano: pbBigInt(p.timeUnixNano, false),
    exemplars: (p.exemplars ?? []).map(pbExemplar),
    flags: p.flags ?? 0,
  };
}

function pbNumberPoint(p: PbNumberPoint): NumberPoint {
  return { ...pbBase(p), value: p.asInt !== null ? pbBigInt(p.asInt, true) : (p.asDouble ?? 0) };
}

function pbHistogramPoint(p: PbHistogramPoint): HistogramPoint {
  return {
    ...pbBase(p),
    count: pbNumber(p.count),
    sum: p.sum ?? undefined,
    bucketCounts: p.bucketCounts.map(pbNumber),
    explicitBounds: [...p.explicitBounds],
    min: p.min ?? undefined,
    max: p.max ?? undefined,
  };
}

function pbExponentialPoint(p: PbExponentialPoint): ExponentialHistogramPoint {
  return {
    ...pbBase(p),
    count: pbNumber(p.count),
    sum: p.sum ?? undefined,
    scale: p.scale ?? 0,
    zeroCount: pbNumber(p.zeroCount),
    positive: { offset: p.positive?.offset ?? 0, bucketCounts: (p.positive?.bucketCounts ?? []).map(pbNumber) },
    negative: { offset: p.negative?.offset ?? 0, bucketCounts: (p.negative?.bucketCounts ?? []).map(pbNumber) },
    min: p.min ?? undefined,
    max: p.max ?? undefined,
    zeroThreshold: p.zeroThreshold ?? 0,
  };
}

function pbSummaryPoint(p: PbSummaryPoint): SummaryPoint {
  return {
    ...pbBase(p),
    count: pbNumber(p.count),
    sum: p.sum ?? 0,
    quantileValues: p.quantileValues.map((q) => ({ quantile: q.quantile ?? 0, value: q.value ?? 0 })),
  };
}

function pbMetricData(m: PbMetric): MetricData {
  if (m.gauge) return { type: 'gauge', points: m.gauge.dataPoints.map(pbNumberPoint) };
  if (m.sum) {
    return {
      type: 'sum',
      points: m.sum.dataPoints.map(pbNumberPoint),
      temporality: (m.sum.aggregationTemporality ?? 0) as Temporality,
      monotonic: m.sum.isMonotonic ?? false,
    };
  }
  if (m.histogram) {
    return { type: 'histogram', points: m.histogram.dataPoints.map(pbHistogramPoint), temporality: (m.histogram.aggregationTemporality ?? 0) as Temporality };
  }
  if (m.exponentialHistogram) {
    return {
      type: 'exponentialHistogram',
      points: m.exponentialHistogram.dataPoints.map(pbExponentialPoint),
      temporality: (m.exponentialHistogram.aggregationTemporality ?? 0) as Temporality,
    };
  }
  if (m.summary) return { type: 'summary', points: m.summary.dataPoints.map(pbSummaryPoint) };
  return { type: 'empty' };
}

function pbMetric(m: PbMetric): Metric {
  return { name: m.name ?? '', description: m.description ?? '', unit: m.unit ?? '', data: pbMetricData(m), metadata: pbAttributes(m.metadata) };
}

/** The official decoding of an ExportMetricsServiceRequest, expressed in our model. */
export function officialMetrics(bytes: Uint8Array): MetricsData {
  const req = officialOtlp().ExportMetricsServiceRequest.decode(bytes);
  return {
    resourceMetrics: req.resourceMetrics.map((rm) => ({
      resource: pbResource(rm.resource),
      scopeMetrics: rm.scopeMetrics.map((sm) => ({ scope: pbScope(sm.scope), metrics: sm.metrics.map(pbMetric), schemaUrl: sm.schemaUrl ?? '' })),
      schemaUrl: rm.schemaUrl ?? '',
    })),
  };
}

/**
 * A plain, comparable form of a model value: bytes become `{ bytes: hex }` (our decoder may hand
 * out a Buffer, the official one a Uint8Array), key-value lists `{ kvlist: [...] }`, and NaN a
 * marker (deep equality treats NaN as equal anyway; this keeps diffs readable).
 */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: hex(value) };
  if (value instanceof KvList) return { kvlist: value.values.map(comparable) };
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = comparable(v);
    return out;
  }
  return value;
}
