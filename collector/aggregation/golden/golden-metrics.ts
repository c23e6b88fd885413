import { attributesKey, type KeyValue } from '../../model/common.js';
import type { HistogramData, Labels, MetricFamily } from '../../model/families.js';
import { Temporality, type Exemplar, type ExponentialHistogramPoint, type HistogramPoint, type NumberPoint, type ResourceMetrics } from '../../model/metrics.js';
import { keepExemplar, type ExemplarSlots } from '../exemplars.js';
import { bucketIndex, Rebucketer } from '../histogram.js';
import { workloadOf, type Workload } from '../identity.js';
import { SeriesTable, seriesFor, type Series } from '../series-table.js';
import type { TrafficStore } from '../traffic/traffic-store.js';
import { BUCKETS, FAILURES, LATENCY_SUM, REQUESTS, SECURED } from '../traffic/windowed-counts.js';
import type { GoldenConfig } from './config.js';
import { DeltaTracker, type ExponentialState } from './cumulative.js';
import { liveMin, liveSum, type Gauges } from './gauges.js';
import { closeFailed, destinationOf, directionOf, pointFailed, pointSecured, recognise, sourceOverride, tcpPeerMatches, type Input } from './inputs.js';

type Direction = 'inbound' | 'outbound';
type Point = NumberPoint | HistogramPoint | ExponentialHistogramPoint;

/** Where one point's numbers go: a workload's inbound traffic or an edge's. */
interface Target {
  direction: Direction;
  src: Workload;
  dst: Workload | undefined;
}

interface Histogram extends Series, ExemplarSlots {
  counts: Float64Array;
  sum: number;
  count: number;
}

interface Count extends Series {
  value: number;
}

const WORKLOAD_LABELS = ['namespace', 'workload'];
const EDGE_LABELS = ['src_namespace', 'src_workload', 'dst_namespace', 'dst_workload'];
/** A trace or span id an exemplar can link with: present and not all zeros. */
const LINKABLE_ID = /^(?!0+$)[0-9a-f]+$/;
const POINT_OUTCOMES = ['used', 'baseline', 'unrecognized', 'no_direction', 'no_destination', 'no_value', 'other_peer'] as const;
type PointOutcome = (typeof POINT_OUTCOMES)[number];

/**
 * Golden metrics from the proxies' own metrics (every request, not only sampled ones): requests
 * by outcome and mTLS, latency, open and closed TCP connections and bytes, per workload (inbound)
 * and per edge (outbound), merged across the instances of a workload; and per workload the
 * soonest expiry of its instances' identity certificates. Latency histograms keep the proxies' own
 * exemplars (those of traced requests), the latest per bucket. Exported as `meshtel_workload_*` and
 * `meshtel_edge_*`; requests, latency and open connections are also added to the windows of the
 * query API as `proxy` traffic.
 */
export class GoldenMetrics {
  private readonly deltas: DeltaTracker;
  private readonly rebucketer: Rebucketer;
  private readonly bounds: readonly number[];
  private readonly requests: Record<Direction, SeriesTable<Count>>;
  private readonly latency: Record<Direction, SeriesTable<Histogram>>;
  private readonly bytes: Record<Direction, SeriesTable<Count>>;
  private readonly tcp: Record<Direction, SeriesTable<Gauges>>;
  private readonly closed: Record<Direction, SeriesTable<Count>>;
  private readonly certExpiry: SeriesTable<Gauges>;
  private readonly outcomes = new Map<PointOutcome, number>(POINT_OUTCOMES.map((o) => [o, 0]));
  private readonly scratch: Float64Array;
  private readonly deltaScratch: number[] = [];

