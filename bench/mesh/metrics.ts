import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { proxyInstruments, type ProxyInstruments } from '../../demo/proxy/telemetry.js';
import { Random } from './random.js';
import type { Service, Topology } from './topology.js';

/** One proxy's metric export: an OTLP/protobuf `ExportMetricsServiceRequest`, as it would POST it. */
export interface MetricsPayload {
  bytes: Buffer;
  /** Data points (a histogram point, all its buckets, is one). */
  points: number;
}

export interface MetricsPayloadSet {
  payloads: MetricsPayload[];
  /** Proxies (pods), each exporting once per round. */
  proxies: number;
  points: number;
  bytes: number;
  generationMs: number;
}

export interface MetricsPayloadOptions {
  /** Export intervals recorded; the payloads hold every proxy's export of each, in round order. */
  rounds: number;
  /** Requests each pod sends to each service it calls, and takes from each caller, per round (at most). */
  requestsPerPeer: number;
  seed: number;
}

/** A reader whose `collect()` the builder calls itself, once per export round. */
class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What the mesh's proxies export for `rounds` intervals of traffic: every pod records its inbound
 * and outbound requests on the example mesh's proxy instruments (Linkerd's names and labels:
 * `response_total`, `response_latency_ms`, `tcp_open_connections`), through the OpenTelemetry
 * metrics SDK with cumulative temporality, as a proxy would; each export is serialized by the
 * official OTLP serializer (`ProtobufMetricsSerializer`).
 */
export async function buildMetricsPayloads(topology: Topology, options: MetricsPayloadOptions): Promise<MetricsPayloadSet> {
  const started = performance.now();
  const rnd = new Random(options.seed);
  const callers = callersOf(topology);
  const proxies: { service: Service; reader: CollectingReader; provider: MeterProvider; instruments: ProxyInstruments }[] = [];
  for (const service of topology.services) {
    for (const pod of service.pods) {
      const reader = new CollectingReader();
      const provider = new MeterProvider({ resource: pod.resource, readers: [reader] });
      const instruments = proxyInstruments(provider.getMeter('meshtel-bench-proxy'));
      for (const call of service.calls) {
        instruments.openConnections.add(1 + rnd.int(4), outbound(service, call.to));
      }
      for (const { caller } of callers.get(service) ?? []) {
        instruments.openConnections.add(1 + rnd.int(4), inbound(service, caller));
      }
      proxies.push({ service, reader, provider, instruments });
    }
  }

  const payloads: MetricsPayload[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const { service, reader, instruments } of proxies) {
      for (const call of service.calls) {
        record(instruments, rnd, 1 + rnd.int(options.requestsPerPeer), call.errorRate, call.to, outbound(service, call.to));
      }
      const from = callers.get(service) ?? [];
      // Gateways take requests from outside the mesh: one unmeshed peer.
      const peers = from.length > 0 ? from : [{ caller: undefined, errorRate: 0.01 }];
      for (const { caller, errorRate } of peers) {
        record(instruments, rnd, 1 + rnd.int(options.requestsPerPeer), errorRate, service, inbound(service, caller));
      }
      const { resourceMetrics } = await reader.collect();
      payloads.push(serialize(resourceMetrics));
    }
  }
  await Promise.all(proxies.map((p) => p.provider.shutdown()));
  return {
    payloads,
    proxies: proxies.length,
    points: payloads.reduce((n, p) => n + p.points, 0),
    bytes: payloads.reduce((n, p) => n + p.bytes.length, 0),
    generationMs: performance.now() - started,
  };
}

/** Inbound labels: the proxy knows its peer only by whether it spoke mTLS. */
function inbound(service: Service, caller: Service | undefined): Record<string, string> {
  return { direction: 'inbound', tls: String(service.meshed && caller?.meshed === true) };
}

function outbound(from: Service, to: Service): Record<string, string> {
  return { direction: 'outbound', tls: String(from.meshed && to.meshed), dst_namespace: to.namespace, dst_deployment: to.name };
}

/** `n` responses of `server` with the labels a proxy gives them: outcome, status, latency. */
function record(instruments: ProxyInstruments, rnd: Random, n: number, errorRate: number, server: Service, labels: Record<string, string>): void {
  for (let i = 0; i < n; i++) {
    const failed = rnd.chance(errorRate);
    const status =
      server.protocol === 'grpc'
        ? { status_code: '200', grpc_status: failed ? '14' : '0' }
        : { status_code: failed ? '503' : '200' };
    const attributes = { ...labels, classification: failed ? 'failure' : 'success', ...status };
    instruments.responses.add(1, attributes);
    instruments.latency.record(rnd.latency(server.workMs + 0.5), attributes);
  }
}

/** Each service's callers and the share of their calls to it that fail. */
function callersOf(topology: Topology): Map<Service, { caller: Service; errorRate: number }[]> {
  const callers = new Map<Service, { caller: Service; errorRate: number }[]>();
  for (const caller of topology.services) {
    for (const call of caller.calls) {
      let list = callers.get(call.to);
      if (list === undefined) callers.set(call.to, (list = []));
      list.push({ caller, errorRate: call.errorRate });
    }
  }
  return callers;
}

function serialize(resourceMetrics: ResourceMetrics): MetricsPayload {
  const encoded = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
  if (encoded === undefined) throw new Error('the OTLP serializer returned nothing');
  let points = 0;
  for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) points += metric.dataPoints.length;
  return { bytes: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength), points };
}
