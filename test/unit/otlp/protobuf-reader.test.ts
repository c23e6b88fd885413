import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../collector/otlp/decode-error.js';
import { decodeError } from '../../support/decode-helpers.js';
import { ProtobufReader, WireType } from '../../../collector/otlp/protobuf-reader.js';
import { officialWireFormat, pbBigInt, type PbWriter } from '../../support/otel-fixtures.js';

/**
 * The reader is checked against bytes written by protobufjs (the runtime of the official
 * generated OTLP code) and against the byte vectors of the protobuf encoding guide
 * (https://protobuf.dev/programming-guides/encoding/), never against our own writer alone.
 */
const pb = officialWireFormat();

function written(write: (w: PbWriter) => PbWriter): ProtobufReader {
  return new ProtobufReader(write(pb.Writer.create()).finish());
}

function reader(bytes: number[]): ProtobufReader {
  return new ProtobufReader(Uint8Array.from(bytes));
}

describe('ProtobufReader varints', () => {
  it('reads the encoding guide examples', () => {
    expect(reader([0x01]).uint32()).toBe(1);
    expect(reader([0x96, 0x01]).uint32()).toBe(150);
    // int64 -1 is ten bytes of two's complement.
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(reader(minusOne).int64()).toBe(-1n);
    expect(reader(minusOne).int32()).toBe(-1);
    expect(reader(minusOne).uint32()).toBe(0xffffffff);
    // sint32 zigzag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3.
    expect([0, 1, 2, 3].map((b) => reader([b]).sint32())).toEqual([0, -1, 1, -2]);
  });

  it.each([
    '0',
    '1',
    '127',
    '128',
    '16383',
    '16384',
    '2147483647',
    '2147483648',
    '4294967295',
    '4294967296',
    '9007199254740991', // 2^53 - 1
    '9007199254740993', // 2^53 + 1: not a double, must stay exact
    '1152921504606846977',
    '9223372036854775807',
    '18446744073709551615',
  ])('reads uint64 %s written by protobufjs exactly (int64 as the same bits)', (value) => {
    const v = BigInt(value);
    expect(written((w) => w.uint64(value)).int64()).toBe(BigInt.asIntN(64, v));
    const r = written((w) => w.uint64(value));
    const n = r.uint64Number();
    expect(r.pos).toBe(r.limit);
    if (v <= 2n ** 53n) expect(n).toBe(Number(v));
    else expect(Math.abs(n - Number(v)) / Number(v)).toBeLessThan(2 ** -52);
  });

  it.each(['-1', '-2', '-42', '-2147483648', '-4294967296', '-9007199254740993', '-9223372036854775808'])(
    'reads the ten-byte negative int64 %s exactly',
    (value) => {
      const r = written((w) => w.int64(value));
      expect(r.limit).toBe(10);
      expect(r.int64()).toBe(BigInt(value));
      expect(r.pos).toBe(10);
    },
  );

  it.each([0, 1, -1, 300, -300, 2147483647, -2147483648])('reads int32 %d and sint32 %d as protobufjs wrote them', (value) => {
    expect(written((w) => w.int32(value)).int32()).toBe(value);
    expect(written((w) => w.sint32(value)).sint32()).toBe(value);
  });

  it('reads booleans from any varint', () => {
    expect(written((w) => w.bool(true)).bool()).toBe(true);
    expect(written((w) => w.bool(false)).bool()).toBe(false);
    expect(reader([0x80, 0x01]).bool()).toBe(true);
  });

  it('rejects a varint longer than ten bytes and a truncated one', () => {
    const eleven = [...Array<number>(10).fill(0xff), 0x01];
    expect(decodeError(() => reader(eleven).int64()).message).toMatch(/varint longer than 10 bytes/);
    expect(decodeError(() => reader(eleven).uint32()).message).toMatch(/varint longer than 10 bytes/);
    expect(decodeError(() => reader([0x80]).uint32()).message).toMatch(/truncated varint at byte 1/);
    expect(decodeError(() => reader([0xff, 0xff]).int64()).message).toMatch(/truncated varint/);
    expect(decodeError(() => reader([]).uint32()).message).toMatch(/truncated varint at byte 0/);
  });
});

