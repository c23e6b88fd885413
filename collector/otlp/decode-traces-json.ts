import type { ResourceSpans, ScopeSpans, Span, SpanKind, StatusCode, TracesData } from '../model/traces.js';
import { rethrowWithin } from './decode-error.js';
import {
  eachOf,
  get,
  asObject,
  getEnum,
  getId,
  getString,
  getUint32,
  getUint64,
  parseJson,
  readAttributes,
  readResource,
  readScope,
  type JsonObject,
} from './json-fields.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

/** Decodes an OTLP/JSON `ExportTraceServiceRequest`; malformed input throws a DecodeError. */
export function decodeTracesJson(body: Buffer): TracesData {
  const request = parseJson(body);
  const resourceSpans: ResourceSpans[] = [];
  eachOf(request, 'resourceSpans', 'resource_spans', (rs) => resourceSpans.push(readResourceSpans(rs)));
  return { resourceSpans };
}

function readResourceSpans(o: JsonObject): ResourceSpans {
  const scopeSpans: ScopeSpans[] = [];
  eachOf(o, 'scopeSpans', 'scope_spans', (ss) => scopeSpans.push(readScopeSpans(ss)));
  return { resource: readResource(o), scopeSpans, schemaUrl: getString(o, 'schemaUrl', 'schema_url') };
}

function readScopeSpans(o: JsonObject): ScopeSpans {
  const spans: Span[] = [];
  eachOf(o, 'spans', undefined, (s) => spans.push(readSpan(s)));
  return { scope: readScope(o), spans, schemaUrl: getString(o, 'schemaUrl', 'schema_url') };
}

function readSpan(o: JsonObject): Span {
  const span: Span = {
    traceId: getId(o, 'traceId', 'trace_id', 16),
    spanId: getId(o, 'spanId', 'span_id', 8),
    traceState: getString(o, 'traceState', 'trace_state'),
    parentSpanId: getId(o, 'parentSpanId', 'parent_span_id', 8),
    flags: getUint32(o, 'flags'),
    name: getString(o, 'name'),
    kind: getEnum(o, 'kind', undefined, SPAN_KINDS) as SpanKind,
    startTimeUnixNano: getUint64(o, 'startTimeUnixNano', 'start_time_unix_nano'),
    endTimeUnixNano: getUint64(o, 'endTimeUnixNano', 'end_time_unix_nano'),
    attributes: readAttributes(o, 'attributes'),
    droppedAttributesCount: getUint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
    events: [],
    droppedEventsCount: getUint32(o, 'droppedEventsCount', 'dropped_events_count'),
    links: [],
    droppedLinksCount: getUint32(o, 'droppedLinksCount', 'dropped_links_count'),
    status: { code: 0, message: '' },
  };
  eachOf(o, 'events', undefined, (e) =>
    span.events.push({
      timeUnixNano: getUint64(e, 'timeUnixNano', 'time_unix_nano'),
      name: getString(e, 'name'),
      attributes: readAttributes(e, 'attributes'),
      droppedAttributesCount: getUint32(e, 'droppedAttributesCount', 'dropped_attributes_count'),
    }),
  );
  eachOf(o, 'links', undefined, (l) =>
    span.links.push({
      traceId: getId(l, 'traceId', 'trace_id', 16),
      spanId: getId(l, 'spanId', 'span_id', 8),
      traceState: getString(l, 'traceState', 'trace_state'),
      attributes: readAttributes(l, 'attributes'),
      droppedAttributesCount: getUint32(l, 'droppedAttributesCount', 'dropped_attributes_count'),
      flags: getUint32(l, 'flags'),
    }),
  );
  const status = get(o, 'status');
  if (status !== undefined) {
    try {
      const s = asObject(status, 'status');
      span.status = { code: getEnum(s, 'code', undefined, STATUS_CODES) as StatusCode, message: getString(s, 'message') };
    } catch (e) {
      rethrowWithin(e, 'status');
    }
  }
  return span;
}
