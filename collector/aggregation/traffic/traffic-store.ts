import { quantile } from '../histogram.js';
import type { Workload } from '../identity.js';
import { BUCKETS, FAILURES, REQUESTS, SECURED, WindowedCounts } from './windowed-counts.js';

/**
 * Where numbers about a workload or edge came from. `proxy` numbers come from the proxies' own
 * request counters (every request); `spans` numbers from spans (scaled by sampling). A view
 * prefers `proxy` whenever there is any in the window.
 */
export type TrafficSource = 'proxy' | 'spans';

export interface TrafficStoreOptions {
  slotMs: number;
  maxWindowMs: number;
  /** Latency bucket bounds in seconds, shared by every window. */
  bounds: readonly number[];
  /** Most workloads and most edges tracked; beyond it new ones are counted and not tracked. */
  maxEntities: number;
  /** When the collector started: no rate is computed over time before it. */
  startedAt: number;
}

/** Golden signals of one workload or edge over a window. */
export interface WindowStats {
  source: TrafficSource | undefined;
  requests: number;
  failures: number;
  secured: number;
  /** Seconds the window actually covers (shorter than asked while the collector is young). */
  seconds: number;
  latency: { p50: number | null; p95: number | null; p99: number | null };
}

interface Entity {
  proxy: WindowedCounts | undefined;
  spans: WindowedCounts | undefined;
  since: number;
}

interface WorkloadEntity extends Entity {
  workload: Workload;
  /** Last open-connection count per reporting proxy stream, with when it was reported. */
  tcp: Map<string, { value: number; at: number }>;
}

interface EdgeEntity extends Entity {
  src: Workload;
  dst: Workload;
  srcVirtual: boolean;
  dstVirtual: boolean;
}

export interface WorkloadView {
  workload: Workload;
  meshed: boolean;
  stats: WindowStats;
  tcpConnections: number | null;
}

export interface EdgeView {
  src: Workload;
  dst: Workload;
  srcVirtual: boolean;
  dstVirtual: boolean;
  stats: WindowStats;
}

/**
 * Windowed golden signals per workload (inbound requests) and per edge (requests from one
 * workload to another), for the query API and the CLI. Bounded: at most `maxEntities` of each,
 * and entities idle for longer than the largest window are forgotten by `sweep()`.
 */
export class TrafficStore {
  private readonly workloads = new Map<string, WorkloadEntity>();
  private readonly edges = new Map<string, EdgeEntity>();
  private readonly slots: number;
  private readonly scratch: Float64Array;
  /** Observations not tracked because the store was full. */
  refused = 0;

  constructor(private readonly options: TrafficStoreOptions) {
    // The largest window's whole slots, the current partial one, and one being reused.
    this.slots = Math.ceil(options.maxWindowMs / options.slotMs) + 2;
    this.scratch = new Float64Array(BUCKETS + options.bounds.length + 1);
  }

  get bounds(): readonly number[] {
    return this.options.bounds;
  }

  get maxWindowMs(): number {
    return this.options.maxWindowMs;
  }

  /** The slot to add a workload's inbound traffic into, or undefined when the store is full. */
  workloadSlot(source: TrafficSource, workload: Workload, now: number, since: number): Float64Array | undefined {
    const e = this.workload(workload, now, since);
    return e && this.counts(e, source).slot(now);
  }

  /** The slot to add an edge's traffic into, or undefined when the store is full. */
  edgeSlot(
    source: TrafficSource,
    src: Workload,
    dst: Workload,
    virtual: { src: boolean; dst: boolean },
    now: number,
    since: number,
  ): Float64Array | undefined {
    const key = `${src.namespace}\u0000${src.name}\u0000${dst.namespace}\u0000${dst.name}`;
    let e = this.edges.get(key);
    if (e === undefined) {
      if (this.edges.size >= this.options.maxEntities) {
        this.refused++;
        return undefined;
      }
      e = { src, dst, srcVirtual: virtual.src, dstVirtual: virtual.dst, proxy: undefined, spans: undefined, since: this.clampSince(since, now) };
      this.edges.set(key, e);
    } else if (since < e.since) e.since = this.clampSince(since, now);
    return this.counts(e, source).slot(now);
  }