describe('ProtobufReader fixed-width values', () => {
  it.each(['0', '1', '4294967296', '9007199254740993', '18446744073709551615'])('reads fixed64 %s exactly', (value) => {
    expect(written((w) => w.fixed64(value)).fixed64()).toBe(BigInt(value));
  });

  it('reads fixed64 counts as numbers, exact to 2^53', () => {
    expect(written((w) => w.fixed64('9007199254740991')).fixed64Number()).toBe(2 ** 53 - 1);
    expect(written((w) => w.fixed64('4294967297')).fixed64Number()).toBe(4294967297);
  });

  it.each(['-9223372036854775808', '-1', '0', '9223372036854775807'])('reads sfixed64 %s exactly', (value) => {
    expect(written((w) => w.sfixed64(value)).sfixed64()).toBe(BigInt(value));
  });

  it('reads fixed32 including values above 2^31', () => {
    expect(written((w) => w.fixed32(0xfffffffe)).fixed32()).toBe(0xfffffffe);
    expect(reader([0x01, 0x02, 0x00, 0x00]).fixed32()).toBe(0x0201);
  });

  it.each([0, -0, 1.5, -2.25e-308, 5e-324, Number.MAX_VALUE, Infinity, -Infinity, Math.PI])('reads double %d bit for bit', (value) => {
    expect(Object.is(written((w) => w.double(value)).double(), value)).toBe(true);
  });

  it('reads NaN', () => {
    expect(written((w) => w.double(NaN)).double()).toBeNaN();
  });

  it('rejects truncated fixed-width values', () => {
    expect(decodeError(() => reader([1, 2, 3]).fixed32()).message).toMatch(/truncated fixed32 at byte 0/);
    expect(decodeError(() => reader([1, 2, 3, 4, 5, 6, 7]).fixed64()).message).toMatch(/truncated fixed64/);
    expect(decodeError(() => reader([1, 2, 3, 4, 5, 6, 7]).fixed64Number()).message).toMatch(/truncated fixed64/);
    expect(decodeError(() => reader([1, 2, 3, 4, 5, 6, 7]).sfixed64()).message).toMatch(/truncated sfixed64/);
    expect(decodeError(() => reader([1, 2, 3, 4, 5, 6, 7]).double()).message).toMatch(/truncated double/);
  });

  it('honours the byte offset of a Uint8Array view into a larger buffer', () => {
    const bytes = pb.Writer.create().uint32(7).fixed64('1234605616436508552').double(2.5).fixed32(99).finish();
    const big = new Uint8Array(bytes.length + 13).fill(0xee);
    big.set(bytes, 5);
    const r = new ProtobufReader(big.subarray(5, 5 + bytes.length));
    expect(r.uint32()).toBe(7);
    expect(r.fixed64()).toBe(1234605616436508552n);
    expect(r.double()).toBe(2.5);
    expect(r.fixed32()).toBe(99);
    expect(() => r.uint32()).toThrow(DecodeError); // the 0xee padding after the view is not read
  });
});

describe('ProtobufReader length-delimited values', () => {
  it('reads strings, including non-ASCII and empty, and replaces invalid UTF-8', () => {
    const r = written((w) => w.string('naïve ✓ 🚀').string('').string('x'.repeat(300)));
    expect(r.string()).toBe('naïve ✓ 🚀');
    expect(r.string()).toBe('');
    expect(r.string()).toBe('x'.repeat(300));
    expect(reader([3, 0x61, 0xff, 0x62]).string()).toBe('a\ufffdb');
  });

  it('copies bytes so that the request buffer can be released', () => {
    const source = pb.Writer.create().bytes(Uint8Array.from([1, 2, 3])).finish();
    const r = new ProtobufReader(source);
    const b = r.bytes();
    source.fill(0);
    expect([...b]).toEqual([1, 2, 3]);
  });

  it('reads trace and span ids as lowercase hex, empty as empty', () => {
    const traceId = Uint8Array.from(Buffer.from('4BF92F3577B34DA6A3CE929D0E0E4736', 'hex'));
    const r = written((w) => w.bytes(traceId).bytes(traceId.subarray(0, 8)).bytes(new Uint8Array(0)));
    expect(r.id(16, 'traceId')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(r.id(8, 'spanId')).toBe('4bf92f3577b34da6');
    expect(r.id(8, 'parentSpanId')).toBe('');
  });

  it('rejects an id of the wrong length under the field name', () => {
    const e = decodeError(() => written((w) => w.bytes(Uint8Array.from([1, 2, 3]))).id(16, 'traceId'));
    expect(e.message).toBe('traceId: must be 16 bytes, got 3');
    expect(e.code).toBe('MESHTEL_ERR_DECODE');
  });

  it('rejects a length running past the end', () => {
    expect(decodeError(() => reader([5, 1, 2]).string()).message).toMatch(/length 5 at byte 1 runs past the end/);
    expect(decodeError(() => reader([5, 1, 2]).bytes()).message).toMatch(/runs past the end/);
  });

  it('rejects a length beyond 32 bits instead of reading its low bits (2^32 + 2 is not 2)', () => {
    // 0x82 0x80 0x80 0x80 0x10 is 2^32 + 2; its low 32 bits would be a plausible length of 2.
    const e = decodeError(() => reader([0x82, 0x80, 0x80, 0x80, 0x10, 0x61, 0x62]).string());
    expect(e.message).toMatch(/length 4294967298 at byte 5 runs past the end/);
    const huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61];
    expect(decodeError(() => reader(huge).lengthDelimited()).message).toMatch(/runs past the end/);
  });
});

