import { bucketIndex } from '../histogram.js';
import type { ObservedEdge } from '../service-graph/service-graph.js';
import type { SpanFacts } from '../span-facts.js';
import type { TrafficStore } from './traffic-store.js';
import { BUCKETS, FAILURES, LATENCY_SUM, REQUESTS, SECURED } from './windowed-counts.js';

/**
 * Span-derived traffic, for workloads and edges that report no proxy metrics: every SERVER or
 * CONSUMER span is one inbound request of its workload (scaled by its sampling weight), added
 * into that workload's current window slot.
 */
export function recordInbound(slot: Float64Array, bounds: readonly number[], facts: SpanFacts): void {
  const w = facts.weight;
  slot[REQUESTS]! += w;
  if (facts.failed) slot[FAILURES]! += w;
  if (facts.tls === true) slot[SECURED]! += w;
  slot[LATENCY_SUM]! += facts.seconds * w;
  slot[BUCKETS + bucketIndex(bounds, facts.seconds)]! += w;
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
