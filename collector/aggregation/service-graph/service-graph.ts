import type { HistogramData, Labels, MetricFamily } from '../../model/families.js';
import { SpanKind, type Span } from '../../model/traces.js';
import { sampleExemplar, type SampledExemplars } from '../exemplars.js';
import { bucketIndex } from '../histogram.js';
import { workloadOfAddress, type Workload } from '../identity.js';
import type { SpanFacts } from '../span-facts.js';
import { SeriesTable, seriesFor, type Series } from '../series-table.js';
import type { ServiceGraphConfig } from './config.js';
import { EdgeStore, type ConnectionType, type Half, type PendingEdge } from './store.js';

/** The client that Tempo and meshtel name for requests whose caller sent no span (a root server span). */
export const USER_NODE = 'user';

/** One request between two nodes, as the service graph saw it; what `onEdge` listeners get. */
export interface ObservedEdge {
  client: Workload;
  server: Workload;
  /** The client sent no span of its own (`user`, a root server span). */
  clientVirtual: boolean;
  /** The server sent no span of its own (a database, an external or uninstrumented service). */
  serverVirtual: boolean;
  connectionType: ConnectionType;
  tls: boolean;
  failed: boolean;
  /** Requests this one stands for (1 / sampling probability). */
  weight: number;
  /** Latency seen by the server, else by the client, in seconds. */
  seconds: number;
  /** When the request started (the client span's start, else the server's), ms since the epoch. */
  startMs: number;
}

interface EdgeSeries extends Series {
  requests: number;
  failed: number;
  client: Histogram;
  server: Histogram;
}

interface Histogram extends SampledExemplars {
  counts: Float64Array;
  sum: number;
  count: number;
}

const EDGE_LABELS = ['client', 'server', 'connection_type', 'client_namespace', 'server_namespace', 'tls'];
const SIDE_LABELS = ['client', 'server', 'connection_type'];
const NO_LABELS: Labels = Object.freeze({});

/**
 * The service graph: pairs CLIENT with SERVER spans (and PRODUCER with CONSUMER) by trace id and
 * parent span id and counts one edge per pair, with client and server latency, failures, the
 * namespaces of both ends and whether the hop ran over TLS. Metric names and labels follow
 * Grafana Tempo's service-graph processor, plus the mesh labels `client_namespace`,
 * `server_namespace` and `tls`. Each latency histogram keeps an exemplar per bucket (the trace and
 * span id of that side's span), refreshed at most once a second.
 *
 * What cannot be paired: a root SERVER span becomes an edge from the virtual node `user`; a
 * client span that expires unpaired becomes an edge to a virtual node when it names its peer
 * (database, messaging system or `peer.service`-style attribute), else counts as unpaired.
 */
export class ServiceGraph {
  private readonly store: EdgeStore;
  private readonly edges: SeriesTable<EdgeSeries>;
  private readonly unpaired: SeriesTable<Count>;
  private readonly dropped: SeriesTable<Count>;
  private readonly bounds: readonly number[];
  private expiredVirtual = 0;
  private expiredUnpaired = 0;
  private duplicates = 0;
  private now = 0;

  constructor(
    private readonly config: ServiceGraphConfig,
    maxSeries: number,
    private readonly onEdge: (edge: ObservedEdge) => void = () => {},
  ) {
    this.bounds = config.histogram_buckets.map((ms) => ms / 1000);
    const n = this.bounds.length + 1;
    const histogram = (): Histogram => ({ counts: new Float64Array(n), sum: 0, count: 0, exemplars: undefined, exemplarDue: 0 });
    this.edges = new SeriesTable<EdgeSeries>('traces_service_graph_request', EDGE_LABELS, maxSeries, () => ({
      requests: 0,
      failed: 0,
      client: histogram(),
      server: histogram(),
    }));
    this.unpaired = new SeriesTable<Count>('traces_service_graph_unpaired_spans', SIDE_LABELS, maxSeries, () => ({ value: 0 }));
    this.dropped = new SeriesTable<Count>('traces_service_graph_dropped_spans', SIDE_LABELS, maxSeries, () => ({ value: 0 }));
    this.store = new EdgeStore(
      config.store_ttl,
      config.store_max_items,
      (client, server) => this.complete(client, server),
      (edge) => this.expired(edge),
    );
  }

  /** The series tables, for the cardinality self-telemetry. */
  get tables(): SeriesTable<Series>[] {
    return [this.edges, this.unpaired, this.dropped];
  }

  get pending(): number {
    return this.store.size;
  }