  constructor(
    private readonly config: GoldenConfig,
    maxSeries: number,
    private readonly traffic: TrafficStore,
    collectorStartNs: bigint,
  ) {
    this.bounds = config.histogram_buckets.map((ms) => ms / 1000);
    this.rebucketer = new Rebucketer(this.bounds);
    this.deltas = new DeltaTracker(collectorStartNs, config.max_streams);
    this.scratch = new Float64Array(this.bounds.length + 1);
    const n = this.bounds.length + 1;
    const table = <S extends Series>(prefix: string, labels: string[], create: () => Omit<S, 'updated'>) => ({
      inbound: new SeriesTable<S>(`meshtel_workload_${prefix}`, [...WORKLOAD_LABELS, ...labels], maxSeries, create),
      outbound: new SeriesTable<S>(`meshtel_edge_${prefix}`, [...EDGE_LABELS, ...labels], maxSeries, create),
    });
    this.requests = table<Count>('requests', ['classification', 'tls'], () => ({ value: 0 }));
    this.latency = table<Histogram>('request_duration_seconds', [], () => ({ counts: new Float64Array(n), sum: 0, count: 0, exemplars: undefined }));
    this.bytes = table<Count>('tcp_bytes', ['direction'], () => ({ value: 0 }));
    this.tcp = table<Gauges>('tcp_open_connections', [], () => ({ streams: new Map() }));
    this.closed = table<Count>('tcp_closed_connections', ['outcome'], () => ({ value: 0 }));
    this.certExpiry = new SeriesTable<Gauges>('meshtel_workload_identity_cert_expiration_timestamp_seconds', WORKLOAD_LABELS, maxSeries, () => ({ streams: new Map() }));
  }

  get tables(): SeriesTable<Series>[] {
    return [...[this.requests, this.latency, this.bytes, this.tcp, this.closed].flatMap((t) => [t.inbound, t.outbound]), this.certExpiry];
  }

  add(resourceMetrics: readonly ResourceMetrics[], now: number): void {
    for (const rm of resourceMetrics) {
      const resource = rm.resource.attributes;
      let workload: Workload | undefined;
      let resourceKey: string | undefined;
      for (const sm of rm.scopeMetrics) {
        for (const metric of sm.metrics) {
          if (metric.data.type === 'empty') continue;
          const input = recognise(metric);
          if (input === undefined) {
            this.outcome('unrecognized', metric.data.points.length);
            continue;
          }
          workload ??= workloadOf(resource);
          resourceKey ??= attributesKey(resource);
          const data = metric.data;
          const cumulative = !('temporality' in data) || data.temporality !== Temporality.DELTA;
          const prefix = `${resourceKey}\u0000${metric.name}\u0000`;
          for (const point of data.points as Point[]) {
            if ((point.flags & 1) === 1) {
              this.outcome('no_value', 1);
              continue;
            }
            const target = this.target(input, point.attributes, workload);
            if (typeof target === 'string') {
              this.outcome(target, 1);
              continue;
            }
            const stream = prefix + attributesKey(point.attributes);
            this.outcome(this.point(input, point, target, stream, cumulative, now), 1);
          }
        }
      }
    }
  }

  private target(input: Input, attributes: readonly KeyValue[], resource: Workload): Target | PointOutcome {
    const direction = directionOf(input, attributes);
    if (direction === undefined) return 'no_direction';
    const src = sourceOverride(attributes, resource);
    if (direction === 'inbound') return { direction, src, dst: undefined };
    const dst = destinationOf(attributes, src);
    return dst === undefined ? 'no_destination' : { direction, src, dst };
  }

