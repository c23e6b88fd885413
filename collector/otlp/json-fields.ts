import { KvList, type AnyValue, type InstrumentationScope, type KeyValue, type Resource } from '../model/common.js';
import { DecodeError, rethrowWithin } from './decode-error.js';
import { MAX_VALUE_DEPTH, excerpt } from './proto-common.js';

/**
 * Typed readers over parsed OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
 * Field names are lowerCamelCase; the original snake_case proto names are accepted too, as the
 * proto3 JSON mapping requires of parsers. Ids are hex, enums integers (names accepted), 64-bit
 * integers decimal strings or numbers. Absent fields take their proto3 default.
 */
export type JsonObject = Record<string, unknown>;

/** Parses a JSON request body, turning syntax errors into a DecodeError. */
export function parseJson(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new DecodeError(`invalid JSON: ${(e as Error).message}`);
  }
  return asObject(parsed, 'request body');
}

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecodeError(`${what} must be an object, got ${typeName(value)}`);
  }
  return value as JsonObject;
}

/** The field under its camelCase or snake_case name, or undefined when absent or null. */
export function get(o: JsonObject, camel: string, snake?: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  if (snake === undefined) return undefined;
  const s = o[snake];
  return s === null ? undefined : s;
}

/** Calls `each` for every element of a repeated field, naming the index on errors. */
export function eachOf(o: JsonObject, camel: string, snake: string | undefined, each: (item: JsonObject) => void): void {
  const v = get(o, camel, snake);
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new DecodeError(`must be an array, got ${typeName(v)}`).within(camel);
  for (let i = 0; i < v.length; i++) {
    try {
      each(asObject(v[i], 'element'));
    } catch (e) {
      rethrowWithin(e, `${camel}[${i}]`);
    }
  }
}

export function getString(o: JsonObject, camel: string, snake?: string): string {
  const v = get(o, camel, snake);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new DecodeError(`must be a string, got ${typeName(v)}`).within(camel);
  return v;
}

export function getBool(o: JsonObject, camel: string, snake?: string): boolean {
  const v = get(o, camel, snake);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new DecodeError(`must be a boolean, got ${typeName(v)}`).within(camel);
  return v;
}

/** A uint32 field (counts, flags). */
export function getUint32(o: JsonObject, camel: string, snake?: string): number {
  const v = get(o, camel, snake);
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new DecodeError(`must be an unsigned 32-bit integer, got ${describe(v)}`).within(camel);
  }
  return n;
}

/** A signed 32-bit integer field (scale, offset). */
export function getInt32(o: JsonObject, camel: string, snake?: string): number {
  const v = get(o, camel, snake);
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw new DecodeError(`must be a 32-bit integer, got ${describe(v)}`).within(camel);
  }
  return n;
}

/** A fixed64/uint64 field that must stay exact: timestamps. */
export function getUint64(o: JsonObject, camel: string, snake?: string): bigint {
  const v = get(o, camel, snake);
  if (v === undefined) return 0n;
  const n = toBigInt(v);
  if (n === undefined || n < 0n || n > 0xffffffffffffffffn) {
    throw new DecodeError(`must be an unsigned 64-bit integer, got ${describe(v)}`).within(camel);
  }
  return n;
}

/** A uint64 count as a number; exact to 2^53, which counts never exceed. */
export function getCount(o: JsonObject, camel: string, snake?: string): number {
  return Number(getUint64(o, camel, snake));
}

/** A double field; accepts the proto3 JSON spellings "NaN", "Infinity" and "-Infinity". */
export function getDouble(o: JsonObject, camel: string, snake?: string): number | undefined {
  const v = get(o, camel, snake);
  if (v === undefined) return undefined;
  const n = toDouble(v);
  if (n === undefined) throw new DecodeError(`must be a number, got ${describe(v)}`).within(camel);
  return n;
}

/** Reads an enum given as its number or its name (`SPAN_KIND_SERVER`). */
export function getEnum(o: JsonObject, camel: string, snake: string | undefined, names: readonly string[]): number {
  const v = get(o, camel, snake);
  if (v === undefined) return 0;
  // Enums are int32 on the wire; a larger number is no enum value (and would not re-encode).
  if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
  }
  throw new DecodeError(`must be one of ${names.join(', ')} or its number, got ${describe(v)}`).within(camel);
}

