import { describe, expect, it } from 'vitest';
import { JsonMetricsSerializer, JsonTraceSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ProtobufReader, WireType } from '../../../collector/otlp/protobuf-reader.js';
import { ProtobufWriter } from '../../../collector/otlp/protobuf-writer.js';
import { CONTENT_TYPE, exportResponse, statusResponse } from '../../../collector/otlp/responses.js';
import { officialOtlp, officialRpcStatus, officialWireFormat, pbBigInt } from '../../support/otel-fixtures.js';

/**
 * What our writer produces is read back with protobufjs (the runtime of the official generated
 * OTLP code), so that writer and reader cannot share one misunderstanding of the format.
 */
const pb = officialWireFormat();
const otlp = officialOtlp();

/** A small deterministic PRNG (mulberry32), so that round trips cover many values reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ProtobufWriter, read back by protobufjs', () => {
  it('writes unsigned varints up to 2^53 and beyond (exact integers)', () => {
    const values = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 3, 2 ** 53 - 1, 2 ** 53, 2 ** 60, 2 ** 63];
    const w = new ProtobufWriter(1);
    for (const v of values) w.varint(v);
    const r = pb.Reader.create(w.finish());
    for (const v of values) expect(pbBigInt(r.uint64(), false)).toBe(BigInt(v));
    expect(r.pos).toBe(r.len);
  });

  it('writes the encoding guide bytes', () => {
    expect([...new ProtobufWriter().varint(150).finish()]).toEqual([0x96, 0x01]);
    expect([...new ProtobufWriter().int64(-1n).finish()]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtobufWriter().tag(1, WireType.LEN).string('testing').finish()]).toEqual([
      0x0a, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
    ]);
  });

  it('writes int64 (ten bytes for negatives), int32 and sint32', () => {
    const int64s = [0n, 1n, -1n, -42n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    const int32s = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)];
    const w = new ProtobufWriter(2);
    for (const v of int64s) w.int64(v);
    for (const v of int32s) w.int32(v);
    for (const v of int32s) w.sint32(v);
    const bytes = w.finish();
    const r = pb.Reader.create(bytes);
    for (const v of int64s) expect(pbBigInt(r.int64(), true)).toBe(v);
    const negativeStart = r.pos;
    for (const v of int32s) expect(r.int32()).toBe(v);
    // Negative int32 takes ten bytes on the wire, as protobuf requires: 1+1+10+5+10.
    expect(r.pos - negativeStart).toBe(1 + 1 + 10 + 5 + 10);
    for (const v of int32s) expect(r.sint32()).toBe(v);
    expect(r.pos).toBe(r.len);
  });

  it('writes fixed32, fixed64, sfixed64 and doubles', () => {
    const w = new ProtobufWriter(1)
      .fixed32(0xfffffffe)
      .fixed64(2n ** 64n - 1n)
      .fixed64(1700000000123456789n)
      .fixed64Number(2 ** 53 - 1)
      .fixed64Number(4294967297)
      .sfixed64(-(2n ** 63n))
      .sfixed64(-1n)
      .double(-0)
      .double(Math.PI)
      .double(NaN)
      .double(-Infinity);
    const r = pb.Reader.create(w.finish());
    expect(r.fixed32()).toBe(0xfffffffe);
    expect(pbBigInt(r.fixed64(), false)).toBe(2n ** 64n - 1n);
    expect(pbBigInt(r.fixed64(), false)).toBe(1700000000123456789n);
    expect(pbBigInt(r.fixed64(), false)).toBe(2n ** 53n - 1n);
    expect(pbBigInt(r.fixed64(), false)).toBe(4294967297n);
    expect(pbBigInt(r.sfixed64(), true)).toBe(-(2n ** 63n));
    expect(pbBigInt(r.sfixed64(), true)).toBe(-1n);
    expect(Object.is(r.double(), -0)).toBe(true);
    expect(r.double()).toBe(Math.PI);
    expect(r.double()).toBeNaN();
    expect(r.double()).toBe(-Infinity);
  });

  it('writes strings whose length prefix takes 1, 2, 3 and 4 bytes, and non-ASCII text', () => {
    const strings = ['', 'a', 'naïve ✓ 🚀', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(16384), '✓'.repeat(700_000), '\ud800 lone'];
    const w = new ProtobufWriter(4);
    for (const s of strings) w.string(s);
    const r = pb.Reader.create(w.finish());
    for (const s of strings) expect(r.string()).toBe(Buffer.from(s, 'utf8').toString('utf8'));
    expect(r.pos).toBe(r.len);
  });

  it('writes bytes and hex ids', () => {
    const w = new ProtobufWriter(1).bytes(Uint8Array.from([0, 255, 7])).bytes(new Uint8Array(0)).hexBytes('4bf92f3577b34da6a3ce929d0e0e4736').hexBytes('');
    const r = pb.Reader.create(w.finish());
    expect([...r.bytes()]).toEqual([0, 255, 7]);
    expect(r.bytes().length).toBe(0);
    expect(Buffer.from(r.bytes()).toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(r.bytes().length).toBe(0);
  });

  it('nests messages with fork/join across length-prefix size boundaries', () => {
    // Inner payloads of 0, 127, 128, 16383, 16384 and 2 MiB bytes, three levels deep.
    const sizes = [0, 127, 128, 16383, 16384, 2 * 1024 * 1024];
    const w = new ProtobufWriter(8);
    for (const size of sizes) {
      w.tag(1, WireType.LEN).fork();
      w.tag(2, WireType.LEN).fork();
      w.tag(3, WireType.LEN).bytes(new Uint8Array(size).fill(size % 251));
      w.tag(4, WireType.VARINT).varint(size);
      w.join();
      w.tag(5, WireType.I32).fixed32(size);
      w.join();
    }
    const r = pb.Reader.create(w.finish());
    for (const size of sizes) {
      expect(r.uint32()).toBe((1 << 3) | 2);
      const outerEnd = r.uint32() + r.pos;
      expect(r.uint32()).toBe((2 << 3) | 2);
      const innerEnd = r.uint32() + r.pos;
      expect(r.uint32()).toBe((3 << 3) | 2);
      const payload = r.bytes();
      expect(payload.length).toBe(size);
      expect(payload.every((b) => b === size % 251)).toBe(true);
      expect(r.uint32()).toBe((4 << 3) | 0);
      expect(r.uint32()).toBe(size);
      expect(r.pos).toBe(innerEnd);
      expect(r.uint32()).toBe((5 << 3) | 5);
      expect(r.fixed32()).toBe(size);
      expect(r.pos).toBe(outerEnd);
    }
    expect(r.pos).toBe(r.len);
  });

  it('returns a copy from finish(), so that later writes do not change it', () => {
    const w = new ProtobufWriter(4).varint(1);
    const first = w.finish();
    w.varint(2).string('more');
    expect([...first]).toEqual([1]);
    expect(w.length).toBe(7);
  });

  it('throws on join() without fork()', () => {
    expect(() => new ProtobufWriter().join()).toThrow(/join\(\) without fork\(\)/);
  });

  it('writes an ExportTraceServiceRequest that the official decoder reads field by field', () => {
    const w = new ProtobufWriter(16);
    w.tag(1, WireType.LEN).fork(); // resource_spans
    w.tag(1, WireType.LEN).fork(); // resource
    w.tag(1, WireType.LEN).fork().tag(1, WireType.LEN).string('service.name');
    w.tag(2, WireType.LEN).fork().tag(1, WireType.LEN).string('checkout').join().join();
    w.join();
    w.tag(2, WireType.LEN).fork(); // scope_spans
    w.tag(2, WireType.LEN).fork(); // span
    w.tag(1, WireType.LEN).hexBytes('0af7651916cd43dd8448eb211c80319c');
    w.tag(2, WireType.LEN).hexBytes('b7ad6b7169203331');
    w.tag(5, WireType.LEN).string('GET /');
    w.tag(6, WireType.VARINT).int32(2);
    w.tag(7, WireType.I64).fixed64(1700000000000000001n);
    w.tag(9, WireType.LEN).fork().tag(1, WireType.LEN).string('n');
    w.tag(2, WireType.LEN).fork().tag(3, WireType.VARINT).int64(-5n).join().join();
    w.tag(16, WireType.I32).fixed32(0x301);
    w.join().join().join();
    const req = otlp.ExportTraceServiceRequest.decode(w.finish());
    const span = req.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(req.resourceSpans[0]!.resource!.attributes[0]!.value!.stringValue).toBe('checkout');
    expect(Buffer.from(span.traceId!).toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(Buffer.from(span.spanId!).toString('hex')).toBe('b7ad6b7169203331');
    expect(span.name).toBe('GET /');
    expect(span.kind).toBe(2);
    expect(pbBigInt(span.startTimeUnixNano, false)).toBe(1700000000000000001n);
    expect(pbBigInt(span.attributes[0]!.value!.intValue, true)).toBe(-5n);
    expect(span.flags).toBe(0x301);
  });

  it('round-trips random values through our own reader (seeded)', () => {
    const seed = 0x5eed;
    const rand = prng(seed);
    const kinds = ['varint', 'int64', 'sint32', 'fixed64', 'sfixed64', 'double', 'string'] as const;
    const values: { kind: (typeof kinds)[number]; value: number | bigint | string }[] = [];
    const w = new ProtobufWriter(1);
    for (let i = 0; i < 5000; i++) {
      const kind = kinds[Math.floor(rand() * kinds.length)]!;
      const big = (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
      switch (kind) {
        case 'varint': {
          const v = Math.floor(rand() * 2 ** Math.floor(rand() * 54));
          values.push({ kind, value: v });
          w.varint(v);
          break;
        }
        case 'int64':
        case 'sfixed64': {
          const v = BigInt.asIntN(64, big);
          values.push({ kind, value: v });
          if (kind === 'int64') w.int64(v);
          else w.sfixed64(v);
          break;
        }
        case 'sint32': {
          const v = (rand() * 2 ** 32) | 0;
          values.push({ kind, value: v });
          w.sint32(v);
          break;
        }
        case 'fixed64':
          values.push({ kind, value: big });
          w.fixed64(big);
          break;
        case 'double': {
          const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 600 - 300);
          values.push({ kind, value: v });
          w.double(v);
          break;
        }
        case 'string': {
          const v = String.fromCodePoint(...Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 0xd7ff)));
          values.push({ kind, value: v });
          w.string(v);
          break;
        }
      }
    }
    const r = new ProtobufReader(w.finish());
    for (const [i, { kind, value }] of values.entries()) {
      const read = { varint: () => r.uint64Number(), int64: () => r.int64(), sint32: () => r.sint32(), fixed64: () => r.fixed64(), sfixed64: () => r.sfixed64(), double: () => r.double(), string: () => r.string() }[kind]();
      expect(read, `seed ${seed}, value ${i} (${kind})`).toBe(value);
    }
    expect(r.pos).toBe(r.limit);
  });
});

describe('response bodies (responses.ts)', () => {
  it('full success is the empty ExportTraceServiceResponse / ExportMetricsServiceResponse', () => {
    const traces = exportResponse('traces', 'protobuf', 0, '');
    expect(traces.length).toBe(0);
    expect(otlp.ExportTraceServiceResponse.decode(traces).partialSuccess).toBeNull();
    expect(otlp.ExportMetricsServiceResponse.decode(exportResponse('metrics', 'protobuf', 0, '')).partialSuccess).toBeNull();
    expect(JSON.parse(exportResponse('traces', 'json', 0, '').toString())).toEqual({});
  });

  it('partial success carries rejected_spans and error_message (official decoder and the SDK exporter deserializer)', () => {
    const message = 'a span without a valid traceId and spanId — ✓';
    const body = exportResponse('traces', 'protobuf', 300, message);
    const decoded = otlp.ExportTraceServiceResponse.decode(body);
    expect(pbBigInt(decoded.partialSuccess!.rejectedSpans, true)).toBe(300n);
    expect(decoded.partialSuccess!.errorMessage).toBe(message);
    const sdk = ProtobufTraceSerializer.deserializeResponse(body);
    expect(Number(sdk.partialSuccess?.rejectedSpans)).toBe(300);
    expect(sdk.partialSuccess?.errorMessage).toBe(message);

    const json = exportResponse('traces', 'json', 300, message);
    expect(JSON.parse(json.toString())).toEqual({ partialSuccess: { rejectedSpans: '300', errorMessage: message } });
    expect(JsonTraceSerializer.deserializeResponse(json).partialSuccess?.errorMessage).toBe(message);
  });

  it('partial success for metrics carries rejected_data_points', () => {
    const body = exportResponse('metrics', 'protobuf', 2 ** 40, '');
    const decoded = otlp.ExportMetricsServiceResponse.decode(body);
    expect(pbBigInt(decoded.partialSuccess!.rejectedDataPoints, true)).toBe(2n ** 40n);
    expect(decoded.partialSuccess!.errorMessage).toBeNull();
    expect(Number(ProtobufMetricsSerializer.deserializeResponse(body).partialSuccess?.rejectedDataPoints)).toBe(2 ** 40);

    const json = exportResponse('metrics', 'json', 4, 'bad histogram');
    expect(JSON.parse(json.toString())).toEqual({ partialSuccess: { rejectedDataPoints: '4', errorMessage: 'bad histogram' } });
    expect(JsonMetricsSerializer.deserializeResponse(json).partialSuccess?.rejectedDataPoints).toBe('4');
  });

  it('a message without rejected items is still a partial success (warnings, per the OTLP spec)', () => {
    const decoded = otlp.ExportTraceServiceResponse.decode(exportResponse('traces', 'protobuf', 0, 'slow down'));
    expect(decoded.partialSuccess!.errorMessage).toBe('slow down');
    expect(pbBigInt(decoded.partialSuccess!.rejectedSpans, true)).toBe(0n);
  });

  it.each([
    [400, 3],
    [413, 8],
    [415, 3],
    [429, 8],
    [503, 14],
    [500, 2],
  ])('HTTP %d carries a google.rpc.Status with gRPC code %d (decoded with protobufjs)', (status, code) => {
    const Status = officialRpcStatus();
    const message = `resourceSpans[0].scopeSpans[0].spans[1].traceId: must be 16 bytes, got 3 ${'…'.repeat(60)}`;
    const decoded = Status.decode(statusResponse(status, 'protobuf', message));
    expect(decoded.code).toBe(code);
    expect(decoded.message).toBe(message);
    expect(decoded.details).toEqual([]);
    expect(JSON.parse(statusResponse(status, 'json', message).toString())).toEqual({ code, message });
  });

  it('names the media type of each encoding', () => {
    expect(CONTENT_TYPE).toEqual({ protobuf: 'application/x-protobuf', json: 'application/json' });
  });

  it('status bodies are readable by our own reader too (field 1 code, field 2 message)', () => {
    const r = new ProtobufReader(statusResponse(503, 'protobuf', 'retry later'));
    expect(r.tag()).toBe((1 << 3) | WireType.VARINT);
    expect(r.int32()).toBe(14);
    expect(r.tag()).toBe((2 << 3) | WireType.LEN);
    expect(r.string()).toBe('retry later');
    expect(r.pos).toBe(r.limit);
  });
});
