/**
 * End to end, per protocol: spans made by the official OpenTelemetry JS SDK, sent by its official
 * OTLP exporter to an in-process collector configured with one trace exporter per Jaeger
 * protocol, arrive at the Jaeger stand-ins, which decode them with real decoders (the official
 * OTLP protos; the Jaeger Thrift IDL through thriftrw), and every field of every span is checked
 * against what the SDK made:
 * - OTLP (Jaeger v2): the whole span, resource and scope, equal to the official serializer's
 *   bytes decoded by the official decoder: nothing lost, nothing altered.
 * - Thrift over HTTP and UDP (Jaeger v1): equal to what the specification's Jaeger mapping makes
 *   of the SDK's span (the oracle in test/support/jaeger-standins.ts, written from the SDK's
 *   ReadableSpan). What Thrift cannot carry is stated in docs/jaeger.md and checked here as
 *   that representation: times in microseconds (truncated), arrays and maps as JSON strings,
 *   link attributes as a log, scope attributes and schema URLs absent.
 */
import { SpanKind, SpanStatusCode, createTraceState, trace, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import type { TracesData } from '../../collector/model/traces.js';
import {
  JaegerAgentStandin,
  JaegerOtlpStandin,
  JaegerThriftHttpStandin,
  expectedJaeger,
  jaegerSpans,
  sortedTags,
  type JaegerBatch,
} from '../support/jaeger-standins.js';
import { comparable, hrTime, meshSpans, officialTraces, serializeSpans } from '../support/otel-fixtures.js';
import { waitFor } from '../support/processes.js';

/** Spans beyond meshSpans: what else the SDK can make that a conversion could get wrong. */
async function moreSpans(): Promise<{ spans: ReadableSpan[]; oversized: string; bulk: number }> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ledger', 'service.instance.id': 'ledger-0', 'process.pid': 4242, 'host.load': 0.75 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  // A tracer without a version; 875 ns past a microsecond, where floating-point microseconds round up.
  const tracer = provider.getTracer('ledger.internal');
  const odd = tracer.startSpan(
    'reconcile',
    {
      kind: SpanKind.INTERNAL,
      startTime: hrTime(100, 875),
      attributes: {
        'not.a.number': NaN,
        'positive.infinity': Infinity,
        'negative.zero': -0,
        '200': 'integer-like key',
        'empty.array': [],
        'strings.with.null': ['a', null, 'c'],
        'long.text': 'ü'.repeat(5000),
        'quote"and\\backslash': 'value "quoted"',
      },
      links: [
        { context: { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: TraceFlags.SAMPLED, traceState: createTraceState('only=state') } },
        { context: { traceId: 'ef'.repeat(16), spanId: '12'.repeat(8), traceFlags: TraceFlags.NONE } },
      ],
    },
    ROOT_CONTEXT,
  );
  odd.addEvent('overridden name', { event: 'the attribute wins', n: 1 }, hrTime(101, 858));
  odd.setStatus({ code: SpanStatusCode.OK });
  odd.end(hrTime(102, 999));
  const child = tracer.startSpan('write', { kind: SpanKind.CLIENT, startTime: hrTime(101), attributes: { 'db.system.name': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, odd));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  child.end(hrTime(101, 500_000));
  // Too large for one UDP datagram (65,000 bytes): rejected over UDP, fine elsewhere.
  const huge = tracer.startSpan('upload', { kind: SpanKind.SERVER, startTime: hrTime(110), attributes: { payload: 'z'.repeat(70_000) } }, ROOT_CONTEXT);
  huge.end(hrTime(111));
  // Enough spans for several batches and several datagrams.
  const bulk = 700;
  const bulkTracer = provider.getTracer('ledger.bulk', '3.1.4');
  for (let i = 0; i < bulk; i++) {
    bulkTracer
      .startSpan(`GET /entry/${i % 7}`, { kind: SpanKind.SERVER, startTime: hrTime(200 + i, i), attributes: { 'http.response.status_code': i % 50 === 0 ? 503 : 200, 'entry.index': i, 'entry.weight': i / 8 } }, ROOT_CONTEXT)
      .end(hrTime(201 + i, 2 * i));
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return { spans, oversized: huge.spanContext().spanId, bulk };
}

const otlp = new JaegerOtlpStandin();
const thriftHttp = new JaegerThriftHttpStandin();
const agent = new JaegerAgentStandin();
let collector: Collector;
let sent: ReadableSpan[];
let oversized: string;

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://${collector.adminAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  await Promise.all([otlp.start(), thriftHttp.start(), agent.start()]);
  collector = new Collector(
    configSchema.parse({
      receivers: { otlp: { endpoint: '127.0.0.1:0' } },
      admin: { endpoint: '127.0.0.1:0' },
      exporters: {
        traces: [
          { name: 'jaeger-v2', endpoint: otlp.endpoint, batch: { timeout: '20ms' } },
          { name: 'jaeger-v1-http', endpoint: thriftHttp.endpoint, batch: { timeout: '20ms' } },
          // Smaller batches over UDP: each is sent as back-to-back datagrams.
          { name: 'jaeger-v1-udp', endpoint: agent.endpoint, batch: { timeout: '20ms', max_spans: 200 } },
        ],
      },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  const mesh = await meshSpans();
  const more = await moreSpans();
  sent = [...mesh.spans, ...more.spans];
  oversized = more.oversized;
  const exporter = new OTLPTraceExporter({ url: `http://${collector.otlpAddress}/v1/traces` });
  // Two requests, as an SDK's batch processor would send them.
  for (const part of [sent.slice(0, 300), sent.slice(300)]) {
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(part, resolve));
    expect(result.error).toBeUndefined();
  }
  await exporter.shutdown();
  const total = sent.length;
  await waitFor(
    'every exporter to finish',
    async () => {
      const done = await Promise.all(['jaeger-v2', 'jaeger-v1-http', 'jaeger-v1-udp'].map(async (e) => (await metric('meshtel_exporter_sent_spans_total', `exporter="${e}"`)) + (await metric('meshtel_exporter_send_failed_spans_total', `exporter="${e}",reason="rejected"`))));
      return done.every((n) => n === total) && otlp.spans === total && thriftHttp.spans === total && agent.spans === total - 1 ? true : undefined;
    },
    20_000,
  );
});

afterAll(async () => {
  await collector?.shutdown();
  await Promise.all([otlp.stop(), thriftHttp.stop(), agent.stop()]);
});

/** Each span of OTLP data with its resource and scope, by span id. */
function bySpanId(data: readonly TracesData[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const d of data) {
    for (const rs of d.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          expect(out.has(span.spanId), `span ${span.spanId} arrived twice`).toBe(false);
          out.set(span.spanId, comparable({ resource: rs.resource, resourceSchemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl, span }));
        }
      }
    }
  }
  return out;
}