  /** Applies one point and says how it was used. */
  private point(input: Input, point: Point, t: Target, stream: string, cumulative: boolean, now: number): PointOutcome {
    const since = point.startTimeUnixNano > 0n ? Number(point.startTimeUnixNano) / 1e6 : now;
    switch (input.role) {
      case 'tcp_open': {
        if (!tcpPeerMatches(t.direction, point.attributes)) return 'other_peer';
        const value = Number((point as NumberPoint).value);
        this.series(this.tcp, t, [], now).streams.set(stream, { value, at: now });
        if (t.direction === 'inbound') this.traffic.setTcpConnections(t.src, stream, value, now);
        return 'used';
      }
      case 'tcp_closed': {
        if (!tcpPeerMatches(t.direction, point.attributes)) return 'other_peer';
        const delta = this.sumDelta(stream, point as NumberPoint, cumulative, now);
        if (delta === undefined) return 'baseline';
        this.series(this.closed, t, [closeFailed(point.attributes) ? 'error' : 'ok'], now).value += delta;
        return 'used';
      }
      case 'cert_expiry': {
        const value = Number((point as NumberPoint).value);
        if (!Number.isFinite(value)) return 'no_value';
        seriesFor(this.certExpiry, [t.src.namespace, t.src.name], now).streams.set(stream, { value, at: now });
        return 'used';
      }
      case 'bytes_received':
      case 'bytes_sent': {
        if (!tcpPeerMatches(t.direction, point.attributes)) return 'other_peer';
        const delta = this.sumDelta(stream, point as NumberPoint, cumulative, now);
        if (delta === undefined) return 'baseline';
        const dir = input.role === 'bytes_received' ? 'received' : 'sent';
        this.series(this.bytes, t, [dir], now).value += delta;
        return 'used';
      }
      case 'requests': {
        const delta = this.sumDelta(stream, point as NumberPoint, cumulative, now);
        if (delta === undefined) return 'baseline';
        this.addRequests(t, point.attributes, delta, since, now);
        return 'used';
      }
      case 'latency':
      case 'requests_and_latency': {
        const h = point as HistogramPoint | ExponentialHistogramPoint;
        const d = 'explicitBounds' in h ? this.explicitDelta(h, stream, cumulative, input.toSeconds, now) : this.exponentialDelta(h, stream, cumulative, input.toSeconds, now);
        if (d === undefined) return 'baseline';
        const count = d[0]!;
        if (count <= 0) return 'used';
        if (input.role === 'requests_and_latency') this.addRequests(t, h.attributes, count, since, now);
        const series = this.addLatency(t, d, since, now);
        if (h.exemplars.length > 0) this.keepExemplars(series, h.exemplars, input.toSeconds, now);
        return 'used';
      }
    }
  }

  private sumDelta(stream: string, p: NumberPoint, cumulative: boolean, now: number): number | undefined {
    const value = Number(p.value);
    if (!Number.isFinite(value) || value < 0) return undefined;
    return cumulative ? this.deltas.sum(stream, p.startTimeUnixNano, value, now) : value;
  }

  private addRequests(t: Target, attributes: readonly KeyValue[], count: number, since: number, now: number): void {
    if (count <= 0) return;
    const failed = pointFailed(attributes);
    const secured = pointSecured(attributes);
    this.series(this.requests, t, [failed ? 'failure' : 'success', secured ? 'true' : 'false'], now).value += count;
    const slot = this.slot(t, since, now);
    if (slot === undefined) return;
    slot[REQUESTS]! += count;
    if (failed) slot[FAILURES]! += count;
    if (secured) slot[SECURED]! += count;
  }

  /**
   * An explicit-bucket point (or its increase since the last, when cumulative) as [count, sum in
   * seconds, ...counts over this layout], its buckets spread over the layout in proportion to the
   * overlap. Undefined for a cumulative baseline. A change of bounds starts a new stream.
   */
  private explicitDelta(h: HistogramPoint, stream: string, cumulative: boolean, toSeconds: number, now: number): number[] | undefined {
    let values = [h.count, h.sum ?? 0, ...h.bucketCounts];
    if (cumulative) {
      if (!this.deltas.histogram(`${stream}\u0000${h.explicitBounds.join(',')}`, h.startTimeUnixNano, values, now, this.deltaScratch)) return undefined;
      values = this.deltaScratch;
    }
    return this.inLayout(h.explicitBounds, values.slice(2), values[0]!, values[1]!, toSeconds);
  }

  /**
   * An exponential point (or its increase) the same way: bucket i covers (base^i, base^(i+1)],
   * base = 2^(2^-scale); the zero bucket (and negative values, which durations cannot have) goes
   * to the lowest bucket.
   */
  private exponentialDelta(h: ExponentialHistogramPoint, stream: string, cumulative: boolean, toSeconds: number, now: number): number[] | undefined {
    let e: ExponentialState | undefined = {
      scale: h.scale,
      offset: h.positive.offset,
      counts: h.positive.bucketCounts,
      zero: h.zeroCount + h.negative.bucketCounts.reduce((a, b) => a + b, 0),
      count: h.count,
      sum: h.sum ?? 0,
    };
    if (cumulative) e = this.deltas.exponential(stream, h.startTimeUnixNano, e, now);
    if (e === undefined) return undefined;
    const base = 2 ** (2 ** -e.scale);
    const offset = e.offset;
    const bounds = Array.from({ length: e.counts.length + 1 }, (_, k) => base ** (offset + k));
    return this.inLayout(bounds, [e.zero, ...e.counts, 0], e.count, e.sum, toSeconds);
  }