/** A trace id (16 bytes) or span id (8 bytes): hex in OTLP/JSON, returned lowercase. */
export function getId(o: JsonObject, camel: string, snake: string | undefined, size: 8 | 16): string {
  const v = get(o, camel, snake);
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string' || v.length !== size * 2 || !/^[0-9a-fA-F]+$/.test(v)) {
    throw new DecodeError(`must be ${size * 2} hex characters, got ${describe(v)}`).within(camel);
  }
  return v.toLowerCase();
}

export function getNumberList(o: JsonObject, camel: string, snake: string | undefined, read: (v: unknown) => number | undefined): number[] {
  const v = get(o, camel, snake);
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new DecodeError(`must be an array, got ${typeName(v)}`).within(camel);
  return v.map((item, i) => {
    const n = read(item);
    if (n === undefined) throw new DecodeError(`must be a number, got ${describe(item)}`).within(`${camel}[${i}]`);
    return n;
  });
}

export function toBigInt(v: unknown): bigint | undefined {
  // Any integral JSON number, not only safe integers: the proto3 JSON mapping accepts numbers for
  // 64-bit fields, and the official JS exporter writes `intValue` as a number (2^60 included).
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return undefined;
}

export function toDouble(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

export function toCount(v: unknown): number | undefined {
  const n = toBigInt(v);
  return n === undefined || n < 0n ? undefined : Number(n);
}

export function readAttributes(o: JsonObject, camel: string, snake?: string): KeyValue[] {
  const out: KeyValue[] = [];
  eachOf(o, camel, snake, (kv) => out.push(readKeyValue(kv, 0)));
  return out;
}

function readKeyValue(kv: JsonObject, depth: number): KeyValue {
  const key = getString(kv, 'key');
  const raw = get(kv, 'value');
  try {
    return { key, value: raw === undefined ? null : readAnyValue(asObject(raw, 'value'), depth) };
  } catch (e) {
    rethrowWithin(e, `value("${excerpt(key)}")`);
  }
}

function readAnyValue(v: JsonObject, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError(`values nested deeper than ${MAX_VALUE_DEPTH}`);
  if ('stringValue' in v || 'string_value' in v) return getString(v, 'stringValue', 'string_value');
  if ('boolValue' in v || 'bool_value' in v) return getBool(v, 'boolValue', 'bool_value');
  if ('intValue' in v || 'int_value' in v) {
    const raw = get(v, 'intValue', 'int_value');
    const n = toBigInt(raw);
    if (n === undefined || n < -(2n ** 63n) || n >= 2n ** 63n) {
      throw new DecodeError(`must be a 64-bit integer, got ${describe(raw)}`).within('intValue');
    }
    return n;
  }
  if ('doubleValue' in v || 'double_value' in v) return getDouble(v, 'doubleValue', 'double_value') ?? 0;
  if ('bytesValue' in v || 'bytes_value' in v) {
    const b64 = getString(v, 'bytesValue', 'bytes_value');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64)) throw new DecodeError('must be base64').within('bytesValue');
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  const array = get(v, 'arrayValue', 'array_value');
  if (array !== undefined) {
    const values: AnyValue[] = [];
    eachOf(asObject(array, 'arrayValue'), 'values', undefined, (item) => values.push(readAnyValue(item, depth + 1)));
    return values;
  }
  const kvlist = get(v, 'kvlistValue', 'kvlist_value');
  if (kvlist !== undefined) {
    const values: KeyValue[] = [];
    eachOf(asObject(kvlist, 'kvlistValue'), 'values', undefined, (item) => values.push(readKeyValue(item, depth + 1)));
    return new KvList(values);
  }
  return null;
}

export function readResource(o: JsonObject): Resource {
  const raw = get(o, 'resource');
  if (raw === undefined) return { attributes: [], droppedAttributesCount: 0 };
  try {
    const r = asObject(raw, 'resource');
    return {
      attributes: readAttributes(r, 'attributes'),
      droppedAttributesCount: getUint32(r, 'droppedAttributesCount', 'dropped_attributes_count'),
    };
  } catch (e) {
    rethrowWithin(e, 'resource');
  }
}

export function readScope(o: JsonObject): InstrumentationScope {
  const raw = get(o, 'scope');
  if (raw === undefined) return { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  try {
    const s = asObject(raw, 'scope');
    return {
      name: getString(s, 'name'),
      version: getString(s, 'version'),
      attributes: readAttributes(s, 'attributes'),
      droppedAttributesCount: getUint32(s, 'droppedAttributesCount', 'dropped_attributes_count'),
    };
  } catch (e) {
    rethrowWithin(e, 'scope');
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `"${excerpt(v)}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeName(v);
}
