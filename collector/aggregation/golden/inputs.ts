import { attribute, booleanAttribute, numberAttribute, stringAttribute, type KeyValue } from '../../model/common.js';
import type { Metric } from '../../model/metrics.js';
import { workloadOfAddress, type Workload } from '../identity.js';
import { grpcFailed } from '../span-semantics.js';

/**
 * The proxy and SDK metrics golden metrics are computed from, recognised by name:
 * - Linkerd's proxy metrics: `response_total` (requests by `classification`),
 *   `response_latency_ms`, `tcp_open_connections`, `tcp_read_bytes_total`,
 *   `tcp_write_bytes_total`, `tcp_close_total` (closed connections by `errno`), with `direction`
 *   telling inbound from outbound; also without the `_total` suffix, as some
 *   Prometheus-to-OTLP bridges drop it. And `identity_cert_expiration_timestamp_seconds`, the
 *   proxy's (so the workload instance's) identity certificate expiry, a gauge without direction.
 * - OpenTelemetry semantic-convention request-duration histograms, new and old names:
 *   `http.server.request.duration`, `http.server.duration`, `rpc.server.call.duration`,
 *   `rpc.server.duration` (inbound) and their `client` counterparts (outbound).
 */
export type Role = 'requests' | 'latency' | 'requests_and_latency' | 'tcp_open' | 'tcp_closed' | 'bytes_received' | 'bytes_sent' | 'cert_expiry';

export interface Input {
  role: Role;
  /**
   * Fixed for semantic-convention metrics (and `inbound`, the workload itself, for the certificate
   * expiry); read from the `direction` attribute for Linkerd's.
   */
  direction: 'inbound' | 'outbound' | 'from_attribute';
  /** Multiplier from the metric's unit to seconds (latency histograms only). */
  toSeconds: number;
}

const LINKERD: Record<string, Omit<Input, 'toSeconds'>> = {
  response_total: { role: 'requests', direction: 'from_attribute' },
  response: { role: 'requests', direction: 'from_attribute' },
  response_latency_ms: { role: 'latency', direction: 'from_attribute' },
  tcp_open_connections: { role: 'tcp_open', direction: 'from_attribute' },
  tcp_read_bytes_total: { role: 'bytes_received', direction: 'from_attribute' },
  tcp_read_bytes: { role: 'bytes_received', direction: 'from_attribute' },
  tcp_write_bytes_total: { role: 'bytes_sent', direction: 'from_attribute' },
  tcp_write_bytes: { role: 'bytes_sent', direction: 'from_attribute' },
  tcp_close_total: { role: 'tcp_closed', direction: 'from_attribute' },
  tcp_close: { role: 'tcp_closed', direction: 'from_attribute' },
  identity_cert_expiration_timestamp_seconds: { role: 'cert_expiry', direction: 'inbound' },
};

/** Semantic-convention duration histograms, with the unit their convention prescribes. */
const SEMCONV: Record<string, { direction: 'inbound' | 'outbound'; unit: 's' | 'ms' }> = {
  'http.server.request.duration': { direction: 'inbound', unit: 's' },
  'http.server.duration': { direction: 'inbound', unit: 'ms' },
  'rpc.server.call.duration': { direction: 'inbound', unit: 's' },
  'rpc.server.duration': { direction: 'inbound', unit: 'ms' },
  'http.client.request.duration': { direction: 'outbound', unit: 's' },
  'http.client.duration': { direction: 'outbound', unit: 'ms' },
  'rpc.client.call.duration': { direction: 'outbound', unit: 's' },
  'rpc.client.duration': { direction: 'outbound', unit: 'ms' },
};

/** What role a metric plays in the golden metrics, or undefined when it plays none. */
export function recognise(metric: Metric): Input | undefined {
  const linkerd = LINKERD[metric.name];
  if (linkerd !== undefined) {
    if (!typeFits(linkerd.role, metric.data.type)) return undefined;
    return { ...linkerd, toSeconds: unitToSeconds(metric.unit, 'ms') };
  }
  const semconv = SEMCONV[metric.name];
  if (semconv !== undefined && isHistogram(metric.data.type)) {
    return { role: 'requests_and_latency', direction: semconv.direction, toSeconds: unitToSeconds(metric.unit, semconv.unit) };
  }
  return undefined;
}

/** Latency is a histogram, the certificate expiry a gauge (or sum), the counters sums. */
function typeFits(role: Role, type: Metric['data']['type']): boolean {
  switch (role) {
    case 'latency':
      return isHistogram(type);
    case 'tcp_open':
      return true;
    case 'cert_expiry':
      return type === 'gauge' || type === 'sum';
    default:
      return type === 'sum';
  }
}