  /** Records the open TCP connections one proxy stream reports for a workload. */
  setTcpConnections(workload: Workload, stream: string, value: number, now: number): void {
    const e = this.workload(workload, now, now);
    e?.tcp.set(stream, { value, at: now });
  }

  /** Every workload with traffic or connections in the window, proxy numbers preferred. */
  workloadViews(windowMs: number, now: number, staleMs: number): WorkloadView[] {
    const views: WorkloadView[] = [];
    for (const e of this.workloads.values()) {
      const stats = this.stats(e, windowMs, now);
      let tcp: number | null = null;
      for (const [stream, t] of e.tcp) {
        if (now - t.at > staleMs) e.tcp.delete(stream);
        else tcp = (tcp ?? 0) + t.value;
      }
      if (stats.source === undefined && tcp === null) continue;
      views.push({ workload: e.workload, meshed: stats.source === 'proxy' || tcp !== null, stats, tcpConnections: tcp });
    }
    return views;
  }

  /** Every edge with traffic in the window, proxy numbers preferred. */
  edgeViews(windowMs: number, now: number): EdgeView[] {
    const views: EdgeView[] = [];
    for (const e of this.edges.values()) {
      const stats = this.stats(e, windowMs, now);
      if (stats.source === undefined) continue;
      views.push({ src: e.src, dst: e.dst, srcVirtual: e.srcVirtual, dstVirtual: e.dstVirtual, stats });
    }
    return views;
  }

  /** Whether a workload has sent telemetry of its own recently (decides virtual nodes). */
  hasWorkload(workload: Workload): boolean {
    return this.workloads.has(`${workload.namespace}\u0000${workload.name}`);
  }

  /** Forgets workloads and edges with no traffic in the largest window. */
  sweep(now: number): void {
    const cutoff = now - this.options.maxWindowMs - this.options.slotMs;
    for (const [key, e] of this.workloads) {
      if (lastActive(e) < cutoff && e.tcp.size === 0) this.workloads.delete(key);
    }
    for (const [key, e] of this.edges) if (lastActive(e) < cutoff) this.edges.delete(key);
  }

  get size(): { workloads: number; edges: number } {
    return { workloads: this.workloads.size, edges: this.edges.size };
  }

  private workload(workload: Workload, now: number, since: number): WorkloadEntity | undefined {
    const key = `${workload.namespace}\u0000${workload.name}`;
    let e = this.workloads.get(key);
    if (e === undefined) {
      if (this.workloads.size >= this.options.maxEntities) {
        this.refused++;
        return undefined;
      }
      e = { workload, proxy: undefined, spans: undefined, since: this.clampSince(since, now), tcp: new Map() };
      this.workloads.set(key, e);
    } else if (since < e.since) e.since = this.clampSince(since, now);
    return e;
  }

  private counts(e: Entity, source: TrafficSource): WindowedCounts {
    const o = this.options;
    if (source === 'proxy') return (e.proxy ??= new WindowedCounts(o.slotMs, this.slots, o.bounds.length + 1));
    return (e.spans ??= new WindowedCounts(o.slotMs, this.slots, o.bounds.length + 1));
  }

  private clampSince(since: number, now: number): number {
    return Math.min(now, Math.max(since, this.options.startedAt, now - this.options.maxWindowMs));
  }

  private stats(e: Entity, windowMs: number, now: number): WindowStats {
    for (const source of ['proxy', 'spans'] as const) {
      const counts = e[source];
      if (counts === undefined) continue;
      const sums = this.scratch.fill(0);
      const covered = counts.sum(now, windowMs, e.since, sums);
      if (sums[REQUESTS]! <= 0) continue;
      const buckets = sums.subarray(BUCKETS);
      const bounds = this.options.bounds;
      return {
        source,
        requests: sums[REQUESTS]!,
        failures: sums[FAILURES]!,
        secured: sums[SECURED]!,
        seconds: Math.max(covered, 1000) / 1000,
        latency: { p50: quantile(0.5, bounds, buckets), p95: quantile(0.95, bounds, buckets), p99: quantile(0.99, bounds, buckets) },
      };
    }
    return { source: undefined, requests: 0, failures: 0, secured: 0, seconds: 0, latency: { p50: null, p95: null, p99: null } };
  }
}

function lastActive(e: Entity): number {
  return Math.max(e.proxy?.lastActive() ?? -Infinity, e.spans?.lastActive() ?? -Infinity);
}

