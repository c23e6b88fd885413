import type { TrafficStore, WindowStats } from '../aggregation/traffic/traffic-store.js';

/**
 * The JSON of `/api/v1/stat` and `/api/v1/edges` (contract: DESIGN.md). `source` tells whether
 * the numbers came from the proxies' counters (`proxy`, every request) or from spans (`spans`,
 * scaled by sampling); `success_rate` and latencies are null when there was no traffic.
 */
export interface StatResponse {
  window: string;
  workloads: WorkloadStat[];
}

export interface WorkloadStat {
  namespace: string;
  name: string;
  meshed: boolean;
  source: 'proxy' | 'spans' | null;
  requests: number;
  success_rate: number | null;
  rps: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  tcp_connections: number | null;
}

export interface EdgesResponse {
  window: string;
  edges: EdgeStat[];
}

export interface Node {
  namespace: string;
  name: string;
  virtual?: true;
}

export interface EdgeStat {
  src: Node;
  dst: Node;
  secured: boolean;
  source: 'proxy' | 'spans';
  requests: number;
  failures: number;
  rps: number;
  success_rate: number | null;
}

export function statView(store: TrafficStore, window: string, windowMs: number, now: number, staleMs: number, namespace?: string): StatResponse {
  const workloads = store
    .workloadViews(windowMs, now, staleMs)
    .filter((v) => namespace === undefined || v.workload.namespace === namespace)
    .map(
      (v): WorkloadStat => ({
        namespace: v.workload.namespace,
        name: v.workload.name,
        meshed: v.meshed,
        source: v.stats.source ?? null,
        requests: round(v.stats.requests, 3),
        success_rate: successRate(v.stats),
        rps: rps(v.stats),
        latency_ms: {
          p50: ms(v.stats.latency.p50),
          p95: ms(v.stats.latency.p95),
          p99: ms(v.stats.latency.p99),
        },
        tcp_connections: v.tcpConnections,
      }),
    )
    .sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  return { window, workloads };
}

export function edgesView(store: TrafficStore, window: string, windowMs: number, now: number, namespace?: string): EdgesResponse {
  const edges = store
    .edgeViews(windowMs, now)
    .filter((v) => namespace === undefined || v.src.namespace === namespace || v.dst.namespace === namespace)
    .map((v): EdgeStat => {
      const src: Node = { namespace: v.src.namespace, name: v.src.name };
      if (v.srcVirtual) src.virtual = true;
      const dst: Node = { namespace: v.dst.namespace, name: v.dst.name };
      if (v.dstVirtual || !store.hasWorkload(v.dst)) dst.virtual = true;
      return {
        src,
        dst,
        secured: v.stats.requests > 0 && v.stats.secured >= v.stats.requests,
        source: v.stats.source!,
        requests: round(v.stats.requests, 3),
        failures: round(v.stats.failures, 3),
        rps: rps(v.stats),
        success_rate: successRate(v.stats),
      };
    })
    .sort(
      (a, b) =>
        compare(a.src.namespace, b.src.namespace) ||
        compare(a.src.name, b.src.name) ||
        compare(a.dst.namespace, b.dst.namespace) ||
        compare(a.dst.name, b.dst.name),
    );
  return { window, edges };
}

function successRate(s: WindowStats): number | null {
  return s.requests > 0 ? round(1 - s.failures / s.requests, 6) : null;
}

function rps(s: WindowStats): number {
  return s.seconds > 0 ? round(s.requests / s.seconds, 3) : 0;
}

function ms(seconds: number | null): number | null {
  return seconds === null ? null : round(seconds * 1000, 3);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
