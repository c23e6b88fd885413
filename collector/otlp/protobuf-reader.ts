import { DecodeError } from './decode-error.js';

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const TWO_POW_32 = 4294967296;

/**
 * A bounds-checked reader over protobuf wire data. Every method either returns a value that was
 * fully present in the buffer or throws a DecodeError; it never reads past `limit`.
 */
export class ProtobufReader {
  readonly buf: Buffer;
  pos = 0;
  limit: number;
  private readonly limits: number[] = [];
  private readonly view: DataView;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.limit = data.length;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Reads a field tag; returns `fieldNumber << 3 | wireType`. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new DecodeError(`invalid field number 0 at byte ${this.pos}`);
    return tag;
  }

  /** A varint truncated to its low 32 bits, unsigned (uint32, and enum and int32 via `| 0`). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= this.limit) throw truncated('varint', pos);
      const b = buf[pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift === 28) result |= (b & 0x0f) << 28;
      if (b < 0x80) break;
      shift += 7;
      if (shift >= 70) throw new DecodeError(`varint longer than 10 bytes at byte ${pos}`);
    }
    this.pos = pos;
    return result >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** A varint as an unsigned 64-bit number; exact up to 2^53, which counts never exceed. */
  uint64Number(): number {
    const [lo, hi] = this.varint64();
    return hi * TWO_POW_32 + lo;
  }

  /** A varint as a signed 64-bit integer (OTLP `int64`), exact. */
  int64(): bigint {
    const [lo, hi] = this.varint64();
    if (hi === 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  private varint64(): [lo: number, hi: number] {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (pos >= this.limit) throw truncated('varint', pos);
      if (i === 10) throw new DecodeError(`varint longer than 10 bytes at byte ${pos}`);
      const b = buf[pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) break;
    }
    this.pos = pos;
    return [lo >>> 0, hi >>> 0];
  }

  fixed32(): number {
    this.need(4, 'fixed32');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** fixed64 as an exact unsigned bigint (timestamps). */
  fixed64(): bigint {
    this.need(8, 'fixed64');
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** fixed64 as a number; exact up to 2^53 (counts). */
  fixed64Number(): number {
    this.need(8, 'fixed64');
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  /** sfixed64 as an exact signed bigint (`as_int` values). */
  sfixed64(): bigint {
    this.need(8, 'sfixed64');
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Reads the LEN prefix of a nested message and returns its end, which becomes the reading
   * limit until `more(end)` reaches it: nothing inside the message can read past its end.
   */
  message(): number {
    const end = this.lengthDelimited();
    this.limits.push(this.limit);
    this.limit = end;
    return end;
  }

  /** The loop condition of a nested message: true while bytes remain, then restores the parent's limit. */
  more(end: number): boolean {
    if (this.pos < end) return true;
    this.limit = this.limits.pop()!;
    return false;
  }

  /** Reads a LEN prefix and returns the end offset of the payload that follows. */
  lengthDelimited(): number {
    // The whole varint, not its low 32 bits: a length of 2^32 + 5 is not a length of 5.
    const len = this.uint64Number();
    if (len > this.limit - this.pos) {
      throw new DecodeError(`length ${len} at byte ${this.pos} runs past the end of its message`);
    }
    return this.pos + len;
  }

  string(): string {
    const end = this.lengthDelimited();
    const start = this.pos;
    this.pos = end;
    const len = end - start;
    if (len === 0) return '';
    if (len > CACHED_STRING_MAX) return this.buf.toString('utf8', start, end);
    return cachedString(this.buf, start, len);
  }

  /** A copy of a LEN payload, so that the request buffer can be released. */
  bytes(): Uint8Array {
    const end = this.lengthDelimited();
    const b = Uint8Array.prototype.slice.call(this.buf, this.pos, end);
    this.pos = end;
    return b;
  }

  /**
   * A trace id (16 bytes) or span id (8 bytes) as lowercase hex; empty stays empty. `field` is the
   * field's name, which a wrong length is reported under (`spans[1].traceId: must be 16 bytes`).
   */
  id(size: 8 | 16, field: string): string {
    const end = this.lengthDelimited();
    const len = end - this.pos;
    if (len !== 0 && len !== size) {
      throw new DecodeError(`must be ${size} bytes, got ${len}`).within(field);
    }
    const hex = len === 0 ? '' : this.buf.toString('hex', this.pos, end);
    this.pos = end;
    return hex;
  }

  /** Reads a packed or unpacked repeated fixed64 into `out` as numbers. */
  repeatedFixed64Number(wireType: number, out: number[]): void {
    if (wireType === WireType.I64) {
      out.push(this.fixed64Number());
      return;
    }
    this.expect(wireType, WireType.LEN);
    const end = this.lengthDelimited();
    if ((end - this.pos) % 8 !== 0) throw new DecodeError('packed fixed64 length is not a multiple of 8');
    while (this.pos < end) out.push(this.fixed64Number());
  }

  /** Reads a packed or unpacked repeated double into `out`. */
  repeatedDouble(wireType: number, out: number[]): void {
    if (wireType === WireType.I64) {
      out.push(this.double());
      return;
    }
    this.expect(wireType, WireType.LEN);
    const end = this.lengthDelimited();
    if ((end - this.pos) % 8 !== 0) throw new DecodeError('packed double length is not a multiple of 8');
    while (this.pos < end) out.push(this.double());
  }

  /** Reads a packed or unpacked repeated uint64 varint into `out` as numbers. */
  repeatedUint64Number(wireType: number, out: number[]): void {
    if (wireType === WireType.VARINT) {
      out.push(this.uint64Number());
      return;
    }
    this.expect(wireType, WireType.LEN);
    const end = this.lengthDelimited();
    const saved = this.limit;
    this.limit = end;
    while (this.pos < end) out.push(this.uint64Number());
    this.limit = saved;
  }

  /** Throws unless a known field arrived with the wire type its schema declares. */
  expect(actual: number, expected: number): void {
    if (actual !== expected) {
      throw new DecodeError(`wire type ${actual} where ${expected} was expected, at byte ${this.pos}`);
    }
  }

  /** Skips a field this decoder does not read (forward compatibility with newer OTLP). */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint64();
        return;
      case WireType.I64:
        this.need(8, 'fixed64');
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.lengthDelimited();
        return;
      case WireType.I32:
        this.need(4, 'fixed32');
        this.pos += 4;
        return;
      default:
        throw new DecodeError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.limit) throw truncated(what, this.pos);
  }
}

/**
 * Decoded short strings, shared across requests. The same attribute keys, service names, span
 * names and label values arrive in every batch; decoding each once and handing out the same
 * string saves the UTF-8 decode and the allocation, and later Map lookups find its hash already
 * computed. A slot is found by hashing the bytes and confirmed by comparing them, so a hash
 * collision only costs a miss. Bounded: 4096 strings of at most 64 bytes.
 */
const CACHED_STRING_MAX = 64;
const CACHE_SLOTS = 4096;
const cacheBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHE_SLOTS).fill(undefined);
const cacheStrings: string[] = new Array<string>(CACHE_SLOTS).fill('');

function cachedString(buf: Buffer, start: number, len: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[start + i]!, 0x01000193);
  const slot = (h >>> 0) & (CACHE_SLOTS - 1);
  const cached = cacheBytes[slot];
  if (cached !== undefined && cached.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) {
      if (cached[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheStrings[slot]!;
  }
  const s = buf.toString('utf8', start, start + len);
  cacheBytes[slot] = Uint8Array.prototype.slice.call(buf, start, start + len);
  cacheStrings[slot] = s;
  return s;
}

function truncated(what: string, pos: number): DecodeError {
  return new DecodeError(`truncated ${what} at byte ${pos}`);
}
