/**
 * The OTLP/HTTP receiver's HTTP semantics (https://opentelemetry.io/docs/specs/otlp/#otlphttp),
 * through fastify's inject and through the official OpenTelemetry JS exporters against a
 * listening receiver: 200 with an empty response or partial_success, 400 with a google.rpc.Status
 * in the request's encoding, 413 before and after decompression (with bounded memory), 415,
 * 429/503 with Retry-After, never 500, and the self-telemetry counting each outcome.
 */
import { once } from 'node:events';
import http from 'node:http';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ResourceMetrics as SdkResourceMetrics } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Aggregator } from '../../../collector/aggregation/aggregator.js';
import { aggregationConfigSchema } from '../../../collector/aggregation/config.js';
import { countPoints } from '../../../collector/model/metrics.js';
import { decodeMetricsProto } from '../../../collector/otlp/decode-metrics-proto.js';
import { decodeTracesProto } from '../../../collector/otlp/decode-traces-proto.js';
import {
  ACCEPTED,
  type ConsumeResult,
  type MetricBatch,
  type MetricsConsumer,
  type TraceBatch,
  type TracesConsumer,
} from '../../../collector/pipeline/consumer.js';
import { otlpHttpConfigSchema } from '../../../collector/receivers/otlp-http/config.js';
import { OtlpHttpReceiver } from '../../../collector/receivers/otlp-http/receiver.js';
import { Rng, mutate, parseSeed } from '../../fuzz/mutations.js';
import { waitFor } from '../../support/processes.js';
import {
  MESH_WORKLOADS,
  comparable,
  meshMetrics,
  meshSpans,
  officialMetrics,
  officialOtlp,
  officialRpcStatus,
  officialTraces,
  pbBigInt,
  serializeMetrics,
  serializeSpans,
  simpleSpans,
} from '../../support/otel-fixtures.js';

const otlp = officialOtlp();
const RpcStatus = officialRpcStatus();
const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** Our own consumer interface, recording what it was handed and answering what a test says. */
class RecordingConsumer implements TracesConsumer, MetricsConsumer {
  readonly traces: TraceBatch[] = [];
  readonly metrics: MetricBatch[] = [];
  answer: () => ConsumeResult | Promise<ConsumeResult> = () => ACCEPTED;

  consumeTraces(batch: TraceBatch): ConsumeResult | Promise<ConsumeResult> {
    this.traces.push(batch);
    return this.answer();
  }

  consumeMetrics(batch: MetricBatch): ConsumeResult | Promise<ConsumeResult> {
    this.metrics.push(batch);
    return this.answer();
  }
}

interface Harness {
  receiver: OtlpHttpReceiver;
  registry: Registry;
  consumer: RecordingConsumer;
}

const receivers: OtlpHttpReceiver[] = [];

function harness(config: Record<string, unknown> = {}, consumer: TracesConsumer & MetricsConsumer = new RecordingConsumer()): Harness {
  const registry = new Registry();
  const receiver = new OtlpHttpReceiver(otlpHttpConfigSchema.parse(config), {
    traces: consumer,
    metrics: consumer,
    registry,
    logger: pino({ level: 'silent' }),
  });
  receivers.push(receiver);
  return { receiver, registry, consumer: consumer as RecordingConsumer };
}

afterEach(async () => {
  for (const r of receivers.splice(0)) await r.shutdown();
});

