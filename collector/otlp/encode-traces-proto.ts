import { KvList, type AnyValue, type InstrumentationScope, type KeyValue, type Resource } from '../model/common.js';
import type { ResourceSpans, Span, TracesData } from '../model/traces.js';
import { WireType } from './protobuf-reader.js';
import { ProtobufWriter } from './protobuf-writer.js';

const { VARINT, I64, LEN, I32 } = WireType;

/**
 * Encodes an OTLP `ExportTraceServiceRequest` (protobuf), the inverse of decodeTracesProto:
 * every field of the model, proto3 defaults (zeros, empty strings) left out as protobuf does.
 */
export function encodeTracesProto(data: TracesData, writer = new ProtobufWriter(64 * 1024)): Buffer {
  for (const rs of data.resourceSpans) writeResourceSpans(writer.tag(1, LEN).fork(), rs).join();
  return writer.finish();
}

function writeResourceSpans(w: ProtobufWriter, rs: ResourceSpans): ProtobufWriter {
  writeResource(w.tag(1, LEN).fork(), rs.resource).join();
  for (const ss of rs.scopeSpans) {
    w.tag(2, LEN).fork();
    writeScope(w.tag(1, LEN).fork(), ss.scope).join();
    for (const span of ss.spans) writeSpan(w.tag(2, LEN).fork(), span).join();
    if (ss.schemaUrl !== '') w.tag(3, LEN).string(ss.schemaUrl);
    w.join();
  }
  if (rs.schemaUrl !== '') w.tag(3, LEN).string(rs.schemaUrl);
  return w;
}

export function writeResource(w: ProtobufWriter, r: Resource): ProtobufWriter {
  writeAttributes(w, 1, r.attributes);
  if (r.droppedAttributesCount > 0) w.tag(2, VARINT).varint(r.droppedAttributesCount);
  return w;
}

export function writeScope(w: ProtobufWriter, s: InstrumentationScope): ProtobufWriter {
  if (s.name !== '') w.tag(1, LEN).string(s.name);
  if (s.version !== '') w.tag(2, LEN).string(s.version);
  writeAttributes(w, 3, s.attributes);
  if (s.droppedAttributesCount > 0) w.tag(4, VARINT).varint(s.droppedAttributesCount);
  return w;
}

function writeSpan(w: ProtobufWriter, s: Span): ProtobufWriter {
  if (s.traceId !== '') w.tag(1, LEN).hexBytes(s.traceId);
  if (s.spanId !== '') w.tag(2, LEN).hexBytes(s.spanId);
  if (s.traceState !== '') w.tag(3, LEN).string(s.traceState);
  if (s.parentSpanId !== '') w.tag(4, LEN).hexBytes(s.parentSpanId);
  if (s.name !== '') w.tag(5, LEN).string(s.name);
  if (s.kind !== 0) w.tag(6, VARINT).int32(s.kind);
  if (s.startTimeUnixNano !== 0n) w.tag(7, I64).fixed64(s.startTimeUnixNano);
  if (s.endTimeUnixNano !== 0n) w.tag(8, I64).fixed64(s.endTimeUnixNano);
  writeAttributes(w, 9, s.attributes);
  if (s.droppedAttributesCount > 0) w.tag(10, VARINT).varint(s.droppedAttributesCount);
  for (const e of s.events) {
    w.tag(11, LEN).fork();
    if (e.timeUnixNano !== 0n) w.tag(1, I64).fixed64(e.timeUnixNano);
    if (e.name !== '') w.tag(2, LEN).string(e.name);
    writeAttributes(w, 3, e.attributes);
    if (e.droppedAttributesCount > 0) w.tag(4, VARINT).varint(e.droppedAttributesCount);
    w.join();
  }
  if (s.droppedEventsCount > 0) w.tag(12, VARINT).varint(s.droppedEventsCount);
  for (const l of s.links) {
    w.tag(13, LEN).fork();
    if (l.traceId !== '') w.tag(1, LEN).hexBytes(l.traceId);
    if (l.spanId !== '') w.tag(2, LEN).hexBytes(l.spanId);
    if (l.traceState !== '') w.tag(3, LEN).string(l.traceState);
    writeAttributes(w, 4, l.attributes);
    if (l.droppedAttributesCount > 0) w.tag(5, VARINT).varint(l.droppedAttributesCount);
    if (l.flags !== 0) w.tag(6, I32).fixed32(l.flags);
    w.join();
  }
  if (s.droppedLinksCount > 0) w.tag(14, VARINT).varint(s.droppedLinksCount);
  if (s.status.code !== 0 || s.status.message !== '') {
    w.tag(15, LEN).fork();
    if (s.status.message !== '') w.tag(2, LEN).string(s.status.message);
    if (s.status.code !== 0) w.tag(3, VARINT).int32(s.status.code);
    w.join();
  }
  if (s.flags !== 0) w.tag(16, I32).fixed32(s.flags);
  return w;
}

export function writeAttributes(w: ProtobufWriter, field: number, attributes: readonly KeyValue[]): void {
  for (const kv of attributes) writeKeyValue(w.tag(field, LEN).fork(), kv).join();
}

function writeKeyValue(w: ProtobufWriter, kv: KeyValue): ProtobufWriter {
  if (kv.key !== '') w.tag(1, LEN).string(kv.key);
  writeAnyValue(w.tag(2, LEN).fork(), kv.value).join();
  return w;
}

function writeAnyValue(w: ProtobufWriter, v: AnyValue): ProtobufWriter {
  if (typeof v === 'string') w.tag(1, LEN).string(v);
  else if (typeof v === 'boolean') w.tag(2, VARINT).varint(v ? 1 : 0);
  else if (typeof v === 'bigint') w.tag(3, VARINT).int64(v);
  else if (typeof v === 'number') w.tag(4, I64).double(v);
  else if (v instanceof Uint8Array) w.tag(7, LEN).bytes(v);
  else if (v instanceof KvList) {
    w.tag(6, LEN).fork();
    for (const kv of v.values) writeKeyValue(w.tag(1, LEN).fork(), kv).join();
    w.join();
  } else if (Array.isArray(v)) {
    w.tag(5, LEN).fork();
    for (const item of v) writeAnyValue(w.tag(1, LEN).fork(), item).join();
    w.join();
  }
  return w;
}
