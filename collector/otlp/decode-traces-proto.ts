import type {
  ResourceSpans,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  StatusCode,
  TracesData,
} from '../model/traces.js';
import { rethrowWithin } from './decode-error.js';
import { readKeyValue, readResource, readScope } from './proto-common.js';
import { ProtobufReader, WireType } from './protobuf-reader.js';

/**
 * Decodes an OTLP `ExportTraceServiceRequest` (protobuf). Unknown fields are skipped, as the
 * protobuf rules require, so newer clients keep working; anything malformed throws a
 * DecodeError naming the path to the bad field.
 */
export function decodeTracesProto(body: Uint8Array): TracesData {
  const decoder = new TracesProtoDecoder(body);
  decoder.step(Infinity);
  return decoder.data;
}

/**
 * `decodeTracesProto` in steps, so that a large request need not hold the thread in one go:
 * each `step(bytes)` decodes whole ResourceSpans until it has read at least `bytes` more of the
 * body, and says whether the body is done. Then `data` is what decodeTracesProto returns.
 */
export class TracesProtoDecoder {
  readonly data: TracesData = { resourceSpans: [] };
  private readonly r: ProtobufReader;

  constructor(body: Uint8Array) {
    this.r = new ProtobufReader(body);
  }

  step(bytes: number): boolean {
    const r = this.r;
    const resourceSpans = this.data.resourceSpans;
    const stop = r.pos + bytes;
    while (r.pos < r.limit) {
      if (r.pos >= stop) return false;
      const tag = r.tag();
      if (tag >>> 3 === 1) {
        r.expect(tag & 7, WireType.LEN);
        try {
          resourceSpans.push(readResourceSpans(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `resourceSpans[${resourceSpans.length}]`);
        }
      } else r.skip(tag & 7);
    }
    return true;
  }
}

function readResourceSpans(r: ProtobufReader, end: number): ResourceSpans {
  const rs: ResourceSpans = { resource: { attributes: [], droppedAttributesCount: 0 }, scopeSpans: [], schemaUrl: '' };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        try {
          rs.resource = readResource(r, r.message());
        } catch (e) {
          rethrowWithin(e, 'resource');
        }
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        try {
          rs.scopeSpans.push(readScopeSpans(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `scopeSpans[${rs.scopeSpans.length}]`);
        }
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        rs.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return rs;
}

function readScopeSpans(r: ProtobufReader, end: number): ScopeSpans {
  const ss: ScopeSpans = {
    scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
    spans: [],
    schemaUrl: '',
  };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        try {
          ss.scope = readScope(r, r.message());
        } catch (e) {
          rethrowWithin(e, 'scope');
        }
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        try {
          ss.spans.push(readSpan(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `spans[${ss.spans.length}]`);
        }
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        ss.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return ss;
}

function readSpan(r: ProtobufReader, end: number): Span {
  const span: Span = {
    traceId: '',
    spanId: '',
    traceState: '',
    parentSpanId: '',
    flags: 0,
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        r.expect(wire, WireType.LEN);
        span.traceId = r.id(16, 'traceId');
        break;
      case 2:
        r.expect(wire, WireType.LEN);
        span.spanId = r.id(8, 'spanId');
        break;
      case 3:
        r.expect(wire, WireType.LEN);
        span.traceState = r.string();
        break;
      case 4:
        r.expect(wire, WireType.LEN);
        span.parentSpanId = r.id(8, 'parentSpanId');
        break;
      case 5:
        r.expect(wire, WireType.LEN);
        span.name = r.string();
        break;
      case 6:
        r.expect(wire, WireType.VARINT);
        span.kind = r.int32() as SpanKind;
        break;
      case 7:
        r.expect(wire, WireType.I64);
        span.startTimeUnixNano = r.fixed64();
        break;
      case 8:
        r.expect(wire, WireType.I64);
        span.endTimeUnixNano = r.fixed64();
        break;
      case 9:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), span.attributes, 0);
        break;
      case 10:
        r.expect(wire, WireType.VARINT);
        span.droppedAttributesCount = r.uint32();
        break;
      case 11:
        r.expect(wire, WireType.LEN);
        try {
          span.events.push(readEvent(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `events[${span.events.length}]`);
        }
        break;
      case 12:
        r.expect(wire, WireType.VARINT);
        span.droppedEventsCount = r.uint32();
        break;
      case 13:
        r.expect(wire, WireType.LEN);
        try {
          span.links.push(readLink(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `links[${span.links.length}]`);
        }
        break;
      case 14:
        r.expect(wire, WireType.VARINT);
        span.droppedLinksCount = r.uint32();
        break;
      case 15:
        r.expect(wire, WireType.LEN);
        readStatus(r, r.message(), span);
        break;
      case 16:
        r.expect(wire, WireType.I32);
        span.flags = r.fixed32();
        break;
      default:
        r.skip(wire);
    }
  }
  return span;
}

function readStatus(r: ProtobufReader, end: number, span: Span): void {
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 2:
        r.expect(tag & 7, WireType.LEN);
        span.status.message = r.string();
        break;
      case 3:
        r.expect(tag & 7, WireType.VARINT);
        span.status.code = r.int32() as StatusCode;
        break;
      default:
        r.skip(tag & 7);
    }
  }
}

function readEvent(r: ProtobufReader, end: number): SpanEvent {
  const event: SpanEvent = { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.I64);
        event.timeUnixNano = r.fixed64();
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        event.name = r.string();
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        readKeyValue(r, r.message(), event.attributes, 0);
        break;
      case 4:
        r.expect(tag & 7, WireType.VARINT);
        event.droppedAttributesCount = r.uint32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return event;
}

function readLink(r: ProtobufReader, end: number): SpanLink {
  const link: SpanLink = { traceId: '', spanId: '', traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        link.traceId = r.id(16, 'traceId');
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        link.spanId = r.id(8, 'spanId');
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        link.traceState = r.string();
        break;
      case 4:
        r.expect(tag & 7, WireType.LEN);
        readKeyValue(r, r.message(), link.attributes, 0);
        break;
      case 5:
        r.expect(tag & 7, WireType.VARINT);
        link.droppedAttributesCount = r.uint32();
        break;
      case 6:
        r.expect(tag & 7, WireType.I32);
        link.flags = r.fixed32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return link;
}