/** The sum of a counter's values over the series matching `labels`. */
async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name} in the registry`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

function post(h: Harness, signal: 'traces' | 'metrics', body: Uint8Array | string, headers: Record<string, string>) {
  return h.receiver.app.inject({ method: 'POST', url: `/v1/${signal}`, headers, payload: typeof body === 'string' ? body : Buffer.from(body) });
}

/** The google.rpc.Status of an error answer, decoded per its Content-Type. */
function status(res: { headers: Record<string, unknown>; rawPayload: Buffer }): { code: number; message: string } {
  const type = String(res.headers['content-type']);
  if (type.startsWith(PROTOBUF)) {
    const s = RpcStatus.decode(res.rawPayload);
    return { code: s.code ?? 0, message: s.message ?? '' };
  }
  expect(type.startsWith(JSON_TYPE)).toBe(true);
  return JSON.parse(res.rawPayload.toString('utf8')) as { code: number; message: string };
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const VALID_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** Five spans: two valid, one without a trace id, one with an all-zero trace id, one with an all-zero span id. */
function mixedValiditySpans(): { protobuf: Uint8Array; json: string } {
  const spans = [
    { traceId: VALID_TRACE, spanId: '00f067aa0ba902b7', name: 'valid-1' },
    { traceId: '', spanId: '00f067aa0ba902b8', name: 'no-trace-id' },
    { traceId: '0'.repeat(32), spanId: '00f067aa0ba902b9', name: 'zero-trace-id' },
    { traceId: VALID_TRACE, spanId: '0'.repeat(16), name: 'zero-span-id' },
    { traceId: VALID_TRACE, spanId: '00f067aa0ba902ba', name: 'valid-2' },
  ];
  const T = otlp.ExportTraceServiceRequest;
  const protobuf = T.encode(
    T.fromObject({
      resourceSpans: [{ scopeSpans: [{ spans: spans.slice(0, 2).map((s) => ({ name: s.name, traceId: bytes(s.traceId), spanId: bytes(s.spanId) })) }] },
        { scopeSpans: [{ spans: spans.slice(2).map((s) => ({ name: s.name, traceId: bytes(s.traceId), spanId: bytes(s.spanId) })) }] }],
    }),
  ).finish();
  const json = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: spans.slice(0, 2) }] }, { scopeSpans: [{ spans: spans.slice(2) }] }] });
  return { protobuf, json };
}

let mesh: ReadableSpan[];
let meshBodies: { protobuf: Uint8Array; json: Uint8Array };
let sdkMetrics: SdkResourceMetrics;
let metricBodies: { protobuf: Uint8Array; json: Uint8Array };

beforeAll(async () => {
  mesh = (await meshSpans()).spans;
  meshBodies = serializeSpans(mesh);
  sdkMetrics = await meshMetrics(MESH_WORKLOADS.payments);
  metricBodies = serializeMetrics(sdkMetrics);
});

describe('200: accepted', () => {
  it('protobuf traces: an empty ExportTraceServiceResponse, and the consumer gets exactly what was sent', async () => {
    const h = harness();
    const res = await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-protobuf/);
    expect(res.rawPayload.length).toBe(0);
    expect(otlp.ExportTraceServiceResponse.decode(res.rawPayload).partialSuccess).toBeNull();
    expect(h.consumer.traces).toHaveLength(1);
    const [batch] = h.consumer.traces;
    expect(batch!.items).toBe(mesh.length);
    expect(batch!.source).toEqual({ receiver: 'otlp_http', tenant: undefined });
    expect(comparable(batch!.data)).toStrictEqual(comparable(officialTraces(meshBodies.protobuf)));
  });

  it('JSON traces: "{}", and the same model as the protobuf request', async () => {
    const h = harness();
    const res = await post(h, 'traces', meshBodies.json, { 'content-type': JSON_TYPE });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({});
    expect(comparable(h.consumer.traces[0]!.data)).toStrictEqual(comparable(officialTraces(meshBodies.protobuf)));
  });

  it('protobuf and JSON metrics: empty responses, points counted as items', async () => {
    const h = harness();
    const a = await post(h, 'metrics', metricBodies.protobuf, { 'content-type': PROTOBUF });
    const b = await post(h, 'metrics', metricBodies.json, { 'content-type': JSON_TYPE });
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(otlp.ExportMetricsServiceResponse.decode(a.rawPayload).partialSuccess).toBeNull();
    expect(b.json()).toEqual({});
    const expected = officialMetrics(metricBodies.protobuf);
    expect(h.consumer.metrics.map((m) => m.items)).toEqual([countPoints(expected), countPoints(expected)]);
    expect(comparable(h.consumer.metrics[0]!.data)).toStrictEqual(comparable(expected));
    expect(comparable(h.consumer.metrics[1]!.data)).toStrictEqual(comparable(expected));
    expect(await counter(h.registry, 'meshtel_receiver_accepted_metric_points_total', { receiver: 'otlp_http' })).toBe(2 * countPoints(expected));
  });

  it.each([
    ['gzip', PROTOBUF],
    ['GZIP', JSON_TYPE],
    ['x-gzip', PROTOBUF],
    [' gzip ', JSON_TYPE],
    ['identity', PROTOBUF],
  ])('accepts Content-Encoding "%s" (%s)', async (encoding, type) => {
    const h = harness();
    const raw = type === PROTOBUF ? meshBodies.protobuf : meshBodies.json;
    const body = encoding === 'identity' ? raw : gzipSync(raw);
    const res = await post(h, 'traces', body, { 'content-type': type, 'content-encoding': encoding });
    expect(res.statusCode).toBe(200);
    expect(comparable(h.consumer.traces[0]!.data)).toStrictEqual(comparable(officialTraces(meshBodies.protobuf)));
  });

  it.each(['application/protobuf', 'application/json; charset=utf-8', 'Application/X-Protobuf'])('accepts the media type "%s"', async (type) => {
    const h = harness();
    const body = type.toLowerCase().includes('json') ? meshBodies.json : meshBodies.protobuf;
    const res = await post(h, 'traces', body, { 'content-type': type });
    expect(res.statusCode).toBe(200);
    expect(h.consumer.traces[0]!.items).toBe(mesh.length);
  });

  it('an empty protobuf request is a success that reaches no consumer', async () => {
    const h = harness();
    const res = await post(h, 'traces', new Uint8Array(0), { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBe(0);
    expect(h.consumer.traces).toHaveLength(0);
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'accepted', signal: 'traces' })).toBe(1);
  });

  it('passes the tenant header to the consumer when configured', async () => {
    const h = harness({ tenant_header: 'X-Tenant' });
    await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF, 'x-tenant': 'team-a' });
    expect(h.consumer.traces[0]!.source).toEqual({ receiver: 'otlp_http', tenant: 'team-a' });
  });

  it('the real Aggregator accepts SDK spans and metrics', async () => {
    const h = harness({}, new Aggregator(aggregationConfigSchema.parse({})));
    const t = await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF });
    const m = await post(h, 'metrics', metricBodies.json, { 'content-type': JSON_TYPE });
    expect([t.statusCode, m.statusCode]).toEqual([200, 200]);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_spans_total')).toBe(mesh.length);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_metric_points_total')).toBe(countPoints(decodeMetricsProto(metricBodies.protobuf)));
  });
});

describe('200: partial success', () => {
  it('protobuf: spans with an empty or all-zero id are rejected, counted and named; the rest go on', async () => {
    const h = harness();
    const { protobuf } = mixedValiditySpans();
    const res = await post(h, 'traces', protobuf, { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(200);
    const partial = otlp.ExportTraceServiceResponse.decode(res.rawPayload).partialSuccess!;
    expect(pbBigInt(partial.rejectedSpans, true)).toBe(3n);
    expect(partial.errorMessage).toBe('3 spans without a valid traceId and spanId');
    // What the official exporter makes of it.
    expect(Number(ProtobufTraceSerializer.deserializeResponse(res.rawPayload).partialSuccess?.rejectedSpans)).toBe(3);
    const spans = h.consumer.traces[0]!.data.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    expect(spans.map((s) => s.name)).toEqual(['valid-1', 'valid-2']);
    expect(h.consumer.traces[0]!.items).toBe(2);
    expect(await counter(h.registry, 'meshtel_receiver_rejected_spans_total', { receiver: 'otlp_http', reason: 'invalid' })).toBe(3);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_spans_total', { receiver: 'otlp_http' })).toBe(2);
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { signal: 'traces', outcome: 'partial' })).toBe(1);
  });

  it('JSON: the same, as an OTLP/JSON partialSuccess', async () => {
    const h = harness();
    const res = await post(h, 'traces', mixedValiditySpans().json, { 'content-type': JSON_TYPE });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ partialSuccess: { rejectedSpans: '3', errorMessage: '3 spans without a valid traceId and spanId' } });
    expect(JsonTraceSerializer.deserializeResponse(res.rawPayload).partialSuccess?.rejectedSpans).toBe('3');
  });

  it('a request of invalid spans only reaches no consumer and rejects them all', async () => {
    const h = harness();
    const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x' }] }] }] });
    const res = await post(h, 'traces', body, { 'content-type': JSON_TYPE });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: 'a span without a valid traceId and spanId' } });
    expect(h.consumer.traces).toHaveLength(0);
  });

  it('metrics: points of an unnamed metric and of a histogram whose buckets do not match its bounds', async () => {
    const h = harness();
    const M = otlp.ExportMetricsServiceRequest;
    const body = M.encode(
      M.fromObject({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  { name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } },
                  { name: '', sum: { dataPoints: [{ asInt: 1 }, { asInt: 2 }] } },
                  { name: 'latency', histogram: { dataPoints: [{ count: 1, bucketCounts: [1, 0], explicitBounds: [1, 2] }, { count: 1, bucketCounts: [0, 1], explicitBounds: [1] }] } },
                ],
              },
            ],
          },
        ],
      }),
    ).finish();
    const res = await post(h, 'metrics', body, { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(200);
    const partial = otlp.ExportMetricsServiceResponse.decode(res.rawPayload).partialSuccess!;
    expect(pbBigInt(partial.rejectedDataPoints, true)).toBe(3n);
    expect(partial.errorMessage).toMatch(/metric without a name/);
    expect(h.consumer.metrics[0]!.items).toBe(3);
    expect(await counter(h.registry, 'meshtel_receiver_rejected_metric_points_total', { reason: 'invalid' })).toBe(3);
  });

  it("a consumer's partial result adds to the invalid items, and both messages are given", async () => {
    const h = harness();
    h.consumer.answer = () => ({ kind: 'partial', rejected: 1, reason: 'memory_limited', message: 'over the memory limit' });
    const res = await post(h, 'traces', mixedValiditySpans().json, { 'content-type': JSON_TYPE });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      partialSuccess: { rejectedSpans: '4', errorMessage: '3 spans without a valid traceId and spanId; over the memory limit' },
    });
    expect(await counter(h.registry, 'meshtel_receiver_rejected_spans_total', { reason: 'memory_limited' })).toBe(1);
    expect(await counter(h.registry, 'meshtel_receiver_rejected_spans_total', { reason: 'invalid' })).toBe(3);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_spans_total')).toBe(1);
  });
});

describe('400: undecodable', () => {
  it('protobuf: a google.rpc.Status in protobuf naming the bad field', async () => {
    const h = harness();
    const T = otlp.ExportTraceServiceRequest;
    const body = T.encode(
      T.fromObject({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: bytes(VALID_TRACE), spanId: bytes('00f067aa0ba902b7') }, { traceId: bytes('0102') }] }] }] }),
    ).finish();
    const res = await post(h, 'traces', body, { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/x-protobuf/);
    expect(status(res)).toEqual({
      code: 3,
      message: 'cannot decode OTLP/protobuf traces: resourceSpans[0].scopeSpans[0].spans[1].traceId: must be 16 bytes, got 2',
    });
    expect(h.consumer.traces).toHaveLength(0);
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { signal: 'traces', outcome: 'invalid' })).toBe(1);
  });

  it('JSON: a google.rpc.Status in JSON naming the problem', async () => {
    const h = harness();
    const broken = await post(h, 'traces', '{"resourceSpans": [', { 'content-type': JSON_TYPE });
    expect(broken.statusCode).toBe(400);
    expect(status(broken).code).toBe(3);
    expect(status(broken).message).toMatch(/^cannot decode OTLP\/JSON traces: invalid JSON/);
    const bad = await post(h, 'metrics', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', sum: { dataPoints: [{ asInt: 'x' }] } }] }] }] }), {
      'content-type': JSON_TYPE,
    });
    expect(bad.statusCode).toBe(400);
    expect(status(bad)).toEqual({ code: 3, message: 'cannot decode OTLP/JSON metrics: resourceMetrics[0].scopeMetrics[0].metrics[0].sum("m").dataPoints[0].asInt: must be a 64-bit integer' });
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'invalid' })).toBe(2);
  });

  it('a JSON request sent as protobuf, and a protobuf request sent as JSON', async () => {
    const h = harness();
    const a = await post(h, 'traces', meshBodies.json, { 'content-type': PROTOBUF });
    const b = await post(h, 'traces', meshBodies.protobuf, { 'content-type': JSON_TYPE });
    expect([a.statusCode, b.statusCode]).toEqual([400, 400]);
    expect(status(a).message).toMatch(/^cannot decode OTLP\/protobuf traces: /);
    expect(status(b).message).toMatch(/^cannot decode OTLP\/JSON traces: invalid JSON/);
  });

  it('a body that is not gzip although Content-Encoding says so, and a truncated gzip', async () => {
    const h = harness();
    const notGzip = await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF, 'content-encoding': 'gzip' });
    const gz = gzipSync(meshBodies.json);
    const truncated = await post(h, 'traces', gz.subarray(0, gz.length - 9), { 'content-type': JSON_TYPE, 'content-encoding': 'gzip' });
    expect([notGzip.statusCode, truncated.statusCode]).toEqual([400, 400]);
    expect(status(notGzip)).toMatchObject({ code: 3, message: expect.stringMatching(/^body is not valid gzip/) as unknown });
    expect(status(truncated).message).toMatch(/^body is not valid gzip/);
  });
});

/** A gzip stream of `size` zero bytes, compressed piecewise so that the test never holds `size` bytes. */
async function gzipOfZeros(size: number): Promise<Buffer> {
  const zeros = Buffer.alloc(1 << 20);
  const gz = createGzip();
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(gz, 'end');
  for (let written = 0; written < size; written += zeros.length) {
    if (!gz.write(zeros.subarray(0, Math.min(zeros.length, size - written)))) await once(gz, 'drain');
  }
  gz.end();
  await ended;
  return Buffer.concat(chunks);
}

describe('413: too large', () => {
  it('a body over max_body_size, with a Status in the request encoding', async () => {
    const h = harness({ max_body_size: 1024 });
    const proto = await post(h, 'traces', Buffer.alloc(1025), { 'content-type': PROTOBUF });
    const json = await post(h, 'metrics', `{"x":"${'a'.repeat(2000)}"}`, { 'content-type': JSON_TYPE });
    expect([proto.statusCode, json.statusCode]).toEqual([413, 413]);
    expect(status(proto)).toEqual({ code: 8, message: 'body exceeds 1024 bytes' });
    expect(status(json)).toEqual({ code: 8, message: 'body exceeds 1024 bytes' });
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'too_large' })).toBe(2);
  });

  it('the limit is inclusive, before and after decompression', async () => {
    const h = harness({ max_body_size: 1024 });
    const exactly = (n: number) => `{"resourceSpans":[],"pad":"${'p'.repeat(n - 29)}"}`;
    expect(exactly(1024).length).toBe(1024);
    expect((await post(h, 'traces', exactly(1024), { 'content-type': JSON_TYPE })).statusCode).toBe(200);
    expect((await post(h, 'traces', gzipSync(exactly(1024)), { 'content-type': JSON_TYPE, 'content-encoding': 'gzip' })).statusCode).toBe(200);
    const over = await post(h, 'traces', gzipSync(exactly(1025)), { 'content-type': JSON_TYPE, 'content-encoding': 'gzip' });
    expect(over.statusCode).toBe(413);
    expect(status(over).message).toBe('body exceeds 1024 bytes after decompression');
  });

  it('a 10 KB gzip of 10 MB of zeros with max_body_size 1MiB', async () => {
    const h = harness({ max_body_size: '1MiB' });
    const bomb = await gzipOfZeros(10 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await post(h, 'traces', bomb, { 'content-type': PROTOBUF, 'content-encoding': 'gzip' });
    expect(res.statusCode).toBe(413);
    expect(status(res)).toEqual({ code: 8, message: `body exceeds ${1024 * 1024} bytes after decompression` });
    expect(h.consumer.traces).toHaveLength(0);
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'too_large' })).toBe(1);
  });

  it('refusing a gzip bomb costs about max_body_size of memory, not the inflated size', async () => {
    const inflated = 128 * 1024 * 1024;
    const bomb = await gzipOfZeros(inflated);
    const h = harness({ max_body_size: '1MiB' });
    // Warm up the paths involved so that their one-off allocations are not counted.
    await post(h, 'traces', gzipSync(Buffer.alloc(10)), { 'content-type': PROTOBUF, 'content-encoding': 'gzip' });
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    for (let i = 0; i < 3; i++) {
      const res = await post(h, 'traces', bomb, { 'content-type': PROTOBUF, 'content-encoding': 'gzip' });
      expect(res.statusCode).toBe(413);
    }
    const receiverGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    expect(receiverGrowth).toBeLessThan(32 * 1024 * 1024);
    // Control: inflating the same body without a limit does show up in the peak RSS, so the
    // measurement above would have seen it.
    const peakBeforeControl = process.resourceUsage().maxRSS * 1024;
    expect(gunzipSync(bomb).length).toBe(inflated);
    expect(process.resourceUsage().maxRSS * 1024 - peakBeforeControl).toBeGreaterThan(inflated / 2);
  });
});

describe('415: unsupported', () => {
  it.each(['text/plain', 'application/xml', 'application/grpc', 'multipart/form-data; boundary=x', undefined])(
    'Content-Type %s',
    async (type) => {
      const h = harness();
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      const res = await post(h, 'traces', meshBodies.json, headers);
      expect(res.statusCode).toBe(415);
      expect(status(res).code).toBe(3);
      expect(status(res).message).toMatch(/^unsupported Content-Type ".*": send application\/x-protobuf or application\/json$/);
      expect(h.consumer.traces).toHaveLength(0);
      expect(await counter(h.registry, 'meshtel_receiver_requests_total', { signal: 'traces', outcome: 'unsupported' })).toBe(1);
    },
  );

  it.each(['br', 'deflate', 'gzip, br', 'zstd'])('Content-Encoding %s, answered in the request encoding', async (encoding) => {
    const h = harness();
    const res = await post(h, 'metrics', metricBodies.protobuf, { 'content-type': PROTOBUF, 'content-encoding': encoding });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/x-protobuf/);
    expect(status(res)).toEqual({ code: 3, message: `unsupported Content-Encoding "${encoding}": send gzip or no encoding` });
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { signal: 'metrics', outcome: 'unsupported' })).toBe(1);
  });
});

describe('429 and 503: refused for load', () => {
  it.each([
    [429, 2.2, '3', 8],
    [503, 0, '1', 14],
    [429, 0.001, '1', 8],
    [503, Number.NaN, '1', 14],
    [429, Number.POSITIVE_INFINITY, '1', 8],
  ] as const)('status %d with retryAfterSeconds %d answers Retry-After %s', async (code, retryAfterSeconds, header, grpc) => {
    const h = harness();
    h.consumer.answer = () => ({ kind: 'refused', status: code, reason: 'rate_limited', retryAfterSeconds, message: 'over the rate limit' });
    const res = await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF });
    expect(res.statusCode).toBe(code);
    expect(res.headers['retry-after']).toBe(header);
    expect(status(res)).toEqual({ code: grpc, message: 'over the rate limit' });
    expect(await counter(h.registry, 'meshtel_receiver_refused_spans_total', { receiver: 'otlp_http', reason: 'rate_limited' })).toBe(mesh.length);
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'refused' })).toBe(1);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_spans_total')).toBe(0);
  });

  it('a JSON request is refused with a JSON Status', async () => {
    const h = harness();
    h.consumer.answer = () => Promise.resolve({ kind: 'refused', status: 503, reason: 'memory_limited', retryAfterSeconds: 5, message: 'memory limit' });
    const res = await post(h, 'metrics', metricBodies.json, { 'content-type': JSON_TYPE });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({ code: 14, message: 'memory limit' });
    expect(await counter(h.registry, 'meshtel_receiver_refused_metric_points_total', { reason: 'memory_limited' })).toBe(countPoints(decodeMetricsProto(metricBodies.protobuf)));
  });
});

describe('a failing consumer is a 503 with Retry-After, never a 500', () => {
  const failures: [string, () => ConsumeResult | Promise<ConsumeResult>][] = [
    ['throws an Error', () => { throw new Error('boom'); }],
    ['throws an Error carrying statusCode 400', () => { throw Object.assign(new Error('backend said 400'), { statusCode: 400 }); }],
    ['throws an Error carrying a fastify error code', () => { throw Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }); }],
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: a consumer that rejects with a non-Error
    ['rejects with undefined', () => Promise.reject(undefined)],
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a consumer that throws a non-Error
    ['throws null', () => { throw null; }],
    ['returns undefined', () => undefined as unknown as ConsumeResult],
    ['returns an unknown kind', () => ({ kind: 'bogus' }) as unknown as ConsumeResult],
  ];

  it.each(failures)('when it %s', async (_what, answer) => {
    const h = harness();
    h.consumer.answer = answer;
    for (const [signal, body, type] of [
      ['traces', meshBodies.protobuf, PROTOBUF],
      ['metrics', metricBodies.json, JSON_TYPE],
    ] as const) {
      const res = await post(h, signal, body, { 'content-type': type });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(status(res)).toEqual({ code: 14, message: 'internal error; retry later' });
    }
    expect(await counter(h.registry, 'meshtel_receiver_refused_spans_total', { reason: 'internal_error' })).toBe(mesh.length);
    expect(await counter(h.registry, 'meshtel_receiver_refused_metric_points_total', { reason: 'internal_error' })).toBe(
      countPoints(decodeMetricsProto(metricBodies.protobuf)),
    );
    expect(await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'refused' })).toBe(2);
  });
});

describe('self-telemetry', () => {
  it('counts every request once by outcome, and every item once as accepted, rejected or refused', async () => {
    const h = harness({ max_body_size: '64KiB' });
    const points = countPoints(decodeMetricsProto(metricBodies.protobuf));
    await post(h, 'traces', meshBodies.protobuf, { 'content-type': PROTOBUF }); // accepted
    await post(h, 'traces', mixedValiditySpans().protobuf, { 'content-type': PROTOBUF }); // partial: 2 + 3
    await post(h, 'metrics', metricBodies.protobuf, { 'content-type': PROTOBUF }); // accepted
    await post(h, 'metrics', 'nope', { 'content-type': JSON_TYPE }); // invalid
    await post(h, 'traces', Buffer.alloc(70 * 1024), { 'content-type': PROTOBUF }); // too_large
    await post(h, 'metrics', metricBodies.json, { 'content-type': 'text/plain' }); // unsupported
    h.consumer.answer = () => ({ kind: 'refused', status: 429, reason: 'rate_limited', retryAfterSeconds: 1, message: 'slow down' });
    await post(h, 'metrics', metricBodies.json, { 'content-type': JSON_TYPE }); // refused
    const requests = async (signal: string, outcome: string) => counter(h.registry, 'meshtel_receiver_requests_total', { receiver: 'otlp_http', signal, outcome });
    expect({
      tracesAccepted: await requests('traces', 'accepted'),
      tracesPartial: await requests('traces', 'partial'),
      tracesTooLarge: await requests('traces', 'too_large'),
      metricsAccepted: await requests('metrics', 'accepted'),
      metricsInvalid: await requests('metrics', 'invalid'),
      metricsUnsupported: await requests('metrics', 'unsupported'),
      metricsRefused: await requests('metrics', 'refused'),
      total: await counter(h.registry, 'meshtel_receiver_requests_total'),
    }).toEqual({ tracesAccepted: 1, tracesPartial: 1, tracesTooLarge: 1, metricsAccepted: 1, metricsInvalid: 1, metricsUnsupported: 1, metricsRefused: 1, total: 7 });
    expect(await counter(h.registry, 'meshtel_receiver_accepted_spans_total')).toBe(mesh.length + 2);
    expect(await counter(h.registry, 'meshtel_receiver_rejected_spans_total')).toBe(3);
    expect(await counter(h.registry, 'meshtel_receiver_refused_spans_total')).toBe(0);
    expect(await counter(h.registry, 'meshtel_receiver_accepted_metric_points_total')).toBe(points);
    expect(await counter(h.registry, 'meshtel_receiver_refused_metric_points_total', { reason: 'rate_limited' })).toBe(points);
    // Nothing unaccounted for: every decoded item is accepted, refused or rejected.
    expect(await counter(h.registry, 'meshtel_receiver_received_spans_total')).toBe(mesh.length + 2 + 3);
    expect(await counter(h.registry, 'meshtel_receiver_received_metric_points_total')).toBe(
      (await counter(h.registry, 'meshtel_receiver_accepted_metric_points_total')) +
        (await counter(h.registry, 'meshtel_receiver_refused_metric_points_total')) +
        (await counter(h.registry, 'meshtel_receiver_rejected_metric_points_total')),
    );
    const exposition = await h.registry.metrics();
    expect(exposition).toMatch(/^# TYPE meshtel_receiver_requests_total counter$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// The official exporters, over a real socket.

type ExportResult = { code: number; error?: Error };
/** ExportResultCode.SUCCESS in @opentelemetry/core. */
const SUCCESS = 0;

function exportWith<T>(exporter: { export(items: T, done: (result: ExportResult) => void): void }, items: T): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

describe('bodies over a socket, read into reused buffers', () => {
  it('a body the client cuts off is counted invalid, and bodies sent at once after it decode exactly', async () => {
    const h = harness({ endpoint: '127.0.0.1:0' });
    const parsing = new Promise<void>((resolve) => {
      h.receiver.app.addHook('preParsing', (_request, _reply, payload, done) => {
        resolve();
        done(null, payload);
      });
    });
    await h.receiver.start();
    const [host, port] = h.receiver.address.split(':') as [string, string];

    const cut = http.request({ host, port, path: '/v1/traces', method: 'POST', headers: { 'content-type': PROTOBUF, 'content-length': 100_000 } });
    cut.on('error', () => {}); // its own socket is destroyed below
    cut.write(meshBodies.protobuf.subarray(0, 1000));
    await parsing;
    cut.destroy();
    await waitFor('the cut-off body counted', async () => ((await counter(h.registry, 'meshtel_receiver_requests_total', { outcome: 'invalid' })) === 1 ? true : undefined), 10_000, 20);

    // Twelve at once, alternating two payloads: each decodes exactly.
    const copies = Math.ceil((300 * 1024) / meshBodies.protobuf.length);
    const traces = Buffer.concat(Array<Uint8Array>(copies).fill(meshBodies.protobuf));
    const metrics = metricBodies.protobuf;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        fetch(`http://${h.receiver.address}/v1/${i % 2 === 0 ? 'traces' : 'metrics'}`, {
          method: 'POST',
          headers: { 'content-type': PROTOBUF },
          body: i % 2 === 0 ? traces : metrics,
        }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(Array(12).fill(200));
    expect(h.consumer.traces.map((b) => b.items)).toEqual(Array(6).fill(copies * mesh.length));
    expect(h.consumer.metrics.map((b) => b.items)).toEqual(Array(6).fill(countPoints(decodeMetricsProto(metrics))));
  });
});

