import type { InstrumentationScope, Resource } from '../../collector/model/common.js';
import type { ResourceSpans, Span, TracesData } from '../../collector/model/traces.js';

/** One span waiting to be exported, with the resource and scope it was sent under. */
export interface QueuedSpan {
  resource: Resource;
  resourceSchemaUrl: string;
  scope: InstrumentationScope;
  scopeSchemaUrl: string;
  span: Span;
}

/** Every span of a batch, with its resource and scope. */
export function spansOf(data: TracesData): QueuedSpan[] {
  const out: QueuedSpan[] = [];
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) out.push({ resource: rs.resource, resourceSchemaUrl: rs.schemaUrl, scope: ss.scope, scopeSchemaUrl: ss.schemaUrl, span });
    }
  }
  return out;
}

/** Spans back into OTLP shape, spans of the same resource and scope (same objects) together. */
export function tracesOf(spans: readonly QueuedSpan[]): TracesData {
  const resources = new Map<object, { rs: ResourceSpans; scopes: Map<object, Span[]> }>();
  for (const q of spans) {
    let r = resources.get(q.resource);
    if (r === undefined) {
      r = { rs: { resource: q.resource, scopeSpans: [], schemaUrl: q.resourceSchemaUrl }, scopes: new Map() };
      resources.set(q.resource, r);
    }
    let list = r.scopes.get(q.scope);
    if (list === undefined) {
      list = [];
      r.scopes.set(q.scope, list);
      r.rs.scopeSpans.push({ scope: q.scope, spans: list, schemaUrl: q.scopeSchemaUrl });
    }
    list.push(q.span);
  }
  return { resourceSpans: [...resources.values()].map((r) => r.rs) };
}

/**
 * A FIFO of spans bounded by a count: `offer` takes what fits and says how much, so that what
 * did not fit is counted, never silently lost.
 */
export class SpanQueue {
  private items: (QueuedSpan | undefined)[] = [];
  private times: number[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds as many of `spans` as fit, in order, stamped `now`; returns how many. */
  offer(spans: readonly QueuedSpan[], now: number): number {
    const n = Math.min(spans.length, this.capacity - this.size);
    for (let i = 0; i < n; i++) {
      this.items.push(spans[i]);
      this.times.push(now);
    }
    return n;
  }

  /** Removes and returns up to `max` spans, oldest first. */
  take(max: number): QueuedSpan[] {
    const n = Math.min(max, this.size);
    const out = this.items.slice(this.head, this.head + n) as QueuedSpan[];
    this.items.fill(undefined, this.head, this.head + n);
    this.head += n;
    // Compact once the taken prefix dominates, so memory follows the queue's size.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** When the oldest waiting span came in (undefined when empty). */
  oldest(): number | undefined {
    return this.size === 0 ? undefined : this.times[this.head];
  }
}
