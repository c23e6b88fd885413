import { KvList, type AnyValue, type InstrumentationScope, type KeyValue, type Resource } from '../model/common.js';
import { DecodeError, rethrowWithin } from './decode-error.js';
import { WireType, type ProtobufReader } from './protobuf-reader.js';

/**
 * Array and key-value-list values may nest; a hostile payload nesting them thousands deep would
 * otherwise exhaust the stack. No real instrumentation nests anywhere near this.
 */
export const MAX_VALUE_DEPTH = 32;

/** Decodes one `KeyValue` message ending at `end` and appends it to `out`. */
export function readKeyValue(r: ProtobufReader, end: number, out: KeyValue[], depth: number): void {
  let key = '';
  let value: AnyValue = null;
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        key = r.string();
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        try {
          value = readAnyValue(r, r.message(), depth);
        } catch (e) {
          rethrowWithin(e, key === '' ? 'value' : `attributes["${excerpt(key)}"]`);
        }
        break;
      default:
        r.skip(tag & 7);
    }
  }
  out.push({ key, value });
}

function readAnyValue(r: ProtobufReader, end: number, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new DecodeError(`values nested deeper than ${MAX_VALUE_DEPTH}`);
  let value: AnyValue = null;
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        r.expect(wire, WireType.LEN);
        value = r.string();
        break;
      case 2:
        r.expect(wire, WireType.VARINT);
        value = r.bool();
        break;
      case 3:
        r.expect(wire, WireType.VARINT);
        value = r.int64();
        break;
      case 4:
        r.expect(wire, WireType.I64);
        value = r.double();
        break;
      case 5: {
        r.expect(wire, WireType.LEN);
        value = readArrayValue(r, r.message(), depth + 1);
        break;
      }
      case 6: {
        r.expect(wire, WireType.LEN);
        const listEnd = r.message();
        const kvs: KeyValue[] = [];
        while (r.more(listEnd)) {
          const t = r.tag();
          if (t >>> 3 === 1) {
            r.expect(t & 7, WireType.LEN);
            readKeyValue(r, r.message(), kvs, depth + 1);
          } else r.skip(t & 7);
        }
        value = new KvList(kvs);
        break;
      }
      case 7:
        r.expect(wire, WireType.LEN);
        value = r.bytes();
        break;
      default:
        r.skip(wire);
    }
  }
  return value;
}

function readArrayValue(r: ProtobufReader, end: number, depth: number): AnyValue[] {
  const values: AnyValue[] = [];
  while (r.more(end)) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      r.expect(tag & 7, WireType.LEN);
      values.push(readAnyValue(r, r.message(), depth));
    } else r.skip(tag & 7);
  }
  return values;
}

export function readResource(r: ProtobufReader, end: number): Resource {
  const resource: Resource = { attributes: [], droppedAttributesCount: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        readKeyValue(r, r.message(), resource.attributes, 0);
        break;
      case 2:
        r.expect(tag & 7, WireType.VARINT);
        resource.droppedAttributesCount = r.uint32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return resource;
}

export function readScope(r: ProtobufReader, end: number): InstrumentationScope {
  const scope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        scope.name = r.string();
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        scope.version = r.string();
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        readKeyValue(r, r.message(), scope.attributes, 0);
        break;
      case 4:
        r.expect(tag & 7, WireType.VARINT);
        scope.droppedAttributesCount = r.uint32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return scope;
}

/** At most 64 characters of untrusted text, for error messages. */
export function excerpt(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}