  /** Records one span of `workload` whose facts were read into `facts`. */
  record(workload: Workload, span: Span, facts: SpanFacts, now: number): void {
    const kind = span.kind;
    if (kind !== SpanKind.CLIENT && kind !== SpanKind.SERVER && kind !== SpanKind.PRODUCER && kind !== SpanKind.CONSUMER) return;
    this.now = now;
    const messaging = kind === SpanKind.PRODUCER || kind === SpanKind.CONSUMER;
    const half: Half = {
      workload,
      traceId: span.traceId,
      spanId: span.spanId,
      seconds: facts.seconds,
      startMs: facts.startMs,
      failed: facts.failed,
      tls: facts.tls,
      weight: facts.weight,
      messaging,
      peer: undefined,
      peerType: '',
    };
    if (kind === SpanKind.CLIENT || kind === SpanKind.PRODUCER) {
      namePeer(half, facts);
      const result = this.store.upsertClient(span.traceId, span.spanId, half, now);
      if (result === 'dropped') this.count(this.dropped, workload.name, '', half);
      else if (result === 'duplicate') this.duplicates++;
    } else if (span.parentSpanId === '') {
      if (kind === SpanKind.SERVER) this.virtualClient(half);
      else this.count(this.unpaired, '', workload.name, half);
    } else {
      const result = this.store.upsertServer(span.traceId, span.parentSpanId, half, now);
      if (result === 'dropped') this.count(this.dropped, '', workload.name, half);
      else if (result === 'duplicate') this.duplicates++;
    }
  }

  /** Expires half-edges older than the TTL (at most `max`): virtual-node edges or unpaired spans. */
  expire(now: number, max = Infinity): number {
    this.now = now;
    return this.store.expire(now, max);
  }

  /** Expires everything pending (on shutdown). */
  flush(now: number): number {
    this.now = now;
    return this.store.expireAll();
  }

  /** Removes series not updated for `ttlMs`. */
  sweep(now: number, ttlMs: number): void {
    for (const t of this.tables) t.sweep(now, ttlMs);
  }

  private complete(client: Half, server: Half): void {
    const tls = server.tls ?? client.tls ?? false;
    const connectionType: ConnectionType = client.messaging ? 'messaging_system' : '';
    const weight = client.weight;
    const failed = client.failed || server.failed;
    const s = this.edgeSeries(client.workload, server.workload, connectionType, tls);
    s.requests += weight;
    if (failed) s.failed += weight;
    this.observe(s.client, client, weight);
    this.observe(s.server, server, weight);
    this.onEdge({
      client: client.workload,
      server: server.workload,
      clientVirtual: false,
      serverVirtual: false,
      connectionType,
      tls,
      failed,
      weight,
      seconds: server.seconds,
      startMs: client.startMs,
    });
  }

  private virtualClient(server: Half): void {
    const client: Workload = { namespace: '', name: USER_NODE };
    const tls = server.tls ?? false;
    const s = this.edgeSeries(client, server.workload, 'virtual_node', tls);
    s.requests += server.weight;
    if (server.failed) s.failed += server.weight;
    this.observe(s.server, server, server.weight);
    this.onEdge({
      client,
      server: server.workload,
      clientVirtual: true,
      serverVirtual: false,
      connectionType: 'virtual_node',
      tls,
      failed: server.failed,
      weight: server.weight,
      seconds: server.seconds,
      startMs: server.startMs,
    });
  }

  private expired(edge: PendingEdge): void {
    const client = edge.client;
    if (client === undefined) {
      this.expiredUnpaired++;
      this.count(this.unpaired, '', edge.server!.workload.name, edge.server!);
      return;
    }
    if (client.peer === undefined) {
      this.expiredUnpaired++;
      this.count(this.unpaired, client.workload.name, '', client);
      return;
    }
    this.expiredVirtual++;
    const server = client.peerType === 'messaging_system' ? { namespace: '', name: client.peer } : workloadOfAddress(client.peer, client.workload.namespace);
    const tls = client.tls ?? false;
    const s = this.edgeSeries(client.workload, server, client.peerType, tls);
    s.requests += client.weight;
    if (client.failed) s.failed += client.weight;
    this.observe(s.client, client, client.weight);
    this.onEdge({
      client: client.workload,
      server,
      clientVirtual: false,
      serverVirtual: true,
      connectionType: client.peerType,
      tls,
      failed: client.failed,
      weight: client.weight,
      seconds: client.seconds,
      startMs: client.startMs,
    });
  }

  private edgeSeries(client: Workload, server: Workload, connectionType: ConnectionType, tls: boolean): EdgeSeries {
    return seriesFor(this.edges, [client.name, server.name, connectionType, client.namespace, server.namespace, tls ? 'true' : 'false'], this.now);
  }

