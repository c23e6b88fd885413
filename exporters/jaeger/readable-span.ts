import { SpanKind as ApiSpanKind, createTraceState, type Attributes, type AttributeValue, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import { KvList, type AnyValue, type InstrumentationScope, type KeyValue } from '../../collector/model/common.js';
import { SpanKind, type Span } from '../../collector/model/traces.js';

/** What `JaegerExporter.export()` takes: the `ReadableSpan` of the SDK it was built against (2.x). */
export type JaegerInputSpan = Parameters<JaegerExporter['export']>[0][number];

/**
 * A `ReadableSpan` for JaegerExporter. Its resource is only `{ attributes }`: the SDK's Resource
 * class (async attributes, merge) has nothing to offer a finished span, and JaegerExporter reads
 * `resource.attributes` alone (transform.js).
 */
export type ReadableSpanLike = Omit<JaegerInputSpan, 'resource'> & { readonly resource: { readonly attributes: Attributes } };

/** OTLP `Span.flags` bits 8 and 9: whether the parent's `isRemote` is known, and its value. */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/**
 * One span of our model as the SDK's `ReadableSpan`, field for field as far as the SDK's types
 * reach: ids, parent (with `isRemote` from the OTLP flags), trace flags and state, name, kind
 * (OTLP UNSPECIFIED has no API value and becomes INTERNAL), start, end and duration (HrTime,
 * exact to the nanosecond), status, attributes, events, links (with their trace state and
 * attributes), dropped counts, the scope and the resource attributes given.
 *
 * Attribute values are the API's `AnyValue` (bytes, arrays, maps and empty values included, as
 * API 1.10 has them); only ints beyond 2^53 change, to the nearest double, the API having no
 * BigInt. Keys repeated within one list (invalid OTLP) keep their first value.
 */
export function toReadableSpan(span: Span, scope: InstrumentationScope, resourceAttributes: Attributes): ReadableSpanLike {
  const traceFlags = span.flags & 0xff;
  const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags };
  if (span.traceState !== '') context.traceState = createTraceState(span.traceState);
  let parent: SpanContext | undefined;
  if (span.parentSpanId !== '') {
    parent = { traceId: span.traceId, spanId: span.parentSpanId, traceFlags };
    if ((span.flags & HAS_IS_REMOTE) !== 0) parent.isRemote = (span.flags & IS_REMOTE) !== 0;
  }
  const startTime = hrTime(span.startTimeUnixNano);
  const endTime = hrTime(span.endTimeUnixNano);
  const duration = hrTime(span.endTimeUnixNano - span.startTimeUnixNano);
  return {
    name: span.name,
    kind: apiSpanKind(span.kind),
    spanContext: () => context,
    parentSpanContext: parent,
    startTime,
    endTime,
    duration,
    ended: true,
    status: span.status.message === '' ? { code: span.status.code } : { code: span.status.code, message: span.status.message },
    attributes: toAttributes(span.attributes),
    events: span.events.map((e) => ({ time: hrTime(e.timeUnixNano), name: e.name, attributes: toAttributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
    links: span.links.map((l) => {
      const linked: SpanContext = { traceId: l.traceId, spanId: l.spanId, traceFlags: l.flags & 0xff };
      if (l.traceState !== '') linked.traceState = createTraceState(l.traceState);
      if ((l.flags & HAS_IS_REMOTE) !== 0) linked.isRemote = (l.flags & IS_REMOTE) !== 0;
      return { context: linked, attributes: toAttributes(l.attributes), droppedAttributesCount: l.droppedAttributesCount };
    }),
    resource: { attributes: resourceAttributes },
    instrumentationScope: scope.version === '' ? { name: scope.name } : { name: scope.name, version: scope.version },
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** OTLP `SpanKind` (UNSPECIFIED = 0, INTERNAL = 1, ...) to the API's (INTERNAL = 0, SERVER = 1, ...). */
export function apiSpanKind(kind: number): ApiSpanKind {
  switch (kind) {
    case SpanKind.SERVER:
      return ApiSpanKind.SERVER;
    case SpanKind.CLIENT:
      return ApiSpanKind.CLIENT;
    case SpanKind.PRODUCER:
      return ApiSpanKind.PRODUCER;
    case SpanKind.CONSUMER:
      return ApiSpanKind.CONSUMER;
    default:
      return ApiSpanKind.INTERNAL;
  }
}

/** Nanoseconds since the epoch as an HrTime `[seconds, nanoseconds]`, nanoseconds in [0, 1e9). */
export function hrTime(ns: bigint): HrTime {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return [Number(seconds), Number(ns - seconds * 1_000_000_000n)];
}

/** Attributes as the API's record; the first of repeated keys wins (`__proto__` is a key like any other). */
export function toAttributes(kvs: readonly KeyValue[]): Attributes {
  const out: Attributes = {};
  for (const kv of kvs) if (!Object.hasOwn(out, kv.key)) define(out, kv.key, apiAttributeValue(kv.value));
  return out;
}

/**
 * One OTLP value as the API's `AnyValue` (API 1.10: string, number, boolean, Uint8Array, arrays,
 * plain objects for maps, null). Only ints beyond 2^53 change: the API has no BigInt, and they
 * become the nearest double.
 */
export function apiAttributeValue(value: AnyValue): AttributeValue {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof KvList) {
    const out: Record<string, AttributeValue> = {};
    for (const kv of value.values) if (!Object.hasOwn(out, kv.key)) define(out, kv.key, apiAttributeValue(kv.value));
    return out;
  }
  if (Array.isArray(value)) return value.map(apiAttributeValue);
  return value;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  // Assigning `__proto__` would set the object's prototype instead of adding a key.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
