import type { AnyValue, KeyValue, Resource } from '../../collector/model/common.js';
import type { Span } from '../../collector/model/traces.js';
import { int64Buffer, thriftTag, type ThriftTag } from './thrift-tags.js';

/** A `jaeger.thrift` `Log`. */
export interface ThriftLog {
  timestamp: Buffer;
  fields: ThriftTag[];
}

/** A `jaeger.thrift` `Span` as JaegerExporter's transform hands it to the sender. */
export interface ThriftSpan {
  traceIdLow: Buffer;
  traceIdHigh: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  operationName: string;
  references: { refType: string; traceIdLow: Buffer; traceIdHigh: Buffer; spanId: Buffer }[];
  flags: number;
  startTime: Buffer;
  duration: Buffer;
  tags: ThriftTag[];
  logs: ThriftLog[];
}

/** A `jaeger.thrift` `Process`. */
export interface ThriftProcess {
  serviceName: string;
  tags: ThriftTag[];
}

/** The tag of a dropped count, as JaegerExporter and the specification's non-OTLP mapping name them. */
const COUNT_TAGS = new Set(['otel.dropped_attributes_count', 'otel.dropped_events_count', 'otel.dropped_links_count', 'otel.event.dropped_attributes_count']);

/**
 * The Jaeger process of a resource: `service.name` its service name ("unknown_service" when
 * absent or empty, like JaegerExporter and the SDK), every other attribute a typed tag, and
 * the resource's dropped-attributes count as `otel.dropped_attributes_count` when not zero.
 */
export function processOf(resource: Resource): ThriftProcess {
  let serviceName: string | undefined;
  const tags: ThriftTag[] = [];
  for (const [key, value] of firstValues(resource.attributes)) {
    if (key === 'service.name') serviceName = typeof value === 'string' ? value : thriftTag(key, value).vStr;
    else tags.push(thriftTag(key, value));
  }
  if (resource.droppedAttributesCount > 0) tags.push(thriftTag('otel.dropped_attributes_count', BigInt(resource.droppedAttributesCount)));
  return { serviceName: serviceName || 'unknown_service', tags };
}

/**
 * Completes what JaegerExporter's transform made of `span` (in place) with what it loses on the
 * way, from the span itself:
 * - attribute tags typed: ints LONG (the transform makes every number a DOUBLE), bytes BINARY,
 *   arrays and key-value lists JSON (the transform writes `String(value)`: "a,b" or
 *   "[object Object]"); the same for event fields;
 * - start, duration and event times from the nanoseconds, truncated to the microsecond: the
 *   transform goes through floating-point microseconds (a quarter-microsecond apart at today's
 *   epoch, so 875 ns past a microsecond becomes the next one) and rounds start and duration
 *   apart; this way Jaeger's start and end are each the true time truncated;
 * - dropped counts as LONG, `otel.library.version` left out when the scope has no version (the
 *   transform writes "undefined"), the trace state as `w3c.tracestate` (what Jaeger's own OTLP
 *   translator writes), and, as the specification allows, a log `event=link` at the span's start
 *   for each link carrying what a reference cannot: attributes, trace state, dropped attributes;
 * - an event attribute named `event` takes the place of the event's name, as the specification's
 *   Jaeger mapping says (the transform writes both);
 * - every tag written with only its value's field (see ThriftTag).
 */
export function refineThriftSpan(out: ThriftSpan, span: Span, scopeVersion: string): void {
  const startUs = span.startTimeUnixNano / 1000n;
  out.startTime = int64Buffer(startUs);
  out.duration = int64Buffer(span.endTimeUnixNano / 1000n - startUs);
  out.tags = refineTags(out.tags, span.attributes, span, scopeVersion === '');
  out.logs = out.logs.map((log, i) => {
    const event = span.events[i];
    if (event === undefined) return { timestamp: log.timestamp, fields: log.fields.map(minimal) };
    const fields = refineTags(log.fields.slice(1), event.attributes);
    // The transform's first field is the event's name.
    if (!fields.some((f) => f.key === 'event')) fields.unshift({ key: 'event', vType: 'STRING', vStr: event.name });
    return { timestamp: int64Buffer(event.timeUnixNano / 1000n), fields };
  });
  for (const link of span.links) {
    if (link.attributes.length === 0 && link.traceState === '' && link.droppedAttributesCount === 0) continue;
    const fields: ThriftTag[] = [
      { key: 'event', vType: 'STRING', vStr: 'link' },
      { key: 'trace_id', vType: 'STRING', vStr: link.traceId },
      { key: 'span_id', vType: 'STRING', vStr: link.spanId },
    ];
    for (const [key, value] of firstValues(link.attributes)) fields.push(thriftTag(key, value));
    if (link.traceState !== '') fields.push({ key: 'w3c.tracestate', vType: 'STRING', vStr: link.traceState });
    if (link.droppedAttributesCount > 0) fields.push(thriftTag('otel.dropped_attributes_count', BigInt(link.droppedAttributesCount)));
    out.logs.push({ timestamp: out.startTime, fields });
  }
}

/**
 * The transform's tags with the first `attributes`' distinct keys (its own tags come after
 * them) typed from the values themselves; `span` given for the span's own tags, with whether
 * its scope has no version.
 */
function refineTags(tags: ThriftTag[], attributes: readonly KeyValue[], span?: Span, noScopeVersion = false): ThriftTag[] {
  const values = firstValues(attributes);
  const out: ThriftTag[] = [];
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    if (i < values.size) {
      const value = values.get(tag.key);
      if (value === undefined && !values.has(tag.key)) throw new Error(`Thrift tag "${tag.key}" is not an attribute of the span: the transform's layout changed`);
      out.push(thriftTag(tag.key, value ?? null));
    } else if (noScopeVersion && tag.key === 'otel.library.version') {
      continue;
    } else if (COUNT_TAGS.has(tag.key) && tag.vType === 'DOUBLE') {
      out.push(thriftTag(tag.key, BigInt(tag.vDouble ?? 0)));
    } else {
      out.push(minimal(tag));
    }
  }
  if (span !== undefined && span.traceState !== '') out.push({ key: 'w3c.tracestate', vType: 'STRING', vStr: span.traceState });
  return out;
}

/** A tag with only its type's field (jaeger-client fills all five). */
function minimal(tag: ThriftTag): ThriftTag {
  switch (tag.vType) {
    case 'STRING':
      return { key: tag.key, vType: 'STRING', vStr: tag.vStr ?? '' };
    case 'DOUBLE':
      return { key: tag.key, vType: 'DOUBLE', vDouble: tag.vDouble ?? 0 };
    case 'BOOL':
      return { key: tag.key, vType: 'BOOL', vBool: tag.vBool ?? false };
    case 'LONG':
      return { key: tag.key, vType: 'LONG', vLong: tag.vLong ?? int64Buffer(0n) };
    case 'BINARY':
      return { key: tag.key, vType: 'BINARY', vBinary: tag.vBinary ?? Buffer.alloc(0) };
  }
}

/** Attributes by key, in order, the first value of a repeated key kept (as toAttributes does). */
function firstValues(kvs: readonly KeyValue[]): Map<string, AnyValue> {
  const m = new Map<string, AnyValue>();
  for (const kv of kvs) if (!m.has(kv.key)) m.set(kv.key, kv.value);
  return m;
}