function isHistogram(type: Metric['data']['type']): boolean {
  return type === 'histogram' || type === 'exponentialHistogram';
}

function unitToSeconds(unit: string, conventional: 's' | 'ms'): number {
  if (unit === 's') return 1;
  if (unit === 'ms') return 1e-3;
  if (unit === 'us') return 1e-6;
  return conventional === 's' ? 1 : 1e-3;
}

/** The direction of a point: inbound (requests the workload served) or outbound (it made). */
export function directionOf(input: Input, attributes: readonly KeyValue[]): 'inbound' | 'outbound' | undefined {
  if (input.direction !== 'from_attribute') return input.direction;
  const d = stringAttribute(attributes, 'direction');
  return d === 'inbound' || d === 'outbound' ? d : undefined;
}

/**
 * Whether a request point counts failures: Linkerd's `classification`, else the rule of
 * DESIGN.md over the point's attributes (gRPC status, HTTP 5xx, or `error.type` set).
 */
export function pointFailed(attributes: readonly KeyValue[]): boolean {
  const classification = stringAttribute(attributes, 'classification');
  if (classification !== undefined) return classification !== 'success';
  const grpc = grpcFailed(attributes);
  if (grpc !== undefined) return grpc;
  const http = numberAttribute(attributes, 'http.response.status_code') ?? numberAttribute(attributes, 'http.status_code');
  if (http !== undefined) return http >= 500;
  return stringAttribute(attributes, 'error.type') !== undefined;
}

/**
 * Whether a `tcp_close_total` point counts connections that closed with an error (an outbound
 * one that could not be established included): Linkerd's `errno` label set to anything but the
 * empty string. Absent or empty is a clean close.
 */
export function closeFailed(attributes: readonly KeyValue[]): boolean {
  const errno = attribute(attributes, 'errno');
  return errno !== undefined && errno !== null && errno !== '';
}

/** Whether a point's requests ran over mutual TLS: Linkerd `tls`, `tls.established`, Istio's policy label. */
export function pointSecured(attributes: readonly KeyValue[]): boolean {
  if (attribute(attributes, 'tls') === 'true') return true;
  if (booleanAttribute(attributes, 'tls.established') === true) return true;
  return stringAttribute(attributes, 'connection_security_policy') === 'mutual_tls';
}

const LINKERD_DST_KINDS = ['dst_deployment', 'dst_statefulset', 'dst_daemonset', 'dst_job', 'dst_service'] as const;
const LINKERD_SRC_KINDS = ['deployment', 'statefulset', 'daemonset', 'job'] as const;

/**
 * The workload a point is about, when its attributes override the resource: Linkerd metrics
 * scraped by Prometheus carry `namespace` and `deployment` (or another kind) labels.
 */
export function sourceOverride(attributes: readonly KeyValue[], resource: Workload): Workload {
  for (const key of LINKERD_SRC_KINDS) {
    const name = stringAttribute(attributes, key);
    if (name !== undefined) return { namespace: stringAttribute(attributes, 'namespace') ?? resource.namespace, name };
  }
  return resource;
}

/**
 * The destination of an outbound point: Linkerd's `dst_namespace` + `dst_<kind>`, else
 * `service.peer.name` / `peer.service` (with `service.peer.namespace`), else the address in
 * `server.address` / `net.peer.name` resolved as a Kubernetes service name.
 */
export function destinationOf(attributes: readonly KeyValue[], caller: Workload): Workload | undefined {
  for (const key of LINKERD_DST_KINDS) {
    const name = stringAttribute(attributes, key);
    if (name !== undefined) return { namespace: stringAttribute(attributes, 'dst_namespace') ?? caller.namespace, name };
  }
  const peer = stringAttribute(attributes, 'service.peer.name') ?? stringAttribute(attributes, 'peer.service');
  if (peer !== undefined) {
    const namespace = stringAttribute(attributes, 'service.peer.namespace');
    return namespace !== undefined ? { namespace, name: peer } : workloadOfAddress(peer, caller.namespace);
  }
  const address = stringAttribute(attributes, 'server.address') ?? stringAttribute(attributes, 'net.peer.name');
  return address === undefined ? undefined : workloadOfAddress(address, caller.namespace);
}

/**
 * Linkerd reports TCP metrics for both sides of a proxy; the workload's own connections are the
 * inbound ones from its clients (`peer="src"`) and the outbound ones to its destinations
 * (`peer="dst"`). Points without a `peer` attribute are taken as they come.
 */
export function tcpPeerMatches(direction: 'inbound' | 'outbound', attributes: readonly KeyValue[]): boolean {
  const peer = stringAttribute(attributes, 'peer');
  return peer === undefined || peer === (direction === 'inbound' ? 'src' : 'dst');
}