  /** One side's latency (`half`'s), counted `weight` times; an exemplar at most once a second. */
  private observe(h: Histogram, half: Half, weight: number): void {
    const seconds = half.seconds;
    const bucket = bucketIndex(this.bounds, seconds);
    h.counts[bucket]! += weight;
    h.sum += seconds * weight;
    h.count += weight;
    if (this.now >= h.exemplarDue) sampleExemplar(h, h.counts.length, bucket, half.traceId, half.spanId, seconds, this.now);
  }

  private count(table: SeriesTable<Count>, client: string, server: string, half: Half): void {
    seriesFor(table, [client, server, half.messaging ? 'messaging_system' : ''], this.now).value += half.weight;
  }

  families(): MetricFamily[] {
    const edges = this.edges;
    // A virtual-node edge has only one side's latency; the other side's histogram stays absent.
    const histogram = (side: 'client' | 'server') => (emit: (l: Labels, v: HistogramData) => void) => {
      for (const [labels, s] of edges.entries()) if (s[side].count > 0) emit(labels, s[side]);
    };
    const counter = (table: SeriesTable<Count>) => (emit: (l: Labels, v: number) => void) => {
      for (const [labels, s] of table.entries()) emit(labels, s.value);
    };
    return [
      {
        name: 'traces_service_graph_request_total',
        help: 'Requests between two nodes of the service graph (scaled by sampling probability).',
        type: 'counter',
        collect: (emit) => {
          for (const [labels, s] of edges.entries()) emit(labels, s.requests);
        },
      },
      {
        name: 'traces_service_graph_request_failed_total',
        help: 'Failed requests between two nodes of the service graph (scaled by sampling probability).',
        type: 'counter',
        collect: (emit) => {
          for (const [labels, s] of edges.entries()) emit(labels, s.failed);
        },
      },
      {
        name: 'traces_service_graph_request_server_seconds',
        help: 'Request latency between two nodes as seen by the server.',
        type: 'histogram',
        bounds: this.bounds,
        collect: histogram('server'),
      },
      {
        name: 'traces_service_graph_request_client_seconds',
        help: 'Request latency between two nodes as seen by the client.',
        type: 'histogram',
        bounds: this.bounds,
        collect: histogram('client'),
      },
      {
        name: 'traces_service_graph_unpaired_spans_total',
        help: 'Client or server spans that expired without their other half and named no peer.',
        type: 'counter',
        collect: counter(this.unpaired),
      },
      {
        name: 'traces_service_graph_dropped_spans_total',
        help: 'Client or server spans not paired because the service-graph store was full.',
        type: 'counter',
        collect: counter(this.dropped),
      },
      {
        name: 'meshtel_servicegraph_store_items',
        help: 'Half-edges waiting in the service-graph store for their other half.',
        type: 'gauge',
        collect: (emit) => emit(NO_LABELS, this.store.size),
      },
      {
        name: 'meshtel_servicegraph_store_capacity',
        help: 'Most half-edges the service-graph store holds (store_max_items).',
        type: 'gauge',
        collect: (emit) => emit(NO_LABELS, this.config.store_max_items),
      },
      {
        name: 'meshtel_servicegraph_expired_edges_total',
        help: 'Half-edges that expired unpaired: as a virtual-node edge, or counted as unpaired.',
        type: 'counter',
        collect: (emit) => {
          emit(EXPIRED_VIRTUAL, this.expiredVirtual);
          emit(EXPIRED_UNPAIRED, this.expiredUnpaired);
        },
      },
      {
        name: 'meshtel_servicegraph_duplicate_spans_total',
        help: 'Spans ignored because the half-edge they complete was already seen (redelivery).',
        type: 'counter',
        collect: (emit) => emit(NO_LABELS, this.duplicates),
      },
    ];
  }
}

interface Count extends Series {
  value: number;
}

/**
 * Names the node a client (or producer) half calls, for when it expires unpaired: for messaging
 * the destination or system; for databases (Tempo's order) the peer attribute, else the database
 * name, else the system; otherwise the first configured peer attribute.
 */
function namePeer(half: Half, facts: SpanFacts): void {
  if (half.messaging) {
    half.peer = facts.messagingDestination ?? facts.messagingSystem;
    half.peerType = 'messaging_system';
  } else if (facts.dbSystem !== undefined || facts.dbName !== undefined) {
    half.peer = facts.peer ?? facts.dbName ?? facts.dbSystem;
    half.peerType = 'database';
  } else {
    half.peer = facts.peer;
    half.peerType = 'virtual_node';
  }
}

const EXPIRED_VIRTUAL: Labels = Object.freeze({ outcome: 'virtual_node' });
const EXPIRED_UNPAIRED: Labels = Object.freeze({ outcome: 'unpaired' });
