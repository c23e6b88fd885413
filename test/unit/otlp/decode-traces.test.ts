import { beforeAll, describe, expect, it } from 'vitest';
import { KvList, attribute, type AnyValue } from '../../../collector/model/common.js';
import type { Span, TracesData } from '../../../collector/model/traces.js';
import { decodeTracesJson } from '../../../collector/otlp/decode-traces-json.js';
import { decodeTracesProto } from '../../../collector/otlp/decode-traces-proto.js';
import {
  EVERY_TYPE_ATTRIBUTES,
  MESH_WORKLOADS,
  comparable,
  meshSpans,
  officialOtlp,
  officialTraces,
  officialWireFormat,
  serializeSpans,
  type MeshSpans,
} from '../../support/otel-fixtures.js';
import { decodeError, encodeOfficial, json } from '../../support/decode-helpers.js';

const otlp = officialOtlp();
const encodeTraces = (request: Record<string, unknown>) => encodeOfficial(otlp.ExportTraceServiceRequest, request);

function allSpans(data: TracesData): Span[] {
  return data.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

/** An SDK attribute value as our model represents it: integral numbers are OTLP ints. */
function modelValue(v: unknown): AnyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(modelValue);
  return new KvList(Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, value: modelValue(value) })));
}

function modelAttributes(attrs: Record<string, unknown>) {
  return Object.entries(attrs).map(([key, value]) => ({ key, value: modelValue(value) }));
}

