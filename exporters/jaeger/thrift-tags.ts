import { KvList, type AnyValue } from '../../collector/model/common.js';

/** `jaeger.thrift` `TagType`, by name (thriftrw takes enum values by name). */
export type ThriftTagType = 'STRING' | 'DOUBLE' | 'BOOL' | 'LONG' | 'BINARY';

/**
 * A `jaeger.thrift` `Tag` as thriftrw writes it: the field of `vType` set, the others absent
 * (jaeger-client writes all five with zero values; absent ones save 15-20 bytes per tag, which
 * counts in a 65,000-byte UDP packet).
 */
export interface ThriftTag {
  key: string;
  vType: ThriftTagType;
  vStr?: string;
  vDouble?: number;
  vBool?: boolean;
  /** Big-endian two's complement, 8 bytes. */
  vLong?: Buffer;
  vBinary?: Buffer;
}

/** An i64 as thriftrw takes it by default: 8 bytes, big-endian two's complement. */
export function int64Buffer(value: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt.asIntN(64, value));
  return b;
}

/**
 * An OTLP attribute value as the Jaeger tag that keeps the most of it: string, bool, int (LONG,
 * exact over the whole int64 range), double (DOUBLE, NaN and infinities included) and bytes
 * (BINARY) have a Thrift type of their own; arrays and key-value lists do not, and become a
 * STRING holding JSON, as the OpenTelemetry specification asks of non-OTLP protocols
 * (common/README.md, "AnyValue representation for non-OTLP protocols"); an empty value is "".
 */
export function thriftTag(key: string, value: AnyValue): ThriftTag {
  switch (typeof value) {
    case 'string':
      return { key, vType: 'STRING', vStr: value };
    case 'boolean':
      return { key, vType: 'BOOL', vBool: value };
    case 'bigint':
      return { key, vType: 'LONG', vLong: int64Buffer(value) };
    case 'number':
      return { key, vType: 'DOUBLE', vDouble: value };
  }
  if (value instanceof Uint8Array) return { key, vType: 'BINARY', vBinary: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  if (value === null) return { key, vType: 'STRING', vStr: '' };
  return { key, vType: 'STRING', vStr: anyValueJson(value) };
}

/**
 * The JSON text of an array or key-value list, by the specification's rules for non-OTLP
 * protocols: ints as exact JSON numbers (beyond 2^53 too), doubles as JSON numbers with NaN and
 * the infinities as the strings "NaN", "Infinity", "-Infinity", bytes as base64 strings, empty
 * values as null, key-value lists as objects (a repeated key: the first one wins).
 */
export function anyValueJson(value: AnyValue): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (Number.isNaN(value)) return '"NaN"';
      if (value === Infinity) return '"Infinity"';
      if (value === -Infinity) return '"-Infinity"';
      return JSON.stringify(value);
  }
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'));
  if (value instanceof KvList) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const kv of value.values) {
      if (seen.has(kv.key)) continue;
      seen.add(kv.key);
      parts.push(`${JSON.stringify(kv.key)}:${anyValueJson(kv.value)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return `[${value.map(anyValueJson).join(',')}]`;
}
