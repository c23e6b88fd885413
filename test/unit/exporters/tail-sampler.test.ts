import { describe, expect, it } from 'vitest';
import type { Span } from '../../../collector/model/traces.js';
import type { QueuedSpan } from '../../../exporters/jaeger/span-queue.js';
import { TailSampler, type TailSamplingOptions } from '../../../exporters/jaeger/tail-sampler.js';

const resource = { attributes: [], droppedAttributesCount: 0 };
const scope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };

function span(trace: number, id: number, opts: { ms?: number; error?: boolean } = {}): QueuedSpan {
  const s: Span = {
    traceId: trace.toString(16).padStart(32, '0'),
    spanId: id.toString(16).padStart(16, '0'),
    traceState: '',
    parentSpanId: '',
    flags: 0,
    name: 'op',
    kind: 2,
    startTimeUnixNano: 0n,
    endTimeUnixNano: BigInt(Math.round((opts.ms ?? 1) * 1e6)),
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: opts.error ? 2 : 0, message: '' },
  };
  return { resource, resourceSchemaUrl: '', scope, scopeSchemaUrl: '', span: s };
}

function sampler(options: Partial<TailSamplingOptions> = {}) {
  const kept: QueuedSpan[] = [];
  let dropped = 0;
  const t = new TailSampler(
    { decisionWaitMs: 1000, maxTraces: 100, slowThresholdMs: 500, others: undefined, ...options },
    0,
    (k, d) => {
      kept.push(...k);
      dropped += d;
    },
  );
  return { t, kept, dropped: () => dropped, keptTraces: () => [...new Set(kept.map((q) => parseInt(q.span.traceId, 16)))].sort((a, b) => a - b) };
}

describe('TailSampler', () => {
  it('waits decision_wait after a trace’s first span, then decides the whole trace', () => {
    const s = sampler();
    s.t.offer([span(1, 1, { error: true })], 0);
    s.t.offer([span(1, 2)], 600);
    s.t.tick(999);
    expect(s.kept).toHaveLength(0);
    expect(s.t.waiting).toBe(2);
    s.t.tick(1000);
    expect(s.kept.map((q) => q.span.spanId.slice(-1))).toEqual(['1', '2']);
    expect(s.t.waiting).toBe(0);
  });

  it('keeps every trace with an error or a slow span, drops the others without an `others` rate', () => {
    const s = sampler();
    s.t.offer([span(1, 1, { error: true }), span(2, 2, { ms: 700 }), span(3, 3), span(3, 4)], 0);
    s.t.tick(1000);
    expect(s.keptTraces()).toEqual([1, 2]);
    expect(s.dropped()).toBe(2);
  });

  it('keeps a rate-limited share of the other traces, whole traces at a time', () => {
    const s = sampler({ others: { rate: 3, burst: 3 } });
    s.t.offer([span(1, 1), span(1, 2), span(2, 3), span(2, 4), span(3, 5)], 0);
    s.t.tick(1000);
    // Trace 1 (2 spans) fits the 3 tokens; trace 2 (2 spans) does not; trace 3 (1 span) does.
    expect(s.keptTraces()).toEqual([1, 3]);
    expect(s.dropped()).toBe(2);
  });

  it('sends late spans after their trace’s decision', () => {
    const s = sampler();
    s.t.offer([span(1, 1, { error: true }), span(2, 2)], 0);
    s.t.tick(1000);
    s.t.offer([span(1, 9), span(2, 8)], 2000);
    expect(s.kept.map((q) => q.span.spanId.slice(-1))).toEqual(['1', '9']);
    expect(s.dropped()).toBe(2);
  });

  it('decides the oldest traces early beyond max_traces, and everything on demand', () => {
    const s = sampler({ maxTraces: 2 });
    s.t.offer([span(1, 1, { error: true }), span(2, 2, { error: true }), span(3, 3, { error: true })], 0);
    expect(s.keptTraces()).toEqual([1]);
    s.t.tick(10, true);
    expect(s.keptTraces()).toEqual([1, 2, 3]);
    expect(s.t.waiting).toBe(0);
  });
});