function nanos(t: readonly [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** OTLP span flags: W3C trace flags plus the HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200) bits. */
function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

let mesh: MeshSpans;
let protobuf: Uint8Array;
let jsonBody: Buffer;

beforeAll(async () => {
  mesh = await meshSpans();
  const s = serializeSpans(mesh.spans);
  protobuf = s.protobuf;
  jsonBody = Buffer.from(s.json);
});

describe('decodeTracesProto on SDK payloads', () => {
  it('the fixture is the mesh it claims to be (checked with the official decoder)', () => {
    const official = officialTraces(protobuf);
    const services = official.resourceSpans.map((rs) => attribute(rs.resource.attributes, 'service.name'));
    expect(services).toEqual(Object.values(MESH_WORKLOADS).map((w) => w.name));
    const spans = allSpans(official);
    expect(spans).toHaveLength(mesh.spans.length);
    expect(new Set(spans.map((s) => s.kind))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(spans.some((s) => s.status.code === 2 && s.status.message !== '')).toBe(true);
    expect(spans.some((s) => s.traceState.startsWith('ot=th:c'))).toBe(true);
    expect(spans.some((s) => s.links.length === 2 && s.links.some((l) => l.attributes.length > 0 && l.traceState !== ''))).toBe(true);
    expect(spans.some((s) => s.droppedAttributesCount > 0)).toBe(true);
    expect(spans.some((s) => s.droppedEventsCount > 0)).toBe(true);
    expect(spans.some((s) => s.droppedLinksCount > 0)).toBe(true);
    expect(spans.some((s) => s.events.some((e) => e.name === 'exception'))).toBe(true);
  });

  it('agrees with the official protobufjs decoder on every field', () => {
    expect(comparable(decodeTracesProto(protobuf))).toStrictEqual(comparable(officialTraces(protobuf)));
  });

  it('reproduces what the SDK recorded: ids, parents, kinds, times, status, flags, events, links, attributes', () => {
    const decoded = new Map(allSpans(decodeTracesProto(protobuf)).map((s) => [s.spanId, s]));
    for (const s of mesh.spans) {
      const ctx = s.spanContext();
      const d = decoded.get(ctx.spanId);
      expect(d, `span ${s.name}`).toBeDefined();
      if (!d) continue;
      expect(d.traceId).toBe(ctx.traceId);
      expect(d.parentSpanId).toBe(s.parentSpanContext?.spanId ?? '');
      expect(d.traceState).toBe(ctx.traceState?.serialize() ?? '');
      expect(d.name).toBe(s.name);
      expect(d.kind).toBe(s.kind + 1);
      expect(d.startTimeUnixNano).toBe(nanos(s.startTime));
      expect(d.endTimeUnixNano).toBe(nanos(s.endTime));
      expect(d.flags).toBe(spanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote));
      expect(d.status).toEqual({ code: s.status.code, message: s.status.message ?? '' });
      expect(comparable(d.attributes)).toStrictEqual(comparable(modelAttributes(s.attributes)));
      expect(d.droppedAttributesCount).toBe(s.droppedAttributesCount);
      expect(d.droppedEventsCount).toBe(s.droppedEventsCount);
      expect(d.droppedLinksCount).toBe(s.droppedLinksCount);
      expect(d.events.map((e) => [e.name, e.timeUnixNano])).toEqual(s.events.map((e) => [e.name, nanos(e.time)]));
      expect(comparable(d.events.map((e) => e.attributes))).toStrictEqual(comparable(s.events.map((e) => modelAttributes(e.attributes ?? {}))));
      expect(d.links.map((l) => [l.traceId, l.spanId, l.traceState, l.flags])).toEqual(
        s.links.map((l) => [l.context.traceId, l.context.spanId, l.context.traceState?.serialize() ?? '', spanFlags(l.context.traceFlags, l.context.isRemote)]),
      );
    }
  });

  it('keeps every attribute type exact: 64-bit ints as bigint, doubles, bools, arrays, bytes, kvlists', () => {
    const server = allSpans(decodeTracesProto(protobuf)).find((s) => s.name === 'GET /cart')!;
    const a = server.attributes;
    expect(attribute(a, 'http.response.status_code')).toBe(200n);
    expect(attribute(a, 'negative.int')).toBe(-42n);
    expect(attribute(a, 'big.int')).toBe(2n ** 60n);
    expect(attribute(a, 'min.int')).toBe(-(2n ** 62n));
    expect(attribute(a, 'sampling.ratio')).toBe(0.25);
    expect(attribute(a, 'url.path')).toBe(EVERY_TYPE_ATTRIBUTES['url.path']);
    expect(attribute(a, 'empty.string')).toBe('');
    expect(attribute(a, 'retry.disabled')).toBe(false);
    expect(attribute(a, 'int.array')).toEqual([1n, -2n, 3000000000n]);
    expect(attribute(a, 'mixed.array')).toEqual(['x', 1n, 2.5, true, null]);
    expect(comparable(attribute(a, 'bytes.value'))).toEqual({ bytes: '000102feff' });
    const map = attribute(a, 'map.value');
    expect(map).toBeInstanceOf(KvList);
    expect(comparable(map)).toEqual({
      kvlist: [
        { key: 'peer', value: { kvlist: [{ key: 'name', value: 'checkout' }, { key: 'port', value: 8443n }, { key: 'weights', value: [0.5, 0.5] }] } },
        { key: 'secure', value: true },
      ],
    });
  });

  it('decodes the same bytes from a Uint8Array view with a non-zero offset', () => {
    const big = new Uint8Array(protobuf.length + 10);
    big.set(protobuf, 7);
    expect(comparable(decodeTracesProto(big.subarray(7, 7 + protobuf.length)))).toStrictEqual(comparable(decodeTracesProto(protobuf)));
  });

  it('an empty body is an empty request', () => {
    expect(decodeTracesProto(new Uint8Array(0))).toEqual({ resourceSpans: [] });
  });
});

describe('decodeTracesJson on SDK payloads', () => {
  it('the SDK JSON serialization decodes to the same model as its protobuf serialization', () => {
    expect(comparable(decodeTracesJson(jsonBody))).toStrictEqual(comparable(decodeTracesProto(protobuf)));
  });
});

// One request in OTLP/JSON with the spellings the spec allows, and the same request built for
// the official protobuf encoder: both must decode to one model.
const TRACE = '4BF92F3577B34DA6A3CE929D0E0E4736';
const SPAN = '00F067AA0BA902B7';
const OTHER_SPAN = 'b7ad6b7169203331';

const jsonRequest = {
  resource_spans: [
    {
      resource: {
        attributes: [{ key: 'service.name', value: { string_value: 'checkout' } }],
        dropped_attributes_count: 2,
        entity_refs: [{ type: 'service', id_keys: ['service.name'] }],
      },
      schema_url: 'https://opentelemetry.io/schemas/1.26.0',
      scope_spans: [
        {
          scope: { name: 'envoy', version: '1.30', attributes: [{ key: 'proxy', value: { boolValue: true } }], futureScopeField: 1 },
          schemaUrl: 'https://example.com/s',
          spans: [
            {
              trace_id: TRACE,
              span_id: SPAN,
              parent_span_id: '',
              trace_state: 'ot=th:8',
              name: 'ingress',
              kind: 'SPAN_KIND_SERVER',
              start_time_unix_nano: '1700000000000000001',
              end_time_unix_nano: 1700000000500000000,
              attributes: [
                { key: 'min', value: { int_value: '-9223372036854775808' } },
                { key: 'max', value: { intValue: '9223372036854775807' } },
                { key: 'num', value: { intValue: 42 } },
                { key: 'nan', value: { doubleValue: 'NaN' } },
                { key: 'inf', value: { double_value: 'Infinity' } },
                { key: 'ninf', value: { doubleValue: '-Infinity' } },
                { key: 'half', value: { doubleValue: 0.5 } },
                { key: 'yes', value: { bool_value: true } },
                { key: 'raw', value: { bytes_value: 'AAEC/w==' } },
                { key: 'arr', value: { array_value: { values: [{ stringValue: 'x' }, {}] } } },
                { key: 'kv', value: { kvlist_value: { values: [{ key: 'k', value: { intValue: '1' } }] } } },
                { key: 'absent' },
              ],
              dropped_attributes_count: 1,
              events: [{ time_unix_nano: '1700000000000000002', name: 'e', attributes: [], dropped_attributes_count: 3 }],
              dropped_events_count: 4,
              links: [{ trace_id: TRACE.toLowerCase(), span_id: OTHER_SPAN, trace_state: 'a=b', flags: 257, dropped_attributes_count: 5 }],
              dropped_links_count: 6,
              status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
              flags: 769,
              futureSpanField: { nested: [1, 2, 3] },
            },
            { traceId: TRACE, spanId: OTHER_SPAN, parentSpanId: SPAN, kind: 3, status: { code: 2 }, name: 'client' },
          ],
        },
      ],
    },
  ],
  somethingNew: true,
};

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

const protoRequest = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }], droppedAttributesCount: 2 },
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scopeSpans: [
        {
          scope: { name: 'envoy', version: '1.30', attributes: [{ key: 'proxy', value: { boolValue: true } }] },
          schemaUrl: 'https://example.com/s',
          spans: [
            {
              traceId: bytes(TRACE),
              spanId: bytes(SPAN),
              traceState: 'ot=th:8',
              name: 'ingress',
              kind: 2,
              startTimeUnixNano: '1700000000000000001',
              endTimeUnixNano: '1700000000500000000',
              attributes: [
                { key: 'min', value: { intValue: '-9223372036854775808' } },
                { key: 'max', value: { intValue: '9223372036854775807' } },
                { key: 'num', value: { intValue: 42 } },
                { key: 'nan', value: { doubleValue: NaN } },
                { key: 'inf', value: { doubleValue: Infinity } },
                { key: 'ninf', value: { doubleValue: -Infinity } },
                { key: 'half', value: { doubleValue: 0.5 } },
                { key: 'yes', value: { boolValue: true } },
                { key: 'raw', value: { bytesValue: Uint8Array.from([0, 1, 2, 255]) } },
                { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }, {}] } } },
                { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { intValue: 1 } }] } } },
                { key: 'absent' },
              ],
              droppedAttributesCount: 1,
              events: [{ timeUnixNano: '1700000000000000002', name: 'e', droppedAttributesCount: 3 }],
              droppedEventsCount: 4,
              links: [{ traceId: bytes(TRACE), spanId: bytes(OTHER_SPAN), traceState: 'a=b', flags: 257, droppedAttributesCount: 5 }],
              droppedLinksCount: 6,
              status: { code: 2, message: 'boom' },
              flags: 769,
            },
            { traceId: bytes(TRACE), spanId: bytes(OTHER_SPAN), parentSpanId: bytes(SPAN), kind: 3, status: { code: 2 }, name: 'client' },
          ],
        },
      ],
    },
  ],
};