describe('request bodies in reused buffers', () => {
  it('a body read while another is still being decoded goes into a buffer of its own', async () => {
    const h = harness();
    // Two bodies of the same pooled size (512 KiB), different enough that one written over the
    // other mid-decode would change its span count or break it. (Concatenated protobuf messages
    // are one message whose repeated fields add up.)
    const big = (spans: ReadableSpan[], kib: number) => {
      const unit = serializeSpans(spans).protobuf;
      const copies = Math.ceil((kib * 1024) / unit.length);
      return { body: Buffer.concat(Array<Uint8Array>(copies).fill(unit)), spans: copies * spans.length };
    };
    const [a, b] = [big(mesh, 400), big(mesh.slice(1), 270)];
    // B is sent once A's body has been read, so that B's body is read while A is decoded in slices.
    let aRead!: () => void;
    const aIsRead = new Promise<void>((resolve) => (aRead = resolve));
    h.receiver.app.addHook('preValidation', (request, _reply, done) => {
      if (request.headers['x-body'] === 'a') aRead();
      done();
    });
    const first = h.receiver.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': PROTOBUF, 'x-body': 'a' }, payload: a.body });
    await aIsRead;
    const second = h.receiver.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': PROTOBUF, 'x-body': 'b' }, payload: b.body });
    expect([(await first).statusCode, (await second).statusCode]).toEqual([200, 200]);
    expect(h.consumer.traces.map((t) => t.items).sort()).toEqual([a.spans, b.spans].sort());
  });
});

