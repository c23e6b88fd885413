/**
 * The conversion of meshtel's spans to Jaeger Thrift: our model to the SDK's ReadableSpan, typed
 * tags, and whole spans through ThriftTransport (JaegerExporter's transform and jaeger-client's
 * senders) to the stand-ins, which decode with the Jaeger IDL. These are the cases the SDK cannot
 * produce (ints beyond 2^53, bytes, UNSPECIFIED kinds, repeated keys, invalid ids...); the
 * end-to-end tests check what the SDK does produce.
 */
import { SpanKind as ApiSpanKind } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../collector/config/schema.js';
import { KvList, type KeyValue, type Resource } from '../../../collector/model/common.js';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../../collector/model/traces.js';
import { apiAttributeValue, hrTime, toAttributes, toReadableSpan } from '../../../exporters/jaeger/readable-span.js';
import { ThriftTransport } from '../../../exporters/jaeger/thrift-transport.js';
import { anyValueJson, thriftTag } from '../../../exporters/jaeger/thrift-tags.js';
import { JaegerAgentStandin, JaegerThriftHttpStandin, jaegerSpans, type JaegerBatch, type JaegerTag } from '../../support/jaeger-standins.js';
import { waitFor } from '../../support/processes.js';

// 875 ns past a microsecond: in JaegerExporter's floating-point microseconds this rounds up.
const T0 = 1_700_000_000_123_456_875n;

function span(overrides: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceState: '',
    parentSpanId: '',
    flags: 1,
    name: 'op',
    kind: SpanKind.SERVER,
    startTimeUnixNano: T0,
    endTimeUnixNano: T0 + 2_500_999n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: StatusCode.UNSET, message: '' },
    ...overrides,
  };
}

