/**
 * The in-memory form of OTLP data shared by every receiver, the aggregation and every exporter.
 *
 * It mirrors the OTLP protobuf messages field for field, so that nothing a client sent is lost on
 * the way to Jaeger or Kafka, with a few representation choices made for the hot path:
 * - trace and span ids are lowercase hex strings (as in OTLP/JSON), empty when absent;
 * - 64-bit timestamps are `bigint` nanoseconds, exact;
 * - attribute values are plain JS values: `string`, `boolean`, `bigint` (OTLP int), `number`
 *   (OTLP double), `Uint8Array` (bytes), `AnyValue[]` (array), `KvList` (key-value list) and
 *   `null` for an empty AnyValue. An int and a double therefore never collapse into one type.
 */

export type AnyValue = string | boolean | bigint | number | Uint8Array | AnyValue[] | KvList | null;

/** An OTLP `KeyValueList` value; a class so that it is told apart from an array at a glance. */
export class KvList {
  constructor(readonly values: KeyValue[]) {}
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/** The value of the first attribute named `key`, or `undefined` when there is none. */
export function attribute(attributes: readonly KeyValue[], key: string): AnyValue | undefined {
  for (let i = 0; i < attributes.length; i++) {
    const kv = attributes[i]!;
    if (kv.key === key) return kv.value;
  }
  return undefined;
}

/** A string-valued attribute, or `undefined` when absent, empty or not a string. */
export function stringAttribute(attributes: readonly KeyValue[], key: string): string | undefined {
  const value = attribute(attributes, key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A numeric attribute, accepting int, double and numeric strings (some instrumentations send
 * status codes as strings), or `undefined` when absent or not a finite number.
 */
export function numberAttribute(attributes: readonly KeyValue[], key: string): number | undefined {
  const value = attribute(attributes, key);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A boolean attribute, accepting `true`/`false` booleans and the strings "true"/"false". */
export function booleanAttribute(attributes: readonly KeyValue[], key: string): boolean | undefined {
  const value = attribute(attributes, key);
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

export const emptyResource = (): Resource => ({ attributes: [], droppedAttributesCount: 0 });

export const emptyScope = (): InstrumentationScope => ({
  name: '',
  version: '',
  attributes: [],
  droppedAttributesCount: 0,
});

/** An unambiguous key for an attribute set, independent of the order the attributes came in. */
export function attributesKey(attributes: readonly KeyValue[]): string {
  if (attributes.length === 0) return '[]';
  const entries = attributes.map((kv) => [kv.key, valueKey(kv.value)] as const);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(entries);
}

function valueKey(v: AnyValue): unknown {
  if (typeof v === 'bigint') return `i${v}`;
  if (v instanceof Uint8Array) return `b${Buffer.from(v).toString('base64')}`;
  if (v instanceof KvList) return v.values.map((kv) => [kv.key, valueKey(kv.value)]);
  if (Array.isArray(v)) return v.map(valueKey);
  return v;
}