describe('ProtobufReader repeated fields', () => {
  it('reads packed and unpacked fixed64 counts', () => {
    const packed = pb.Writer.create().fork().fixed64(1).fixed64('4294967296').fixed64(0).ldelim().finish();
    const out: number[] = [];
    new ProtobufReader(packed).repeatedFixed64Number(WireType.LEN, out);
    const unpacked = new ProtobufReader(pb.Writer.create().fixed64(7).fixed64(8).finish());
    unpacked.repeatedFixed64Number(WireType.I64, out);
    unpacked.repeatedFixed64Number(WireType.I64, out);
    expect(out).toEqual([1, 4294967296, 0, 7, 8]);
  });

  it('reads packed and unpacked doubles', () => {
    const out: number[] = [];
    new ProtobufReader(pb.Writer.create().fork().double(0.5).double(-1e300).ldelim().finish()).repeatedDouble(WireType.LEN, out);
    new ProtobufReader(pb.Writer.create().double(Infinity).finish()).repeatedDouble(WireType.I64, out);
    expect(out).toEqual([0.5, -1e300, Infinity]);
  });

  it('reads packed and unpacked uint64 varints', () => {
    const out: number[] = [];
    new ProtobufReader(pb.Writer.create().fork().uint64(0).uint64(300).uint64('9007199254740991').ldelim().finish()).repeatedUint64Number(
      WireType.LEN,
      out,
    );
    new ProtobufReader(pb.Writer.create().uint64(5).finish()).repeatedUint64Number(WireType.VARINT, out);
    expect(out).toEqual([0, 300, 2 ** 53 - 1, 5]);
  });

  it('rejects packed fixed-width payloads that are not a whole number of values', () => {
    expect(decodeError(() => reader([3, 1, 2, 3]).repeatedFixed64Number(WireType.LEN, [])).message).toMatch(/not a multiple of 8/);
    expect(decodeError(() => reader([9, 0, 0, 0, 0, 0, 0, 0, 0, 0]).repeatedDouble(WireType.LEN, [])).message).toMatch(/not a multiple of 8/);
  });

  it('does not let a packed varint run past its own length', () => {
    // Packed length 1, then a varint whose continuation bit points into the next field.
    expect(decodeError(() => reader([1, 0x80, 0x01]).repeatedUint64Number(WireType.LEN, [])).message).toMatch(/truncated varint at byte 2/);
  });

  it('rejects a wire type the field does not have', () => {
    expect(decodeError(() => reader([0, 0, 0, 0]).repeatedFixed64Number(WireType.I32, [])).message).toMatch(
      /wire type 5 where 2 was expected/,
    );
  });
});

describe('ProtobufReader tags and skipping', () => {
  it('reads tags as field << 3 | wire type, and rejects field number 0', () => {
    expect(reader([0x0a]).tag()).toBe((1 << 3) | WireType.LEN);
    expect(reader([0x80, 0x01]).tag()).toBe(16 << 3);
    expect(decodeError(() => reader([0x02]).tag()).message).toMatch(/invalid field number 0/);
  });

  it('skips every supported wire type exactly as protobufjs does', () => {
    const bytes = pb.Writer.create()
      .uint32((1 << 3) | 0)
      .int64('-5')
      .uint32((2 << 3) | 1)
      .fixed64(9)
      .uint32((3 << 3) | 2)
      .string('skipped')
      .uint32((4 << 3) | 5)
      .fixed32(3)
      .uint32((5 << 3) | 0)
      .uint32(77)
      .finish();
    const ours = new ProtobufReader(bytes);
    const theirs = pb.Reader.create(bytes);
    for (let i = 0; i < 4; i++) {
      const tag = ours.tag();
      expect(tag).toBe(theirs.uint32());
      ours.skip(tag & 7);
      theirs.skipType(tag & 7);
      expect(ours.pos).toBe(theirs.pos);
    }
    ours.tag();
    expect(ours.uint32()).toBe(77);
  });

  it('rejects group wire types and truncated skips', () => {
    expect(decodeError(() => reader([]).skip(WireType.SGROUP)).message).toMatch(/unsupported wire type 3/);
    expect(decodeError(() => reader([]).skip(WireType.EGROUP)).message).toMatch(/unsupported wire type 4/);
    expect(decodeError(() => reader([]).skip(6)).message).toMatch(/unsupported wire type 6/);
    expect(decodeError(() => reader([1, 2]).skip(WireType.I64)).message).toMatch(/truncated fixed64/);
    expect(decodeError(() => reader([1]).skip(WireType.I32)).message).toMatch(/truncated fixed32/);
    expect(decodeError(() => reader([9, 1]).skip(WireType.LEN)).message).toMatch(/runs past the end/);
    expect(decodeError(() => reader([0x80]).skip(WireType.VARINT)).message).toMatch(/truncated varint/);
  });

  it('agrees with protobufjs on 64-bit varints read from its own encodings', () => {
    for (const value of ['0', '-1', '123456789012345678', '-123456789012345678']) {
      const bytes = pb.Writer.create().int64(value).finish();
      expect(new ProtobufReader(bytes).int64()).toBe(pbBigInt(pb.Reader.create(bytes).int64(), true));
    }
  });
});