function traces(resource: Resource, spans: Span[], scopeVersion = '1.0'): TracesData {
  return { resourceSpans: [{ resource, schemaUrl: '', scopeSpans: [{ scope: { name: 'lib', version: scopeVersion, attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }] }] };
}

const RESOURCE: Resource = { attributes: [{ key: 'service.name', value: 'checkout' }], droppedAttributesCount: 0 };

/** Every type of value OTLP allows, including what the SDK cannot make. */
const EVERY_VALUE: KeyValue[] = [
  { key: 'str', value: 'naïve ✓' },
  { key: 'empty', value: '' },
  { key: 'yes', value: true },
  { key: 'int.small', value: 42n },
  { key: 'int.beyond.2^53', value: 9_007_199_254_740_993n },
  { key: 'int.max', value: 9_223_372_036_854_775_807n },
  { key: 'int.min', value: -9_223_372_036_854_775_808n },
  { key: 'double', value: 0.25 },
  { key: 'double.integral', value: 3 },
  { key: 'nan', value: NaN },
  { key: 'inf', value: -Infinity },
  { key: 'bytes', value: new Uint8Array([0, 1, 0xfe, 0xff]) },
  { key: 'array.ints', value: [1n, -2n, 9_007_199_254_740_993n] },
  { key: 'array.mixed', value: ['x', 1n, 2.5, true, null, new Uint8Array([1, 2]), NaN] },
  { key: 'map', value: new KvList([{ key: 'a', value: 1n }, { key: 'b', value: new KvList([{ key: 'c', value: [0.5] }]) }, { key: 'a', value: 'repeated' }]) },
  { key: 'null', value: null },
  { key: '404', value: 'integer-like key' },
  { key: 'str', value: 'repeated key: the first one wins' },
];

const tagOf = (tags: JaegerTag[], key: string) => tags.filter((t) => t.key === key);

describe('typed tags', () => {
  it('keeps ints LONG over the whole int64 range, doubles DOUBLE, bytes BINARY', () => {
    const long = (v: bigint) => thriftTag('k', v).vLong!.readBigInt64BE();
    expect(thriftTag('k', 42n).vType).toBe('LONG');
    for (const v of [0n, -1n, 9_007_199_254_740_993n, 2n ** 63n - 1n, -(2n ** 63n)]) expect(long(v)).toBe(v);
    expect(thriftTag('k', 3)).toEqual({ key: 'k', vType: 'DOUBLE', vDouble: 3 });
    expect(thriftTag('k', NaN).vDouble).toBeNaN();
    expect(thriftTag('k', new Uint8Array([1, 2]))).toEqual({ key: 'k', vType: 'BINARY', vBinary: Buffer.from([1, 2]) });
    expect(thriftTag('k', null)).toEqual({ key: 'k', vType: 'STRING', vStr: '' });
  });

  it('writes arrays and key-value lists as JSON by the specification\'s non-OTLP rules', () => {
    expect(anyValueJson([1n, 9_007_199_254_740_993n, 0.5, NaN, Infinity, -Infinity])).toBe('[1,9007199254740993,0.5,"NaN","Infinity","-Infinity"]');
    expect(anyValueJson(['a"b', true, null, new Uint8Array([0xff])])).toBe('["a\\"b",true,null,"/w=="]');
    expect(anyValueJson(new KvList([{ key: 'x', value: [] }, { key: 'y', value: new KvList([]) }, { key: 'x', value: 1n }]))).toBe('{"x":[],"y":{}}');
    expect(JSON.parse(anyValueJson(EVERY_VALUE[13]!.value))).toEqual(['x', 1, 2.5, true, null, 'AQI=', 'NaN']);
  });
});

describe('toReadableSpan', () => {
  it('gives the SDK ReadableSpan every field it can hold', () => {
    const s = span({
      parentSpanId: '00f067aa0ba902b7',
      flags: 0x301,
      traceState: 'vendor=blue',
      kind: SpanKind.CONSUMER,
      attributes: EVERY_VALUE,
      events: [{ timeUnixNano: T0 + 1n, name: 'e', attributes: [{ key: 'n', value: 1n }], droppedAttributesCount: 2 }],
      links: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: 'x=y', attributes: [], droppedAttributesCount: 1, flags: 0x101 }],
      status: { code: StatusCode.ERROR, message: 'boom' },
      droppedAttributesCount: 3,
      droppedEventsCount: 4,
      droppedLinksCount: 5,
    });
    const r = toReadableSpan(s, { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0 }, { 'service.name': 'checkout' });
    expect(r.spanContext()).toMatchObject({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 });
    expect(r.spanContext().traceState?.serialize()).toBe('vendor=blue');
    expect(r.parentSpanContext).toEqual({ traceId: s.traceId, spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    expect(r.kind).toBe(ApiSpanKind.CONSUMER);
    expect(r.startTime).toEqual([1_700_000_000, 123_456_875]);
    expect(r.endTime).toEqual([1_700_000_000, 125_957_874]);
    expect(r.duration).toEqual([0, 2_500_999]);
    expect(r.status).toEqual({ code: 2, message: 'boom' });
    expect(r.attributes['int.beyond.2^53']).toBe(9_007_199_254_740_992);
    expect(r.attributes['array.ints']).toEqual([1, -2, 9_007_199_254_740_992]);
    expect(r.attributes['bytes']).toEqual(new Uint8Array([0, 1, 0xfe, 0xff]));
    expect(r.attributes['map']).toEqual({ a: 1, b: { c: [0.5] } });
    expect(r.attributes['array.mixed']).toEqual(['x', 1, 2.5, true, null, new Uint8Array([1, 2]), NaN]);
    expect(r.attributes['null']).toBeNull();
    expect(r.attributes['str']).toBe('naïve ✓');
    expect(r.events).toEqual([{ time: [1_700_000_000, 123_456_876], name: 'e', attributes: { n: 1 }, droppedAttributesCount: 2 }]);
    expect(r.links[0]!.context).toMatchObject({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 1, isRemote: false });
    expect(r.links[0]!.droppedAttributesCount).toBe(1);
    expect(r.instrumentationScope).toEqual({ name: 'lib' });
    expect([r.droppedAttributesCount, r.droppedEventsCount, r.droppedLinksCount]).toEqual([3, 4, 5]);
    expect(r.resource.attributes).toEqual({ 'service.name': 'checkout' });
  });

  it('maps OTLP kinds onto the API (UNSPECIFIED has no API value: INTERNAL)', () => {
    const kinds = [SpanKind.UNSPECIFIED, SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];
    expect(kinds.map((k) => toReadableSpan(span({ kind: k }), { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, {}).kind)).toEqual([
      ApiSpanKind.INTERNAL,
      ApiSpanKind.INTERNAL,
      ApiSpanKind.SERVER,
      ApiSpanKind.CLIENT,
      ApiSpanKind.PRODUCER,
      ApiSpanKind.CONSUMER,
    ]);
  });

  it('splits nanoseconds into HrTime with the nanoseconds in [0, 1e9), negative durations too', () => {
    expect(hrTime(0n)).toEqual([0, 0]);
    expect(hrTime(1_999_999_999n)).toEqual([1, 999_999_999]);
    expect(hrTime(-1n)).toEqual([-1, 999_999_999]);
    expect(apiAttributeValue([true, null, false])).toEqual([true, null, false]);
    expect(apiAttributeValue([[1n]])).toEqual([[1]]);
    // A hostile key is an attribute like any other, not the object's prototype.
    const hostile = toAttributes([{ key: '__proto__', value: 'x' }, { key: 'constructor', value: 1n }]);
    expect(Object.keys(hostile)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype);
  });
});

describe('whole spans to Jaeger Thrift, decoded with the Jaeger IDL', () => {
  let standins: { stop(): Promise<void> }[] = [];
  let transports: ThriftTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.map((t) => t.shutdown()));
    await Promise.all(standins.map((s) => s.stop()));
    standins = [];
    transports = [];
  });

  async function through(protocol: 'http' | 'udp', data: TracesData, expected: number): Promise<JaegerBatch[]> {
    const standin = protocol === 'http' ? await new JaegerThriftHttpStandin().start() : await new JaegerAgentStandin().start();
    standins.push(standin);
    const config = configSchema.parse({ exporters: { traces: [{ endpoint: standin.endpoint }] } }).exporters.traces[0]!;
    const transport = new ThriftTransport(config);
    transports.push(transport);
    const result = await transport.send(data, expected, new AbortController().signal);
    expect(result).toEqual({ kind: 'success', rejected: 0 });
    await waitFor('the stand-in to decode the batch', () => (standin.spans === expected ? true : undefined), 5_000, 10);
    expect('undecodable' in standin ? standin.undecodable : []).toEqual([]);
    return standin instanceof JaegerAgentStandin ? standin.batches : standin.accepted;
  }

  for (const protocol of ['http', 'udp'] as const) {
    it(`${protocol}: every attribute type kept as far as Thrift reaches, exact times, typed process tags`, async () => {
      const resource: Resource = {
        attributes: [{ key: 'host.cpu.count', value: 64n }, { key: 'service.name', value: 'checkout' }, { key: 'ratio', value: 0.5 }, { key: 'raw', value: new Uint8Array([9]) }],
        droppedAttributesCount: 2,
      };
      const s = span({ attributes: EVERY_VALUE, traceState: 'ot=th:c', droppedAttributesCount: 7, status: { code: StatusCode.OK, message: '' } });
      const [batch] = await through(protocol, traces(resource, [s]), 1);
      const process = batch!.process;
      expect(process.serviceName).toBe('checkout');
      expect(process.tags.map((t) => [t.key, t.type, t.value])).toEqual([
        ['host.cpu.count', 'LONG', 64n],
        ['ratio', 'DOUBLE', 0.5],
        ['raw', 'BINARY', Buffer.from([9])],
        ['otel.dropped_attributes_count', 'LONG', 2n],
      ]);
      const got = batch!.spans[0]!;
      expect(got.traceId).toBe(s.traceId);
      expect(got.spanId).toBe(s.spanId);
      expect(got.parentSpanId).toBe('0000000000000000');
      // Truncated to the microsecond, start and end each.
      expect(got.startTime).toBe(1_700_000_000_123_456n);
      expect(got.startTime + got.duration).toBe((T0 + 2_500_999n) / 1000n);
      const tags = got.tags;
      const one = (key: string) => {
        const found = tagOf(tags, key);
        expect(found, key).toHaveLength(1);
        return [found[0]!.type, found[0]!.value];
      };
      expect(one('str')).toEqual(['STRING', 'naïve ✓']);
      expect(one('empty')).toEqual(['STRING', '']);
      expect(one('yes')).toEqual(['BOOL', true]);
      expect(one('int.small')).toEqual(['LONG', 42n]);
      expect(one('int.beyond.2^53')).toEqual(['LONG', 9_007_199_254_740_993n]);
      expect(one('int.max')).toEqual(['LONG', 9_223_372_036_854_775_807n]);
      expect(one('int.min')).toEqual(['LONG', -9_223_372_036_854_775_808n]);
      expect(one('double')).toEqual(['DOUBLE', 0.25]);
      expect(one('double.integral')).toEqual(['DOUBLE', 3]);
      expect(one('nan')[1]).toBeNaN();
      expect(one('inf')).toEqual(['DOUBLE', -Infinity]);
      expect(one('bytes')).toEqual(['BINARY', Buffer.from([0, 1, 0xfe, 0xff])]);
      expect(one('array.ints')).toEqual(['STRING', '[1,-2,9007199254740993]']);
      expect(one('array.mixed')).toEqual(['STRING', '["x",1,2.5,true,null,"AQI=","NaN"]']);
      expect(one('map')).toEqual(['STRING', '{"a":1,"b":{"c":[0.5]}}']);
      expect(one('null')).toEqual(['STRING', '']);
      expect(one('404')).toEqual(['STRING', 'integer-like key']);
      expect(one('otel.status_code')).toEqual(['STRING', 'OK']);
      expect(one('span.kind')).toEqual(['STRING', 'server']);
      expect(one('otel.library.name')).toEqual(['STRING', 'lib']);
      expect(one('otel.library.version')).toEqual(['STRING', '1.0']);
      expect(one('otel.dropped_attributes_count')).toEqual(['LONG', 7n]);
      expect(one('w3c.tracestate')).toEqual(['STRING', 'ot=th:c']);
      expect(tagOf(tags, 'error')).toEqual([]);
      expect(tagOf(tags, 'service.name')).toEqual([]);
      // Only the field of each tag's type is on the wire.
      for (const t of [...tags, ...process.tags]) expect(t.present, t.key).toEqual([{ STRING: 'vStr', DOUBLE: 'vDouble', BOOL: 'vBool', LONG: 'vLong', BINARY: 'vBinary' }[t.type]]);
    });

    it(`${protocol}: events as logs, links as references (and logs for what a reference cannot hold), status, kinds`, async () => {
      const root = span({
        spanId: '1000000000000001',
        kind: SpanKind.UNSPECIFIED,
        status: { code: StatusCode.UNSET, message: 'ignored without a code' },
        events: [
          { timeUnixNano: T0 + 1_999n, name: 'retry', attributes: [{ key: 'attempt', value: 2n }, { key: 'delay', value: 0.5 }], droppedAttributesCount: 3 },
          { timeUnixNano: T0 + 5_000n, name: 'named', attributes: [{ key: 'event', value: 'from the attribute' }], droppedAttributesCount: 0 },
        ],
        links: [
          { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 },
          { traceId: 'ef'.repeat(16), spanId: '01'.repeat(8), traceState: 'vendor=red', attributes: [{ key: 'batch.index', value: 3n }], droppedAttributesCount: 1, flags: 0 },
        ],
        droppedEventsCount: 1,
        droppedLinksCount: 2,
      });
      const child = span({ spanId: '1000000000000002', parentSpanId: '1000000000000001', kind: SpanKind.INTERNAL, flags: 0, status: { code: StatusCode.ERROR, message: 'card declined' } });
      const client = span({ spanId: '1000000000000003', parentSpanId: '1000000000000001', kind: SpanKind.CLIENT, endTimeUnixNano: T0 - 1_000n });
      const batches = await through(protocol, traces(RESOURCE, [root, child, client], ''), 3);
      const byId = new Map(jaegerSpans(batches).map((x) => [x.span.spanId, x.span]));
      const r = byId.get('1000000000000001')!;
      expect(r.references).toEqual([
        { refType: 'FOLLOWS_FROM', traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) },
        { refType: 'FOLLOWS_FROM', traceId: 'ef'.repeat(16), spanId: '01'.repeat(8) },
      ]);
      const fields = (i: number) => r.logs[i]!.fields.map((f) => [f.key, f.type, f.value]);
      expect(r.logs.map((l) => l.timestamp)).toEqual([(T0 + 1_999n) / 1000n, (T0 + 5_000n) / 1000n, T0 / 1000n]);
      expect(fields(0)).toEqual([
        ['event', 'STRING', 'retry'],
        ['attempt', 'LONG', 2n],
        ['delay', 'DOUBLE', 0.5],
        ['otel.event.dropped_attributes_count', 'LONG', 3n],
      ]);
      expect(fields(1)).toEqual([['event', 'STRING', 'from the attribute']]);
      expect(fields(2)).toEqual([
        ['event', 'STRING', 'link'],
        ['trace_id', 'STRING', 'ef'.repeat(16)],
        ['span_id', 'STRING', '01'.repeat(8)],
        ['batch.index', 'LONG', 3n],
        ['w3c.tracestate', 'STRING', 'vendor=red'],
        ['otel.dropped_attributes_count', 'LONG', 1n],
      ]);
      expect(r.tags.map((t) => [t.key, t.value])).toEqual([
        ['otel.library.name', 'lib'],
        ['otel.dropped_events_count', 2n - 1n],
        ['otel.dropped_links_count', 2n],
      ]);
      const c = byId.get('1000000000000002')!;
      expect(c.parentSpanId).toBe('1000000000000001');
      expect(c.flags).toBe(1);
      expect(c.tags.map((t) => [t.key, t.value])).toEqual([
        ['otel.status_code', 'ERROR'],
        ['otel.status_description', 'card declined'],
        ['error', true],
        ['otel.library.name', 'lib'],
      ]);
      // An end before the start (a skewed clock) keeps its sign.
      expect(byId.get('1000000000000003')!.duration).toBe(-1n);
      expect(tagOf(byId.get('1000000000000003')!.tags, 'span.kind')[0]!.value).toBe('client');
    });
  }

  it('one Batch per resource: each resource its own Jaeger process; no service.name is "unknown_service"', async () => {
    const other: Resource = { attributes: [{ key: 'k8s.pod.name', value: 'p-1' }], droppedAttributesCount: 0 };
    const data: TracesData = { resourceSpans: [...traces(RESOURCE, [span()]).resourceSpans, ...traces(other, [span({ spanId: '2000000000000001' })]).resourceSpans] };
    const batches = await through('http', data, 2);
    expect(batches.map((b) => [b.process.serviceName, b.process.tags.map((t) => t.key), b.spans.map((s) => s.spanId)])).toEqual([
      ['checkout', [], ['b7ad6b7169203331']],
      ['unknown_service', ['k8s.pod.name'], ['2000000000000001']],
    ]);
  });
});
