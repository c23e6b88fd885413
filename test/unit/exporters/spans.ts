/**
 * Spans for the exporter tests, built directly in meshtel's model: trace `t`'s span `s`, with
 * the resource and scope objects shared the way the receivers share them, so that `tracesOf`
 * groups them back.
 */
import type { InstrumentationScope, KeyValue, Resource } from '../../../collector/model/common.js';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../../collector/model/traces.js';
import type { QueuedSpan } from '../../../exporters/jaeger/span-queue.js';

export const RESOURCE: Resource = { attributes: [{ key: 'service.name', value: 'checkout' }], droppedAttributesCount: 0 };
export const SCOPE: InstrumentationScope = { name: 'test', version: '1', attributes: [], droppedAttributesCount: 0 };

export interface SpanOptions {
  /** Span duration in milliseconds (default 5). */
  ms?: number;
  error?: boolean;
  attributes?: KeyValue[];
  resource?: Resource;
  /** Default SERVER. */
  kind?: SpanKind;
  /** Default `op-T-S`. */
  name?: string;
}

/** 32 and 16 hex digits from small numbers, so that a test can name its traces and spans. */
export const traceId = (t: number) => t.toString(16).padStart(32, '0');
export const spanId = (t: number, s: number) => (t * 1000 + s).toString(16).padStart(16, '0');

export function span(t: number, s: number, options: SpanOptions = {}): Span {
  const start = 1_700_000_000_000_000_000n;
  return {
    traceId: traceId(t),
    spanId: spanId(t, s),
    traceState: '',
    parentSpanId: s === 0 ? '' : spanId(t, 0),
    flags: 1,
    name: options.name ?? `op-${t}-${s}`,
    kind: options.kind ?? SpanKind.SERVER,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((options.ms ?? 5) * 1e6)),
    attributes: options.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: options.error ? StatusCode.ERROR : StatusCode.UNSET, message: '' },
  };
}

export function queued(t: number, s: number, options: SpanOptions = {}): QueuedSpan {
  return { resource: options.resource ?? RESOURCE, resourceSchemaUrl: '', scope: SCOPE, scopeSchemaUrl: '', span: span(t, s, options) };
}

/** `spans` spans of each trace in `traces`, in order. */
export function trace(t: number, spans: number, options: SpanOptions = {}): QueuedSpan[] {
  return Array.from({ length: spans }, (_, s) => queued(t, s, options));
}

/** One batch as a receiver hands it on: one resource, one scope. */
export function batchOf(spans: readonly QueuedSpan[]): TracesData {
  return { resourceSpans: [{ resource: RESOURCE, schemaUrl: '', scopeSpans: [{ scope: SCOPE, schemaUrl: '', spans: spans.map((q) => q.span) }] }] };
}

/** `trace:span` labels of spans, to compare selections readably. */
export function ids(spans: readonly (QueuedSpan | Span)[]): string[] {
  return spans.map((x) => {
    const s = 'span' in x ? x.span : x;
    const n = parseInt(s.spanId, 16);
    return `${Math.floor(n / 1000)}:${n % 1000}`;
  });
}
