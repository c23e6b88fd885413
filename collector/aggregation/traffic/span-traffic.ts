import { SpanKind, type ResourceSpans } from '../../model/traces.js';
import { bucketIndex } from '../histogram.js';
import { workloadOf } from '../identity.js';
import type { ObservedEdge } from '../service-graph/service-graph.js';
import { durationSeconds, samplingWeight, spanFailed, spanTls } from '../span-semantics.js';
import type { TrafficStore } from './traffic-store.js';
import { BUCKETS, FAILURES, LATENCY_SUM, REQUESTS, SECURED } from './windowed-counts.js';

/**
 * Span-derived traffic, for workloads and edges that report no proxy metrics: every SERVER or
 * CONSUMER span is one inbound request of its workload (scaled by its sampling weight).
 */
export function recordInboundSpans(store: TrafficStore, resourceSpans: readonly ResourceSpans[], now: number): void {
  const bounds = store.bounds;
  for (const rs of resourceSpans) {
    let slot: Float64Array | undefined | null = null;
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        if (span.kind !== SpanKind.SERVER && span.kind !== SpanKind.CONSUMER) continue;
        if (slot === null) {
          slot = store.workloadSlot('spans', workloadOf(rs.resource.attributes), now, Number(span.startTimeUnixNano) / 1e6);
        }
        if (slot === undefined) break;
        const w = samplingWeight(span);
        const seconds = durationSeconds(span);
        slot[REQUESTS]! += w;
        if (spanFailed(span)) slot[FAILURES]! += w;
        if (spanTls(span) === true) slot[SECURED]! += w;
        slot[LATENCY_SUM]! += seconds * w;
        slot[BUCKETS + bucketIndex(bounds, seconds)]! += w;
      }
    }
  }
}

/** Records one service-graph edge as span-derived edge traffic. */
export function recordEdge(store: TrafficStore, edge: ObservedEdge, now: number): void {
  const slot = store.edgeSlot('spans', edge.client, edge.server, { src: edge.clientVirtual, dst: edge.serverVirtual }, now, edge.startMs);
  if (slot === undefined) return;
  const w = edge.weight;
  slot[REQUESTS]! += w;
  if (edge.failed) slot[FAILURES]! += w;
  if (edge.tls) slot[SECURED]! += w;
  slot[LATENCY_SUM]! += edge.seconds * w;
  slot[BUCKETS + bucketIndex(store.bounds, edge.seconds)]! += w;
}