describe('OTLP (Jaeger v2, /v1/traces)', () => {
  it('delivers every span, its resource and scope exactly as the SDK serialized them', () => {
    const expected = bySpanId([officialTraces(serializeSpans(sent).protobuf)]);
    const received = bySpanId(otlp.accepted);
    expect(received.size).toBe(sent.length);
    expect([...received.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [id, value] of expected) expect(received.get(id), `span ${id}`).toEqual(value);
    expect(otlp.undecodable).toEqual([]);
  });
});

function checkThrift(batches: JaegerBatch[], skipped: ReadonlySet<string>): void {
  const received = jaegerSpans(batches);
  const byId = new Map(received.map((r) => [r.span.spanId, r]));
  expect(byId.size, 'no span twice').toBe(received.length);
  const wanted = sent.filter((s) => !skipped.has(s.spanContext().spanId));
  expect(received.length).toBe(wanted.length);
  for (const s of wanted) {
    const id = s.spanContext().spanId;
    const want = expectedJaeger(s);
    const got = byId.get(id);
    expect(got, `span ${id} (${s.name})`).toBeDefined();
    const { process, span } = got!;
    expect(process.serviceName, `${id} service`).toBe(want.process.serviceName);
    expect(sortedTags(process.tags), `${id} process tags`).toEqual(sortedTags(want.process.tags));
    const { tags, logs, ...fields } = span;
    const { tags: wantTags, logs: wantLogs, ...wantFields } = want.span;
    expect(fields, `${id} fields`).toEqual(wantFields);
    expect(sortedTags(tags), `${id} tags`).toEqual(sortedTags(wantTags));
    expect(
      logs.map((l) => ({ timestamp: l.timestamp, fields: sortedTags(l.fields) })),
      `${id} logs`,
    ).toEqual(wantLogs.map((l) => ({ timestamp: l.timestamp, fields: sortedTags(l.fields) })));
    // One value field per tag: what its type says, nothing else.
    for (const t of [...tags, ...logs.flatMap((l) => l.fields), ...process.tags]) expect(t.present, `${id} ${t.key}`).toHaveLength(1);
  }
}

describe('Thrift over HTTP (Jaeger v1 collector, /api/traces)', () => {
  it('delivers every span as the specification maps it, one Batch per resource', () => {
    checkThrift(thriftHttp.accepted, new Set());
    expect(thriftHttp.undecodable).toEqual([]);
    expect(thriftHttp.requests.every((r) => r.headers['content-type'] === 'application/x-thrift')).toBe(true);
    for (const b of thriftHttp.accepted) expect(new Set(b.spans.map((s) => s.traceId)).size).toBeGreaterThan(0);
  });

  it('keeps what the SDK made that Thrift has a type for: ints LONG, doubles DOUBLE (NaN, infinities)', () => {
    const spans = jaegerSpans(thriftHttp.accepted);
    const odd = spans.find((s) => s.span.operationName === 'reconcile')!.span;
    const tag = (key: string) => odd.tags.find((t) => t.key === key);
    expect(tag('not.a.number')?.type).toBe('DOUBLE');
    expect(tag('not.a.number')?.value).toBeNaN();
    expect(tag('positive.infinity')).toMatchObject({ type: 'DOUBLE', value: Infinity });
    expect(tag('strings.with.null')).toMatchObject({ type: 'STRING', value: '["a",null,"c"]' });
    expect(odd.startTime).toBe(1_700_000_000_100_000n);
    const frontend = spans.find((s) => s.span.operationName === 'GET /cart')!;
    expect(frontend.span.tags.find((t) => t.key === 'big.int')).toMatchObject({ type: 'LONG', value: 2n ** 60n });
    expect(frontend.span.tags.find((t) => t.key === 'bytes.value')).toMatchObject({ type: 'BINARY', value: Buffer.from([0, 1, 2, 0xfe, 0xff]) });
    expect(frontend.process.tags.find((t) => t.key === 'host.cpu.count')).toMatchObject({ type: 'LONG', value: 4n });
  });
});

describe('Thrift over UDP (Jaeger v1 agent, emitBatch)', () => {
  it('delivers every span as the specification maps it, except one too large for a datagram, which is counted', async () => {
    checkThrift(agent.batches, new Set([oversized]));
    expect(agent.undecodable).toEqual([]);
    expect(Math.max(...agent.datagrams)).toBeLessThanOrEqual(65_000);
    expect(agent.datagrams.length).toBeGreaterThan(sent.length / 200);
    expect(await metric('meshtel_exporter_send_failed_spans_total', 'exporter="jaeger-v1-udp",reason="rejected"')).toBe(1);
    expect(await metric('meshtel_exporter_sent_spans_total', 'exporter="jaeger-v1-udp"')).toBe(sent.length - 1);
  });
});
