/**
 * What @opentelemetry/exporter-jaeger 2.11 (and jaeger-client 3.19 under it) does on its own, and
 * the parts of it ThriftTransport relies on. These pin the library's behaviour that the design
 * works around (docs/jaeger.md): an upgrade that changes any of it fails here first.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import { afterEach, describe, expect, it } from 'vitest';
import { KvList } from '../../../collector/model/common.js';
import { SpanKind, StatusCode, type Span } from '../../../collector/model/traces.js';
import { toReadableSpan, type JaegerInputSpan } from '../../../exporters/jaeger/readable-span.js';
import { AlignedSender, httpSender, udpSender } from '../../../exporters/jaeger/thrift-sender.js';
import { processOf } from '../../../exporters/jaeger/thrift-span.js';
import { JaegerAgentStandin, JaegerThriftHttpStandin, jaegerSpans } from '../../support/jaeger-standins.js';
import { waitFor } from '../../support/processes.js';

const T0 = 1_700_000_000_123_456_789n;

function span(i: number, overrides: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    traceState: '',
    parentSpanId: '',
    flags: 1,
    name: `op-${i}`,
    kind: SpanKind.SERVER,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 1_500n,
    attributes: [
      { key: 'http.response.status_code', value: 200n },
      { key: 'ratio', value: 0.5 },
      { key: 'list', value: [1n, 2n] },
      { key: 'map', value: new KvList([{ key: 'a', value: 1n }]) },
      { key: 'bytes', value: new Uint8Array([0, 1]) },
    ],
    droppedAttributesCount: 0,
    events: [{ timeUnixNano: T0 + 1_234n, name: 'e', attributes: [], droppedAttributesCount: 0 }],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: StatusCode.ERROR, message: '' },
    ...overrides,
  };
}

const SCOPE = { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0 };
const readable = (s: Span) => toReadableSpan(s, SCOPE, { 'service.name': 'checkout', 'k8s.pod.name': 'p-1' }) as unknown as JaegerInputSpan;

function exportSpans(exporter: JaegerExporter, spans: JaegerInputSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe('JaegerExporter 2.11 on its own', () => {
  let stop: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stop.map((s) => s()));
    stop = [];
  });

  it('makes every number a DOUBLE, arrays "1,2", maps "[object Object]", copies the resource onto each span, rounds times', async () => {
    const standin = await new JaegerThriftHttpStandin().start();
    stop.push(() => standin.stop());
    const exporter = new JaegerExporter({ endpoint: standin.endpoint });
    stop.push(() => exporter.shutdown());
    // 875 ns and 858 ns past a whole second: truncated, 0 µs; in floating-point microseconds
    // (1.7e15, a quarter apart) they round up to 1 µs.
    const start = 1_700_000_000_000_000_875n;
    const timed = span(1, { startTimeUnixNano: start, endTimeUnixNano: start + 10_000n, events: [{ timeUnixNano: start - 17n, name: 'e', attributes: [], droppedAttributesCount: 0 }] });
    expect((await exportSpans(exporter, [readable(timed)])).code).toBe(0);
    const [{ process, span: s }] = jaegerSpans(standin.accepted) as [ReturnType<typeof jaegerSpans>[number]];
    const tag = (key: string) => s.tags.find((t) => t.key === key);
    expect(tag('http.response.status_code')).toMatchObject({ type: 'DOUBLE', value: 200 });
    expect(tag('list')).toMatchObject({ type: 'STRING', value: '1,2' });
    // API 1.10 attribute values (maps, bytes) predate it: its peer range stops below 1.10.
    expect(tag('map')).toMatchObject({ type: 'STRING', value: '[object Object]' });
    expect(tag('bytes')).toMatchObject({ type: 'STRING', value: '0,1' });
    // The process is service.name alone; the resource's attributes go onto every span instead.
    expect(process).toEqual({ serviceName: 'checkout', tags: [] });
    expect(tag('k8s.pod.name')).toMatchObject({ value: 'p-1' });
    // A scope without a version becomes the text "undefined"; every tag carries all five fields.
    expect(tag('otel.library.version')).toMatchObject({ type: 'STRING', value: 'undefined' });
    expect(tag('error')!.present).toEqual(['vStr', 'vDouble', 'vBool', 'vLong', 'vBinary']);
    expect(s.startTime).toBe(1_700_000_000_000_001n);
    expect(s.logs[0]!.timestamp).toBe(1_700_000_000_000_001n);
    // The API 1.10 enums it reads (peer dependency <1.10) work: reverse mappings present.
    expect(tag('span.kind')).toMatchObject({ value: 'server' });
    expect(tag('otel.status_code')).toMatchObject({ value: 'ERROR' });
  });

  it('reports an HTTP 503 as FAILED with only a text: no status, no Retry-After', async () => {
    const standin = await new JaegerThriftHttpStandin().start();
    stop.push(() => standin.stop());
    standin.answer = () => ({ status: 503, headers: { 'retry-after': '7' } });
    const exporter = new JaegerExporter({ endpoint: standin.endpoint });
    stop.push(() => exporter.shutdown());
    const result = await exportSpans(exporter, [readable(span(1))]);
    expect(result.code).toBe(1);
    expect(Object.keys(result)).toEqual(['code', 'error']);
    expect(result.error).toBeInstanceOf(Error);
    expect(Object.keys(result.error!)).toEqual([]);
    expect(result.error!.message).toBe('error sending spans over HTTP: server responded with HTTP 503');
    // And a connection refused is a text too.
    await standin.stop();
    const fresh = new JaegerExporter({ endpoint: standin.endpoint });
    stop.push(() => fresh.shutdown());
    const refused = await exportSpans(fresh, [readable(span(2))]);
    expect(refused.error!.message).toMatch(/^error sending spans over HTTP: Error: connect ECONNREFUSED/);
  });

  it('sends more than 100 spans in chunks and stops at the first failed one: a retry would resend what got through', async () => {
    const standin = await new JaegerThriftHttpStandin().start();
    stop.push(() => standin.stop());
    standin.answer = (n) => ({ status: n === 2 ? 503 : 200 });
    const exporter = new JaegerExporter({ endpoint: standin.endpoint });
    stop.push(() => exporter.shutdown());
    const result = await exportSpans(exporter, Array.from({ length: 250 }, (_, i) => readable(span(i))));
    expect(result.code).toBe(1);
    expect(standin.requests.map((r) => r.status)).toEqual([200, 503]);
    expect(standin.spans).toBe(100);
  });

  it('sends UDP in the Thrift binary protocol (0x8001 strict header, ONEWAY emitBatch), not compact', async () => {
    const agent = await new JaegerAgentStandin().start();
    stop.push(() => agent.stop());
    const datagrams: Buffer[] = [];
    const { default: dgram } = await import('node:dgram');
    const listener = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', () => resolve()));
    stop.push(() => new Promise((resolve) => listener.close(() => resolve())));
    listener.on('message', (m) => datagrams.push(m));
    const exporter = new JaegerExporter({ host: '127.0.0.1', port: listener.address().port });
    stop.push(() => exporter.shutdown());
    expect((await exportSpans(exporter, [readable(span(1))])).code).toBe(0);
    await waitFor('the datagram', () => (datagrams.length > 0 ? true : undefined), 5_000, 10);
    // Binary protocol, strict: version 1, message type 4 (ONEWAY), then the name "emitBatch".
    expect(datagrams[0]!.subarray(0, 4)).toEqual(Buffer.from([0x80, 0x01, 0x00, 0x04]));
    expect(datagrams[0]!.subarray(8, 17).toString()).toBe('emitBatch');
  });
});

describe('the internals ThriftTransport relies on', () => {
  it('JaegerExporter uses a sender already set instead of making one', async () => {
    const exporter = new JaegerExporter({ endpoint: 'http://127.0.0.1:1/api/traces' });
    const seen: string[] = [];
    const sender = {
      setProcess: () => seen.push('setProcess'),
      append: (_s: unknown, cb: (n: number) => void) => {
        seen.push('append');
        cb(0);
      },
      flush: (cb: (n: number) => void) => {
        seen.push('flush');
        cb(1);
      },
      close: () => seen.push('close'),
    };
    (exporter as unknown as { _sender: unknown })._sender = sender;
    expect((await exportSpans(exporter, [readable(span(1))])).code).toBe(0);
    expect(seen).toEqual(['append', 'flush']);
  });

  it('HTTPSender sends through _httpOptions.agent and closes _httpAgent; UDPSender has _client, _calcSpanSize, _maxSpanBytes', () => {
    const fromExporter = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/exporter-jaeger'));
    expect((fromExporter('jaeger-client/package.json') as { version: string }).version).toBe('3.19.0');
    const agent = new http.Agent();
    const h = httpSender(new URL('http://127.0.0.1:1/api/traces'), agent, 1000) as unknown as { _httpOptions: { agent: unknown }; _httpAgent: unknown; _maxSpanBatchSize: number };
    expect(h._httpOptions.agent).toBe(agent);
    expect(h._httpAgent).toBe(agent);
    expect(h._maxSpanBatchSize).toBe(Number.MAX_SAFE_INTEGER);
    const u = udpSender(new URL('udp://127.0.0.1:1'));
    const internals = u.sender as unknown as { _client: { unref: unknown }; _calcSpanSize: unknown; _maxSpanBytes: unknown };
    expect(typeof internals._client.unref).toBe('function');
    expect(typeof internals._calcSpanSize).toBe('function');
    u.sender.setProcess(processOf({ attributes: [{ key: 'service.name', value: 'x' }], droppedAttributesCount: 0 }));
    expect(internals._maxSpanBytes).toBeGreaterThan(64_000);
    u.sender.close();
    expect(dirname(fromExporter.resolve('thriftrw/package.json'))).toMatch(/thriftrw$/);
  });

  it('AlignedSender refuses a span that is not the one expected (the transform\'s order changed)', () => {
    const sender = new AlignedSender({ setProcess: () => undefined, append: () => undefined, flush: () => undefined, close: () => undefined });
    sender.begin({ serviceName: 's', tags: [] }, [{ span: span(1), scope: SCOPE }]);
    let error: string | undefined;
    const out = { spanId: Buffer.from('00000000000000ff', 'hex') } as Parameters<AlignedSender['append']>[0];
    sender.append(out, (_n, err) => (error = err));
    expect(error).toMatch(/not the one expected/);
  });
});