describe('OTLP/JSON specifics', () => {
  it('accepts snake_case keys, enum names and numbers, int64 as strings or numbers, and ignores unknown fields', () => {
    const fromJson = decodeTracesJson(json(jsonRequest));
    expect(comparable(fromJson)).toStrictEqual(comparable(decodeTracesProto(encodeTraces(protoRequest))));
    expect(comparable(fromJson)).toStrictEqual(comparable(officialTraces(encodeTraces(protoRequest))));
  });

  it('lowercases hex ids and keeps 64-bit values exact', () => {
    const [span, client] = allSpans(decodeTracesJson(json(jsonRequest)));
    expect(span!.traceId).toBe(TRACE.toLowerCase());
    expect(span!.spanId).toBe(SPAN.toLowerCase());
    expect(client!.parentSpanId).toBe(SPAN.toLowerCase());
    expect(span!.startTimeUnixNano).toBe(1700000000000000001n);
    expect(span!.endTimeUnixNano).toBe(1700000000500000000n);
    expect(attribute(span!.attributes, 'min')).toBe(-(2n ** 63n));
    expect(attribute(span!.attributes, 'max')).toBe(2n ** 63n - 1n);
    expect(attribute(span!.attributes, 'nan')).toBeNaN();
    expect(attribute(span!.attributes, 'ninf')).toBe(-Infinity);
    expect(attribute(span!.attributes, 'absent')).toBeNull();
    expect(span!.kind).toBe(2);
    expect(client!.kind).toBe(3);
    expect(span!.status).toEqual({ code: 2, message: 'boom' });
    expect(client!.status).toEqual({ code: 2, message: '' });
  });

  it('treats null like an absent field, as proto3 JSON requires', () => {
    const data = decodeTracesJson(json({ resourceSpans: [{ resource: null, scopeSpans: [{ scope: null, spans: [{ traceId: null, name: null, attributes: null, status: null }] }] }] }));
    const [span] = allSpans(data);
    expect(span).toMatchObject({ traceId: '', name: '', attributes: [], status: { code: 0, message: '' } });
  });

  it('accepts an empty object and an empty resourceSpans list', () => {
    expect(decodeTracesJson(json({}))).toEqual({ resourceSpans: [] });
    expect(decodeTracesJson(json({ resourceSpans: [] }))).toEqual({ resourceSpans: [] });
  });
});

