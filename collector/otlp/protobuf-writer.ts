/**
 * A protobuf wire-format writer into one growable buffer. Nested messages are written with
 * `fork()` / `join(field)`: the payload is written first and its length prefix inserted after,
 * so no message is encoded twice.
 */
export class ProtobufWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly forks: number[] = [];

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** The bytes written so far (a copy: the writer may be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  get length(): number {
    return this.pos;
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  /** An unsigned varint up to 2^53 (use `int64` for negative values). */
  varint(value: number): this {
    this.ensure(10);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = v > 0xffffffff ? Math.floor(v / 128) : v >>> 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** A signed 64-bit varint (two's complement for negatives, ten bytes). */
  int64(value: bigint): this {
    let v = BigInt.asUintN(64, value);
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** A signed 32-bit varint (negatives take ten bytes, as protobuf requires for int32). */
  int32(value: number): this {
    return value >= 0 ? this.varint(value) : this.int64(BigInt(value));
  }

  sint32(value: number): this {
    return this.varint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  fixed32(value: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  fixed64(value: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, value), this.pos);
    this.pos += 8;
    return this;
  }

  /** A count as fixed64; exact to 2^53. */
  fixed64Number(value: number): this {
    this.ensure(8);
    this.buf.writeUInt32LE(value % 4294967296, this.pos);
    this.buf.writeUInt32LE(Math.floor(value / 4294967296), this.pos + 4);
    this.pos += 8;
    return this;
  }

  sfixed64(value: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, value), this.pos);
    this.pos += 8;
    return this;
  }

  double(value: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  string(value: string): this {
    const max = value.length * 3;
    this.ensure(max + 5);
    // Write the payload at a guessed offset, then move it if the length prefix was shorter.
    const start = this.pos;
    const written = this.buf.write(value, start + 5, 'utf8');
    return this.placeLength(start, written);
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** Hex id (trace or span id) written as bytes; empty stays empty. */
  hexBytes(hex: string): this {
    const n = hex.length >>> 1;
    this.varint(n);
    this.ensure(n);
    this.buf.write(hex, this.pos, n, 'hex');
    this.pos += n;
    return this;
  }

  /** Starts a nested message; its length prefix is written by `join()`. */
  fork(): this {
    this.ensure(5);
    this.forks.push(this.pos);
    this.pos += 5;
    return this;
  }

  /** Ends the message started by the matching `fork()`. */
  join(): this {
    const start = this.forks.pop();
    if (start === undefined) throw new Error('ProtobufWriter.join() without fork()');
    return this.placeLength(start, this.pos - start - 5);
  }

  /** Writes `length` as a varint at `start` and moves the payload at `start + 5` up behind it. */
  private placeLength(start: number, length: number): this {
    let size = 1;
    for (let v = length; v > 0x7f; v >>>= 7) size++;
    if (size < 5) this.buf.copy(this.buf, start + size, start + 5, start + 5 + length);
    let v = length;
    let p = start;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos = start + size + length;
    return this;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