  /** [count, sum in seconds, ...`counts` over `bounds` (in the metric's unit) spread over this layout]. */
  private inLayout(bounds: readonly number[], counts: readonly number[], count: number, sum: number, toSeconds: number): number[] {
    const buckets = this.scratch.fill(0);
    if (counts.length > 0) {
      const scaled = toSeconds === 1 ? bounds : bounds.map((b) => inSeconds(b, toSeconds));
      this.rebucketer.add(scaled, counts, buckets);
    }
    return [count, sum * toSeconds, ...buckets];
  }

  /**
   * Adds latency `d` = [count, sum in seconds, ...counts over this layout] to the series and
   * window; returns the series.
   */
  private addLatency(t: Target, d: readonly number[], since: number, now: number): Histogram {
    const h = this.series(this.latency, t, [], now);
    for (let i = 0; i < h.counts.length; i++) h.counts[i]! += d[2 + i]!;
    h.sum += d[1]!;
    h.count += d[0]!;
    const slot = this.slot(t, since, now);
    if (slot !== undefined) {
      slot[LATENCY_SUM]! += d[1]!;
      for (let i = 0; i < h.counts.length; i++) slot[BUCKETS + i]! += d[2 + i]!;
    }
    return h;
  }

  /**
   * The proxy's own exemplars (OTLP, on its histogram point), each into the bucket its value
   * falls in, in seconds. Only exemplars of sampled requests (with a trace id) link to a trace.
   */
  private keepExemplars(h: Histogram, exemplars: readonly Exemplar[], toSeconds: number, now: number): void {
    for (const x of exemplars) {
      if (!LINKABLE_ID.test(x.traceId) || !LINKABLE_ID.test(x.spanId)) continue;
      const value = inSeconds(Number(x.value), toSeconds);
      if (!Number.isFinite(value)) continue;
      keepExemplar(h, h.counts.length, bucketIndex(this.bounds, value), { traceId: x.traceId, spanId: x.spanId, value, timestampMs: now });
    }
  }

  private slot(t: Target, since: number, now: number): Float64Array | undefined {
    if (t.direction === 'inbound') return this.traffic.workloadSlot('proxy', t.src, now, since);
    return this.traffic.edgeSlot('proxy', t.src, t.dst!, { src: false, dst: false }, now, since);
  }

  private series<S extends Series>(tables: Record<Direction, SeriesTable<S>>, t: Target, extra: string[], now: number): S {
    if (t.direction === 'inbound') return seriesFor(tables.inbound, [t.src.namespace, t.src.name, ...extra], now);
    return seriesFor(tables.outbound, [t.src.namespace, t.src.name, t.dst!.namespace, t.dst!.name, ...extra], now);
  }

  private outcome(o: PointOutcome, n: number): void {
    this.outcomes.set(o, this.outcomes.get(o)! + n);
  }

  /** Forgets cumulative streams and series idle for their TTLs. */
  sweep(now: number, seriesTtlMs: number): void {
    this.deltas.sweep(now, this.config.stream_ttl);
    for (const t of this.tables) t.sweep(now, seriesTtlMs);
  }