/** A request with `span` as spans[1] of resourceSpans[1].scopeSpans[2] (protobufjs object form). */
function protoWithSpan(span: Record<string, unknown>): Uint8Array {
  const good = { traceId: bytes(TRACE), spanId: bytes(SPAN), name: 'ok' };
  const scope = (spans: unknown[]) => ({ scope: { name: 's' }, spans });
  return encodeTraces({
    resourceSpans: [
      { scopeSpans: [scope([good])] },
      { scopeSpans: [scope([good]), scope([]), scope([good, { ...good, ...span }])] },
    ],
  });
}

function jsonWithSpan(span: Record<string, unknown>): Buffer {
  const good = { traceId: TRACE, spanId: SPAN, name: 'ok' };
  const scope = (spans: unknown[]) => ({ scope: { name: 's' }, spans });
  return json({
    resourceSpans: [
      { scopeSpans: [scope([good])] },
      { scopeSpans: [scope([good]), scope([]), scope([good, { ...good, ...span }])] },
    ],
  });
}

const AT = 'resourceSpans[1].scopeSpans[2].spans[1]';

describe('decode errors name the path to the bad field', () => {
  it('protobuf: ids of the wrong length', () => {
    expect(decodeError(() => decodeTracesProto(protoWithSpan({ traceId: Uint8Array.from([1, 2, 3, 4, 5]) }))).message).toBe(
      `${AT}.traceId: must be 16 bytes, got 5`,
    );
    expect(decodeError(() => decodeTracesProto(protoWithSpan({ spanId: new Uint8Array(16) }))).message).toBe(`${AT}.spanId: must be 8 bytes, got 16`);
    expect(decodeError(() => decodeTracesProto(protoWithSpan({ parentSpanId: new Uint8Array(7) }))).message).toBe(
      `${AT}.parentSpanId: must be 8 bytes, got 7`,
    );
    const links = [{ traceId: bytes(TRACE), spanId: bytes(SPAN) }, { traceId: bytes(TRACE), spanId: new Uint8Array(4) }];
    expect(decodeError(() => decodeTracesProto(protoWithSpan({ links }))).message).toBe(`${AT}.links[1].spanId: must be 8 bytes, got 4`);
  });

  it('json: ids that are not hex of the right length', () => {
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ traceId: 'xyz' }))).message).toBe(`${AT}.traceId: must be 32 hex characters, got "xyz"`);
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ spanId: 'zz'.repeat(8) }))).message).toMatch(new RegExp(`^${escape(AT)}\\.spanId: must be 16 hex`));
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ links: [{ traceId: TRACE, spanId: 12 }] }))).message).toBe(
      `${AT}.links[0].spanId: must be 16 hex characters, got 12`,
    );
    // Base64 ids (the proto3 default for bytes) are not OTLP/JSON.
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ traceId: Buffer.from(TRACE, 'hex').toString('base64') }))).message).toMatch(/traceId: must be 32 hex/);
  });

  it('json: bad enums, integers and timestamps', () => {
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ kind: 'SERVER' }))).message).toMatch(new RegExp(`^${escape(AT)}\\.kind: must be one of SPAN_KIND_UNSPECIFIED`));
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ kind: 2 ** 40 }))).message).toMatch(/kind: must be one of/);
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ status: { code: 'ERROR' } }))).message).toMatch(new RegExp(`^${escape(AT)}\\.status\\.code: must be one of STATUS_CODE_UNSET`));
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ startTimeUnixNano: '-1' }))).message).toBe(
      `${AT}.startTimeUnixNano: must be an unsigned 64-bit integer, got "-1"`,
    );
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ endTimeUnixNano: 1.5 }))).message).toMatch(/endTimeUnixNano: must be an unsigned 64-bit integer, got 1.5/);
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ events: [{ timeUnixNano: 'soon' }] }))).message).toBe(
      `${AT}.events[0].timeUnixNano: must be an unsigned 64-bit integer, got "soon"`,
    );
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ attributes: [{ key: 'n', value: { intValue: '9223372036854775808' } }] }))).message).toBe(
      `${AT}.attributes[0].value("n").intValue: must be a 64-bit integer, got "9223372036854775808"`,
    );
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ droppedEventsCount: -1 }))).message).toMatch(/droppedEventsCount: must be an unsigned 32-bit integer/);
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ attributes: [{ key: 'b', value: { bytesValue: 'not base64!' } }] }))).message).toMatch(
      /attributes\[0\]\.value\("b"\)\.bytesValue: must be base64/,
    );
  });

  it('json: wrong shapes and broken JSON', () => {
    expect(decodeError(() => decodeTracesJson(Buffer.from('{"resourceSpans": ['))).message).toMatch(/^invalid JSON: /);
    expect(decodeError(() => decodeTracesJson(Buffer.from('[]'))).message).toBe('request body must be an object, got an array');
    expect(decodeError(() => decodeTracesJson(json({ resourceSpans: {} }))).message).toBe('resourceSpans: must be an array, got an object');
    expect(decodeError(() => decodeTracesJson(json({ resourceSpans: [{ scopeSpans: [{ spans: [null] }] }] }))).message).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0]: element must be an object, got null',
    );
    expect(decodeError(() => decodeTracesJson(json({ resourceSpans: [{ resource: 'r' }] }))).message).toBe('resourceSpans[0].resource: resource must be an object, got a string');
  });

  it('never echoes more than a short excerpt of untrusted input', () => {
    const e = decodeError(() => decodeTracesJson(jsonWithSpan({ traceId: 'A'.repeat(100_000) })));
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toMatch(/\.\.\."$/);
    const key = '\u0000\u001b[31m'.repeat(1000);
    const e2 = decodeError(() => decodeTracesJson(jsonWithSpan({ attributes: [{ key, value: { intValue: 'x' } }] })));
    expect(e2.message.length).toBeLessThan(250);
    expect([...e2.message].every((c) => c >= ' ' && c <= '~')).toBe(true);
  });

  it('protobuf: wrong wire types and truncation', () => {
    const w = officialWireFormat().Writer.create();
    // resourceSpans[0].scopeSpans[0].spans[0] whose name (field 5) arrives as a varint.
    w.uint32((1 << 3) | 2).fork().uint32((2 << 3) | 2).fork().uint32((2 << 3) | 2).fork().uint32((5 << 3) | 0).uint32(1).ldelim().ldelim().ldelim();
    expect(decodeError(() => decodeTracesProto(w.finish())).message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: wire type 0 where 2 was expected/);

    for (const cut of [1, 2, 10, Math.floor(protobuf.length / 2), protobuf.length - 1]) {
      const e = decodeError(() => decodeTracesProto(protobuf.subarray(0, cut)));
      expect(e.message).toMatch(/truncated|runs past the end/);
    }
    expect(decodeError(() => decodeTracesProto(Uint8Array.from([0x0a, 0x05, 0x0a]))).message).toMatch(/^resourceSpans\[0\]: length 5 at byte 2 runs past the end/);
  });

  it('protobuf: an attribute error names the attribute key', () => {
    const e = decodeError(() =>
      decodeTracesProto(protoWithSpan({ attributes: [{ key: 'peer', value: { kvlistValue: { values: [{ key: 'addr', value: nestedArrays(40) }] } } }] })),
    );
    expect(e.message).toMatch(new RegExp(`^${escape(AT)}\\.attributes\\["peer"\\]\\.attributes\\["addr"\\]: values nested deeper than 32$`));
  });
});