describe('official OTLP exporters against a listening receiver', () => {
  let h: Harness;
  let base: string;
  const exporters: { shutdown(): Promise<void> }[] = [];

  beforeAll(async () => {
    h = harness({ endpoint: '127.0.0.1:0' });
    receivers.splice(receivers.indexOf(h.receiver), 1); // lives for this describe block
    await h.receiver.start();
    base = `http://${h.receiver.address}`;
  });

  afterEach(async () => {
    for (const e of exporters.splice(0)) await e.shutdown();
    h.consumer.traces.length = 0;
    h.consumer.metrics.length = 0;
    h.consumer.answer = () => ACCEPTED;
  });

  afterAll(async () => {
    await h.receiver.shutdown();
  });

  function track<E extends { shutdown(): Promise<void> }>(e: E): E {
    exporters.push(e);
    return e;
  }

  it('listens on the port it reports', () => {
    expect(h.receiver.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  it('exporter-trace-otlp-proto: every field arrives as the official decoder reads the same serialization', async () => {
    const result = await exportWith(track(new ProtoTraceExporter({ url: `${base}/v1/traces` })), mesh);
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(SUCCESS);
    expect(h.consumer.traces).toHaveLength(1);
    expect(comparable(h.consumer.traces[0]!.data)).toStrictEqual(comparable(officialTraces(meshBodies.protobuf)));
  });

  it('exporter-trace-otlp-proto with gzip compression', async () => {
    type Options = NonNullable<ConstructorParameters<typeof ProtoTraceExporter>[0]>;
    const result = await exportWith(track(new ProtoTraceExporter({ url: `${base}/v1/traces`, compression: 'gzip' as Options['compression'] })), mesh);
    expect(result.code).toBe(SUCCESS);
    expect(comparable(h.consumer.traces[0]!.data)).toStrictEqual(comparable(officialTraces(meshBodies.protobuf)));
  });

  it('exporter-trace-otlp-http (JSON): the same model as the protobuf serialization', async () => {
    const result = await exportWith(track(new JsonTraceExporter({ url: `${base}/v1/traces` })), mesh);
    expect(result.code).toBe(SUCCESS);
    expect(comparable(h.consumer.traces[0]!.data)).toStrictEqual(comparable(decodeTracesProto(meshBodies.protobuf)));
  });

  it('exporter-metrics-otlp-proto and -otlp-http deliver every point', async () => {
    const expected = comparable(officialMetrics(metricBodies.protobuf));
    expect((await exportWith(track(new ProtoMetricExporter({ url: `${base}/v1/metrics` })), sdkMetrics)).code).toBe(SUCCESS);
    expect((await exportWith(track(new JsonMetricExporter({ url: `${base}/v1/metrics` })), sdkMetrics)).code).toBe(SUCCESS);
    expect(h.consumer.metrics).toHaveLength(2);
    expect(comparable(h.consumer.metrics[0]!.data)).toStrictEqual(expected);
    expect(comparable(h.consumer.metrics[1]!.data)).toStrictEqual(expected);
  });

  it('the exporter honours Retry-After: refused once with 429, then delivered', async () => {
    let calls = 0;
    h.consumer.answer = () =>
      calls++ === 0 ? { kind: 'refused', status: 429, reason: 'rate_limited', retryAfterSeconds: 1, message: 'slow down' } : ACCEPTED;
    const spans = await simpleSpans(3);
    const started = Date.now();
    const result = await exportWith(track(new ProtoTraceExporter({ url: `${base}/v1/traces`, timeoutMillis: 10_000 })), spans);
    expect(result.code).toBe(SUCCESS);
    expect(h.consumer.traces).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(h.consumer.traces[1]!.items).toBe(3);
  });

  it('spans the SDK made with all-zero ids come back as a partial success the exporter accepts', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      idGenerator: { generateTraceId: () => '0'.repeat(32), generateSpanId: () => '0'.repeat(16) },
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    provider.getTracer('t').startSpan('broken').end();
    await provider.forceFlush();
    const spans = [...exporter.getFinishedSpans(), ...(await simpleSpans(2))];
    await provider.shutdown();
    const registryBefore = await counter(h.registry, 'meshtel_receiver_rejected_spans_total', { reason: 'invalid' });
    const result = await exportWith(track(new JsonTraceExporter({ url: `${base}/v1/traces` })), spans);
    expect(result.code).toBe(SUCCESS);
    expect(h.consumer.traces[0]!.items).toBe(2);
    expect((await counter(h.registry, 'meshtel_receiver_rejected_spans_total', { reason: 'invalid' })) - registryBefore).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------

const SEED = parseSeed(process.env.MESHTEL_FUZZ_SEED) ?? 0x0ddba11;

describe(`receiver under fuzzing (MESHTEL_FUZZ_SEED=${SEED})`, () => {
  it(`mutated and random bodies get 200 or 400 with a message, never 500, no unhandled rejection (MESHTEL_FUZZ_SEED=${SEED})`, async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const rng = new Rng(SEED ^ 0x27d4eb2f);
      const corpus = {
        traces: { protobuf: [Buffer.from(meshBodies.protobuf), Buffer.from(mixedValiditySpans().protobuf)], json: [Buffer.from(meshBodies.json), Buffer.from(mixedValiditySpans().json)] },
        metrics: { protobuf: [Buffer.from(metricBodies.protobuf)], json: [Buffer.from(metricBodies.json)] },
      };
      const donors = [...corpus.traces.protobuf, ...corpus.traces.json, ...corpus.metrics.protobuf, ...corpus.metrics.json];
      // Half the requests go to the real aggregation, so that decodable garbage meets it too.
      const recording = harness();
      const aggregating = harness({}, new Aggregator(aggregationConfigSchema.parse({})));
      const seen = new Map<number, number>();
      const problems: string[] = [];
      for (let i = 0; i < 1500 && problems.length < 5; i++) {
        const signal = rng.chance(0.5) ? 'traces' : 'metrics';
        const encoding = rng.chance(0.5) ? 'protobuf' : 'json';
        const { mutation, output } = mutate(rng, rng.pick(corpus[signal][encoding]), donors, encoding === 'json');
        // Mostly the matching media type, sometimes the other one.
        const type = (encoding === 'json') !== rng.chance(0.1) ? JSON_TYPE : PROTOBUF;
        const gzip = rng.int(4);
        const headers: Record<string, string> = { 'content-type': type };
        let body = output;
        if (gzip === 1) {
          headers['content-encoding'] = 'gzip';
          body = gzipSync(output);
        } else if (gzip === 2) {
          headers['content-encoding'] = 'gzip';
          body = mutate(rng, gzipSync(output), donors, false).output;
        }
        const h = rng.chance(0.5) ? recording : aggregating;
        const res = await post(h, signal, body, headers);
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        const what = `MESHTEL_FUZZ_SEED=${SEED} request ${i}: ${mutation} of ${signal}/${encoding} sent as ${type}${gzip === 0 ? '' : ' gzip'}`;
        if (res.statusCode === 200) {
          if (type === PROTOBUF) {
            const decode = signal === 'traces' ? otlp.ExportTraceServiceResponse : otlp.ExportMetricsServiceResponse;
            decode.decode(res.rawPayload);
          } else JSON.parse(res.rawPayload.toString('utf8'));
        } else if (res.statusCode === 400) {
          const s = status(res);
          if (s.code !== 3 || s.message === '') problems.push(`${what}: 400 with Status ${JSON.stringify(s)}`);
        } else problems.push(`${what}: status ${res.statusCode}: ${res.rawPayload.toString('utf8').slice(0, 300)}`);
      }
      expect(problems, problems.join('\n')).toEqual([]);
      expect(seen.get(200)).toBeGreaterThan(50);
      expect(seen.get(400)).toBeGreaterThan(50);
      // Let any stray promise settle before looking for unhandled rejections.
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