  families(now: () => number): MetricFamily[] {
    const staleMs = this.config.gauge_stale_after;
    const counter = (table: SeriesTable<Count>) => (emit: (l: Labels, v: number) => void) => {
      for (const [labels, s] of table.entries()) emit(labels, s.value);
    };
    const histogram = (table: SeriesTable<Histogram>) => (emit: (l: Labels, v: HistogramData) => void) => {
      for (const [labels, h] of table.entries()) emit(labels, h);
    };
    const gauge = (table: SeriesTable<Gauges>) => (emit: (l: Labels, v: number) => void) => {
      const t = now();
      for (const [labels, g] of table.entries()) emit(labels, liveSum(g, t, staleMs));
    };
    /** The soonest of the live values; a series with none is left out (0 would read as expired). */
    const soonest = (table: SeriesTable<Gauges>) => (emit: (l: Labels, v: number) => void) => {
      const t = now();
      for (const [labels, g] of table.entries()) {
        const min = liveMin(g, t, staleMs);
        if (min !== undefined) emit(labels, min);
      }
    };
    const families: MetricFamily[] = [];
    for (const [direction, scope, what] of [
      ['inbound', 'workload', 'received by the workload (inbound), as its proxies counted them'],
      ['outbound', 'edge', 'sent from one workload to another (outbound), as the source proxies counted them'],
    ] as const) {
      families.push(
        {
          name: `meshtel_${scope}_requests_total`,
          help: `Requests ${what}; classification is success or failure, tls whether mTLS secured them.`,
          type: 'counter',
          collect: counter(this.requests[direction]),
        },
        {
          name: `meshtel_${scope}_request_duration_seconds`,
          help: `Latency of requests ${what}.`,
          type: 'histogram',
          bounds: this.bounds,
          collect: histogram(this.latency[direction]),
        },
        {
          name: `meshtel_${scope}_tcp_open_connections`,
          help: `Open TCP connections ${direction === 'inbound' ? 'from clients to the workload' : 'from the source workload to the destination'}, summed over proxies.`,
          type: 'gauge',
          collect: gauge(this.tcp[direction]),
        },
        {
          name: `meshtel_${scope}_tcp_bytes_total`,
          help: `Bytes ${direction === 'inbound' ? 'received from and sent to clients' : 'sent to and received from the destination'} over TCP, by direction.`,
          type: 'counter',
          collect: counter(this.bytes[direction]),
        },
        {
          name: `meshtel_${scope}_tcp_closed_connections_total`,
          help: `TCP connections ${direction === 'inbound' ? 'from clients to the workload' : 'from the source workload to the destination'} that closed, as the ${direction === 'inbound' ? "workload's" : "source's"} proxies saw them; outcome is error when one closed with an error${direction === 'outbound' ? ' or could not be established' : ''}, else ok.`,
          type: 'counter',
          collect: counter(this.closed[direction]),
        },
      );
    }
    families.push(
      {
        name: 'meshtel_workload_identity_cert_expiration_timestamp_seconds',
        help: "When the soonest-expiring identity certificate of the workload's instances reporting now expires (Unix seconds); an instance silent for gauge_stale_after no longer counts.",
        type: 'gauge',
        collect: soonest(this.certExpiry),
      },
      {
        name: 'meshtel_golden_points_total',
        help: 'Metric data points read for golden metrics, by outcome: used; baseline (first point of a stream older than the collector); unrecognized; no_direction; no_destination; no_value; other_peer.',
        type: 'counter',
        collect: (emit) => {
          for (const o of POINT_OUTCOMES) emit(OUTCOME_LABELS[o]!, this.outcomes.get(o)!);
        },
      },
      {
        name: 'meshtel_golden_streams',
        help: 'Cumulative streams (one counter of one proxy) tracked to compute deltas.',
        type: 'gauge',
        collect: (emit) => emit(NO_LABELS, this.deltas.size),
      },
      {
        name: 'meshtel_golden_stream_resets_total',
        help: 'Cumulative streams seen to reset (a restarted proxy); their new value counted whole.',
        type: 'counter',
        collect: (emit) => emit(NO_LABELS, this.deltas.resets),
      },
    );
    return families;
  }
}

const NO_LABELS: Labels = Object.freeze({});
const OUTCOME_LABELS: Record<string, Labels> = Object.fromEntries(POINT_OUTCOMES.map((o) => [o, Object.freeze({ outcome: o })]));

/** `value` (in a unit worth `toSeconds` seconds) in seconds; ms divided, so 36 ms is exactly 0.036. */
function inSeconds(value: number, toSeconds: number): number {
  return toSeconds === 1e-3 ? value / 1000 : value * toSeconds;
}
