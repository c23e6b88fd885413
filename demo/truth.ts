/**
 * Ground truth: what the mesh really did, recorded by every proxy for every request it handled
 * (as each proxy saw it: outcome and latency) and every TCP connection of its workloads that
 * closed (cleanly or with an error), and by the load generator for what it sent. The accuracy
 * tests compare meshtel's numbers with this.
 */

/** One kind of request (or connection) as one proxy saw it. `src` is the calling workload, or `unmeshed`. */
export interface TruthKey {
  direction: 'inbound' | 'outbound';
  src: string;
  dst: string;
  tls: boolean;
}

export interface TruthEntry extends TruthKey {
  requests: number;
  failures: number;
  /** Requests whose span was sampled (kept), as the proxy's sampler decided. */
  sampled: number;
  /** Every latency in milliseconds (capped; counts stay exact beyond the cap). */
  latencies: number[];
  /** Connections that closed cleanly, and with an error (an outbound connect that failed included). */
  closedOk: number;
  closedError: number;
}

export const UNMESHED = 'unmeshed';

/** Latencies kept per key; enough for hours of the demo's default rate. */
const MAX_LATENCIES = 500_000;

/** Counts requests per key, in a proxy. */
export class TruthRecorder {
  private readonly entries = new Map<string, TruthEntry>();

  record(key: TruthKey, failed: boolean, sampled: boolean, latencyMs: number): void {
    const e = this.entry(key);
    e.requests++;
    if (failed) e.failures++;
    if (sampled) e.sampled++;
    if (e.latencies.length < MAX_LATENCIES) e.latencies.push(latencyMs);
  }

  /** A connection that closed, as the proxy of the workload that accepted or opened it saw it. */
  recordClose(key: TruthKey, error: boolean): void {
    const e = this.entry(key);
    if (error) e.closedError++;
    else e.closedOk++;
  }

  private entry(key: TruthKey): TruthEntry {
    const id = `${key.direction}|${key.src}|${key.dst}|${key.tls}`;
    let e = this.entries.get(id);
    if (e === undefined) {
      e = { ...key, requests: 0, failures: 0, sampled: 0, latencies: [], closedOk: 0, closedError: 0 };
      this.entries.set(id, e);
    }
    return e;
  }

  snapshot(): TruthEntry[] {
    return [...this.entries.values()].map((e) => ({ ...e, latencies: [...e.latencies] }));
  }
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** The truth JSON (`meshtel-demo truth`, `GET /truth` on the control server). */
export interface Truth {
  /** When the mesh started sending, ISO 8601. */
  since: string;
  sampling: number;
  proxy_mode: 'sidecar' | 'node';
  /** Inbound requests per workload, as its proxies saw them (meshtel stat's rows). */
  workloads: {
    namespace: string;
    name: string;
    requests: number;
    failures: number;
    /** Requests whose trace was sampled: span-derived counts are this times 1 / sampling. */
    sampled: number;
    /** Requests that arrived over mutual TLS. */
    secured: number;
    latency_ms: Percentiles;
    /** TCP connections from clients that closed, as its proxies saw them. */
    tcp_closed: ClosedConnections;
  }[];
  /** Requests per edge, as the calling proxies saw them (meshtel edges' rows). */
  edges: {
    src: { namespace: string; name: string };
    dst: { namespace: string; name: string };
    requests: number;
    failures: number;
    sampled: number;
    /** Every request on the edge went over mutual TLS. */
    secured: boolean;
    latency_ms: Percentiles;
    /** TCP connections to the destination that closed (or failed to open), as the calling proxies saw them. */
    tcp_closed: ClosedConnections;
  }[];
  /** What the load generator sent to `student` and the answers it got. */
  load: { sent: number; completed: number; by_status: Record<string, number>; errors: number };
}

/** Closed TCP connections by outcome, as meshtel's `*_tcp_closed_connections_total` count them. */
export interface ClosedConnections {
  ok: number;
  error: number;
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: null, p95: null, p99: null };
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.max(0, Math.ceil(q * values.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** Merges the entries of every proxy into per-workload and per-edge truth. */
export function summarize(entries: TruthEntry[], namespace: string): Pick<Truth, 'workloads' | 'edges'> {
  const workloads = new Map<string, { requests: number; failures: number; sampled: number; secured: number; latencies: number[]; closed: ClosedConnections }>();
  const edges = new Map<string, { src: string; dst: string; requests: number; failures: number; sampled: number; plaintext: number; latencies: number[]; closed: ClosedConnections }>();
  const addClosed = (to: ClosedConnections, e: TruthEntry) => {
    to.ok += e.closedOk;
    to.error += e.closedError;
  };
  for (const e of entries) {
    if (e.direction === 'inbound') {
      const w = workloads.get(e.dst) ?? { requests: 0, failures: 0, sampled: 0, secured: 0, latencies: [], closed: { ok: 0, error: 0 } };
      w.requests += e.requests;
      w.failures += e.failures;
      w.sampled += e.sampled;
      if (e.tls) w.secured += e.requests;
      w.latencies.push(...e.latencies);
      addClosed(w.closed, e);
      workloads.set(e.dst, w);
    } else {
      const key = `${e.src}|${e.dst}`;
      const x = edges.get(key) ?? { src: e.src, dst: e.dst, requests: 0, failures: 0, sampled: 0, plaintext: 0, latencies: [], closed: { ok: 0, error: 0 } };
      x.requests += e.requests;
      x.failures += e.failures;
      x.sampled += e.sampled;
      if (!e.tls) x.plaintext += e.requests;
      x.latencies.push(...e.latencies);
      addClosed(x.closed, e);
      edges.set(key, x);
    }
  }
  return {
    workloads: [...workloads.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, w]) => ({
        namespace,
        name,
        requests: w.requests,
        failures: w.failures,
        sampled: w.sampled,
        secured: w.secured,
        latency_ms: percentiles(w.latencies),
        tcp_closed: w.closed,
      })),
    edges: [...edges.values()]
      .sort((a, b) => a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst))
      .map((x) => ({
        src: { namespace, name: x.src },
        dst: { namespace, name: x.dst },
        requests: x.requests,
        failures: x.failures,
        sampled: x.sampled,
        secured: x.plaintext === 0,
        latency_ms: percentiles(x.latencies),
        tcp_closed: x.closed,
      })),
  };
}