/** An AnyValue (protobufjs object form) of `depth` nested arrays around a string. */
function nestedArrays(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { stringValue: 'leaf' };
  for (let i = 0; i < depth; i++) v = { arrayValue: { values: [v] } };
  return v;
}

/** The same, in OTLP/JSON, alternating arrays and key-value lists. */
function nestedJson(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { stringValue: 'leaf' };
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { arrayValue: { values: [v] } } : { kvlistValue: { values: [{ key: `k${i}`, value: v }] } };
  return v;
}

function nestedProto(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { stringValue: 'leaf' };
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { arrayValue: { values: [v] } } : { kvlistValue: { values: [{ key: `k${i}`, value: v }] } };
  return v;
}

describe('nesting of array and kvlist values', () => {
  it('accepts 32 levels in both encodings, with the same result', () => {
    const fromProto = decodeTracesProto(protoWithSpan({ attributes: [{ key: 'deep', value: nestedProto(32) }] }));
    const fromJson = decodeTracesJson(jsonWithSpan({ attributes: [{ key: 'deep', value: nestedJson(32) }] }));
    expect(comparable(fromJson)).toStrictEqual(comparable(fromProto));
    let v = attribute(allSpans(fromProto)[3]!.attributes, 'deep');
    let levels = 0;
    while (Array.isArray(v) || v instanceof KvList) {
      v = Array.isArray(v) ? v[0]! : v.values[0]!.value;
      levels++;
    }
    expect([levels, v]).toEqual([32, 'leaf']);
  });

  it.each([33, 40, 1000])('rejects %d levels in both encodings with a DecodeError, not a stack overflow', (depth) => {
    expect(decodeError(() => decodeTracesProto(protoWithSpan({ attributes: [{ key: 'deep', value: nestedProto(depth) }] }))).message).toMatch(
      /attributes\["deep"\].*values nested deeper than 32$/,
    );
    expect(decodeError(() => decodeTracesJson(jsonWithSpan({ attributes: [{ key: 'deep', value: nestedJson(depth) }] }))).message).toMatch(
      /attributes\[0\]\.value\("deep"\).*values nested deeper than 32$/,
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
