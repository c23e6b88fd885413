import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Attributes, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import http from 'node:http';
import http2, { type ClientHttp2Session, type Http2SecureServer, type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls, { type TLSSocket } from 'node:tls';
import type { TlsMaterial } from '../pki.js';
import { NAMESPACE, serviceHost, serviceOfAuthority, type Instance } from '../topology.js';
import { UNMESHED, type TruthKey, type TruthRecorder } from '../truth.js';
import { fromHttp1, fromHttp2, sendHttp1, sendHttp2, type Downstream, type Headers, type Outcome, type UpstreamResponse } from './messages.js';
import { reportCertificateExpiry, type InstanceTelemetry } from './telemetry.js';

/** One workload instance a proxy serves: a sidecar serves one, a node proxy several. */
export interface ServedInstance {
  instance: Instance;
  tls: TlsMaterial;
  telemetry: InstanceTelemetry;
  /** The local application's port: HTTP/1.1, or cleartext HTTP/2 for gRPC. */
  appPort: number;
}

/** Where to reach the proxy in front of one pod: its mutual-TLS inbound port. */
export interface Endpoint {
  pod: string;
  port: number;
}

export interface ProxyPorts {
  /** Mutual TLS, HTTP/2: traffic from other proxies. */
  inboundTls: number;
  /** Plaintext HTTP/1.1: traffic from unmeshed clients (the load generator). */
  inboundPlain: number;
  /** Per served pod, where its application sends outbound requests (HTTP/1.1 and gRPC). */
  outbound: Record<string, { http: number; grpc: number }>;
}

const propagator = new W3CTraceContextPropagator();

/** Bytes moved over one kind of connection: what closed connections moved, and the open ones. */
class ByteCounter {
  private read = 0;
  private written = 0;
  private readonly open = new Set<Socket>();

  add(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.read += socket.bytesRead;
      this.written += socket.bytesWritten;
      this.open.delete(socket);
    });
  }

  totals(): { read: number; written: number } {
    let read = this.read;
    let written = this.written;
    for (const s of this.open) {
      read += s.bytesRead;
      written += s.bytesWritten;
    }
    return { read, written };
  }
}

/**
 * A mesh proxy. Applications never talk to each other: their outbound requests go to their
 * proxy, which picks an instance of the destination service and forwards the request over
 * HTTP/2 with mutual TLS to that instance's proxy, which hands it to its application. Every hop
 * is a CLIENT span on one side and a SERVER span on the other (W3C trace context propagated),
 * counted in Linkerd-named metrics, and recorded as ground truth; so is every connection from
 * clients and to destinations that closes, or fails to open.
 */
export class MeshProxy {
  private readonly servers: (http.Server | Http2Server | Http2SecureServer)[] = [];
  private readonly sessions = new Map<string, ClientHttp2Session>();
  private readonly appSessions = new Map<string, ClientHttp2Session>();
  private readonly sockets = new Set<Socket>();
  private readonly counted = new WeakSet<Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly next = new Map<string, number>();
  /** How many times the proxy was stopped: a request that outlives a stop is not reported. */
  private stops = 0;
  /** Per served pod, bytes on its inbound connections and, by destination, on its outbound ones. */
  private readonly bytes = new Map<string, { inbound: ByteCounter; outbound: Map<string, ByteCounter> }>();

  constructor(
    private readonly served: ServedInstance[],
    private readonly registry: () => ReadonlyMap<string, Endpoint[]>,
    private readonly truth: TruthRecorder,
  ) {
    for (const s of served) {
      const counters = { inbound: new ByteCounter(), outbound: new Map<string, ByteCounter>() };
      this.bytes.set(s.instance.pod, counters);
      const meter = s.telemetry.meter;
      reportCertificateExpiry(meter, s.tls.cert);
      const read = meter.createObservableCounter('tcp_read_bytes_total', { description: 'Bytes read from TCP connections.', unit: 'By' });
      const written = meter.createObservableCounter('tcp_write_bytes_total', { description: 'Bytes written to TCP connections.', unit: 'By' });
      meter.addBatchObservableCallback(
        (r) => {
          const inbound = counters.inbound.totals();
          const attributes = { direction: 'inbound', peer: 'src' };
          r.observe(read, inbound.read, attributes);
          r.observe(written, inbound.written, attributes);
          for (const [dst, counter] of counters.outbound) {
            const outbound = counter.totals();
            const dstAttributes = { direction: 'outbound', peer: 'dst', dst_namespace: NAMESPACE, dst_deployment: dst };
            r.observe(read, outbound.read, dstAttributes);
            r.observe(written, outbound.written, dstAttributes);
          }
        },
        [read, written],
      );
    }
  }

  /** Starts listening; `ports` restarts a stopped proxy on the ports it had, so callers find it again. */
  async start(ports?: ProxyPorts): Promise<ProxyPorts> {
    const contexts = new Map(this.served.map((s) => [serviceHost(s.instance.service.name), tls.createSecureContext(s.tls)]));
    const first = this.served[0]!.tls;
    const inboundTls = http2.createSecureServer({
      ...first,
      requestCert: true,
      rejectUnauthorized: true,
      // A node proxy answers for every workload on its node, each with its own identity.
      SNICallback: (name, done) => done(null, contexts.get(name) ?? contexts.values().next().value),
    });
    // TLS connections are counted as they open, for the workload their SNI names; a session's
    // own `socket` is only a proxy that stops answering once the session closes.
    inboundTls.on('secureConnection', (socket: TLSSocket) => {
      const s = this.served.find((x) => serviceHost(x.instance.service.name) === socket.servername) ?? this.served[0]!;
      this.countConnection(s, socket, true);
    });
    inboundTls.on('stream', (stream, headers) => {
      void this.inbound(fromHttp2(stream, headers), stream.session!.socket, true);
    });
    const inboundPlain = http.createServer((req, res) => {
      void this.inbound(fromHttp1(req, res), req.socket, false);
    });
    const bound: ProxyPorts = {
      inboundTls: await this.listen(inboundTls, ports?.inboundTls),
      inboundPlain: await this.listen(inboundPlain, ports?.inboundPlain),
      outbound: {},
    };
    for (const s of this.served) {
      const outHttp = http.createServer((req, res) => {
        void this.outbound(s, fromHttp1(req, res));
      });
      const outGrpc = http2.createServer();
      outGrpc.on('stream', (stream, headers) => {
        void this.outbound(s, fromHttp2(stream, headers));
      });
      const previous = ports?.outbound[s.instance.pod];
      bound.outbound[s.instance.pod] = { http: await this.listen(outHttp, previous?.http), grpc: await this.listen(outGrpc, previous?.grpc) };
    }
    return bound;
  }

  /** Takes the proxy down: listeners closed, every connection cut (callers see it fail). */
  async stop(): Promise<void> {
    this.stops++;
    for (const s of this.sessions.values()) s.destroy();
    for (const s of this.appSessions.values()) s.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.sessions.clear();
    this.appSessions.clear();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.servers.length = 0;
  }

  private listen(server: http.Server | Http2Server | Http2SecureServer, port = 0): Promise<number> {
    this.servers.push(server);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  }

  /** A request for one of the served workloads, from another proxy (TLS) or an unmeshed client. */
  private async inbound(down: Downstream, socket: Socket, secured: boolean): Promise<void> {
    const service = serviceOfAuthority(down.authority);
    const s = this.served.find((x) => x.instance.service.name === service);
    if (s === undefined) {
      down.fail(404, 5, `no workload "${service}" behind this proxy`);
      return;
    }
    if (!secured) this.countConnection(s, socket, false);
    const peer = secured ? peerIdentity(socket as TLSSocket) : undefined;
    const peerWorkload = peer === undefined ? UNMESHED : workloadOfIdentity(peer);
    const attributes: Attributes = {
      ...requestAttributes(down),
      'tls.established': secured,
      'client.address': socket.remoteAddress ?? '',
      'server.address': serviceHost(service),
    };
    if (peer !== undefined) attributes['tls.client.subject'] = `CN=${peer}`;
    const metricAttributes = { direction: 'inbound', tls: String(secured) };
    await this.handle(s, down, SpanKind.SERVER, attributes, metricAttributes, (headers) => {
      if (s.instance.service.protocol === 'grpc') return sendHttp2(this.appSession(s), down, headers);
      return sendHttp1(s.appPort, down, headers, this.agent);
    }, (failed, sampled, ms) => this.truth.record({ direction: 'inbound', src: peerWorkload, dst: service, tls: secured }, failed, sampled, ms));
  }

  /** A request from a served application to another service. */
  private async outbound(s: ServedInstance, down: Downstream): Promise<void> {
    const dst = serviceOfAuthority(down.authority);
    const endpoints = this.registry().get(dst) ?? [];
    const attributes: Attributes = {
      ...requestAttributes(down),
      'tls.established': true,
      'server.address': serviceHost(dst),
      'peer.service': dst,
    };
    const metricAttributes = { direction: 'outbound', tls: 'true', dst_namespace: NAMESPACE, dst_deployment: dst };
    await this.handle(s, down, SpanKind.CLIENT, attributes, metricAttributes, (headers) => {
      if (endpoints.length === 0) throw new Error(`no endpoints for service "${dst}"`);
      const i = (this.next.get(dst) ?? 0) % endpoints.length;
      this.next.set(dst, i + 1);
      return sendHttp2(this.session(s, endpoints[i]!, dst), { ...down, authority: serviceHost(dst) }, headers);
    }, (failed, sampled, ms) => this.truth.record({ direction: 'outbound', src: s.instance.service.name, dst, tls: true }, failed, sampled, ms));
  }

  /**
   * The part of a hop common to both directions: a span child of the caller's trace context, that
   * context passed on, the request counted, forwarded, answered, and its outcome recorded.
   */
  private async handle(
    s: ServedInstance,
    down: Downstream,
    kind: SpanKind,
    attributes: Attributes,
    metricAttributes: Record<string, string>,
    send: (headers: Headers) => Promise<UpstreamResponse>,
    recordTruth: (failed: boolean, sampled: boolean, ms: number) => void,
  ): Promise<void> {
    const started = performance.now();
    const stops = this.stops;
    const { tracer, instruments } = s.telemetry;
    const parent = propagator.extract(ROOT_CONTEXT, down.headers, defaultTextMapGetter);
    const span = tracer.startSpan(spanName(down), { kind, attributes }, parent);
    const headers: Headers = { ...down.headers };
    delete headers.traceparent;
    delete headers.tracestate;
    propagator.inject(trace.setSpan(parent, span), headers, defaultTextMapSetter);
    instruments.requests.add(1, metricAttributes);

    let outcome: Outcome;
    try {
      outcome = await down.respond(await send(headers));
    } catch (e) {
      outcome = down.fail(503, 14, `upstream unavailable: ${(e as Error).message}`);
      span.recordException(e as Error);
    }
    // Stopped mid-request, the proxy reports nothing of it, as a killed one would not: its
    // callers see the request fail, and count it.
    if (this.stops !== stops) return;
    const ms = performance.now() - started;
    const failed = outcome.grpcStatus !== undefined ? outcome.grpcStatus !== 0 : outcome.status >= 500;
    const sampled = span.isRecording();
    finishSpan(span, down, outcome, failed);
    const labels = {
      ...metricAttributes,
      classification: failed ? 'failure' : 'success',
      status_code: String(outcome.status),
      ...(outcome.grpcStatus !== undefined ? { grpc_status: String(outcome.grpcStatus) } : {}),
    };
    instruments.responses.add(1, labels);
    instruments.latency.record(ms, labels);
    recordTruth(failed, sampled, ms);
  }

  /** The pooled TLS session to one destination pod's proxy, as the calling workload. */
  private session(s: ServedInstance, endpoint: Endpoint, dst: string): ClientHttp2Session {
    const key = `${s.instance.pod}>${endpoint.pod}`;
    const existing = this.sessions.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`https://127.0.0.1:${endpoint.port}`, { ...s.tls, servername: serviceHost(dst) });
    const attributes = { direction: 'outbound', peer: 'dst', tls: 'true', dst_namespace: NAMESPACE, dst_deployment: dst };
    let connected = false;
    let errno = '';
    // The raw socket: the one session.socket proxies is unbound once the session closes.
    session.once('connect', (_session: ClientHttp2Session, socket: Socket) => {
      connected = true;
      const counters = this.bytes.get(s.instance.pod)!.outbound;
      if (!counters.has(dst)) counters.set(dst, new ByteCounter());
      counters.get(dst)!.add(socket);
      s.telemetry.instruments.openConnections.add(1, attributes);
    });
    session.on('error', (e: Error) => {
      errno ||= errnoOf(e);
    });
    session.once('close', () => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      if (connected) s.telemetry.instruments.openConnections.add(-1, attributes);
      // A session that never connected is a connection only if connecting failed.
      if (connected || errno !== '') this.connectionClosed(s, attributes, { direction: 'outbound', src: s.instance.service.name, dst, tls: true }, errno);
    });
    this.sessions.set(key, session);
    return session;
  }

  /** The cleartext HTTP/2 session to a served gRPC application. */
  private appSession(s: ServedInstance): ClientHttp2Session {
    const existing = this.appSessions.get(s.instance.pod);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://127.0.0.1:${s.appPort}`);
    session.on('error', () => {});
    session.once('close', () => {
      if (this.appSessions.get(s.instance.pod) === session) this.appSessions.delete(s.instance.pod);
    });
    this.appSessions.set(s.instance.pod, session);
    return session;
  }

  /** Counts an inbound connection once (plaintext ones at their first request), until it closes. */
  private countConnection(s: ServedInstance, socket: Socket, secured: boolean): void {
    if (this.counted.has(socket)) return;
    this.counted.add(socket);
    const attributes = { direction: 'inbound', peer: 'src', tls: String(secured) };
    const peer = secured ? peerIdentity(socket as TLSSocket) : undefined;
    const key: TruthKey = { direction: 'inbound', src: peer === undefined ? UNMESHED : workloadOfIdentity(peer), dst: s.instance.service.name, tls: secured };
    this.bytes.get(s.instance.pod)!.inbound.add(socket);
    s.telemetry.instruments.openConnections.add(1, attributes);
    let errno = '';
    socket.on('error', (e: Error) => {
      errno ||= errnoOf(e);
    });
    socket.once('close', () => {
      s.telemetry.instruments.openConnections.add(-1, attributes);
      this.connectionClosed(s, attributes, key, errno);
    });
  }

  /** Counts a closed connection (`errno` empty when it closed cleanly) in `tcp_close_total` and the truth. */
  private connectionClosed(s: ServedInstance, attributes: Record<string, string>, key: TruthKey, errno: string): void {
    s.telemetry.instruments.closedConnections.add(1, { ...attributes, errno });
    this.truth.recordClose(key, errno !== '');
  }
}

/** The mesh identity a TLS peer presented (its certificate's subject CN), if any. */
function peerIdentity(socket: TLSSocket): string | undefined {
  const cn: string | string[] | undefined = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** `auth` from `auth.default.serviceaccount.identity.meshtel.cluster.local`. */
function workloadOfIdentity(identity: string): string {
  return identity.split('.')[0]!;
}

/** What `tcp_close_total`'s `errno` says about an error: its code (`ECONNRESET`), else `UNKNOWN`. */
function errnoOf(e: Error): string {
  return (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
}

/** Span names without ids in them: `GET /v1/auth/{id}`, or the gRPC method `score.v1.Score/Set`. */
function spanName(down: Downstream): string {
  return down.grpc ? down.path.slice(1) : `${down.method} ${route(down.path)}`;
}

function route(path: string): string {
  return path.split('?', 1)[0]!.replace(/\/\d+(?=\/|$)/g, '/{id}');
}

function requestAttributes(down: Downstream): Attributes {
  if (down.grpc) {
    const [service, method] = down.path.slice(1).split('/');
    return { 'rpc.system': 'grpc', 'rpc.service': service ?? '', 'rpc.method': method ?? '', 'network.protocol.name': 'http' };
  }
  return { 'http.request.method': down.method, 'url.path': down.path.split('?', 1)[0]!, 'http.route': route(down.path), 'network.protocol.name': 'http' };
}

function finishSpan(span: Span, down: Downstream, outcome: Outcome, failed: boolean): void {
  if (down.grpc) span.setAttribute('rpc.grpc.status_code', outcome.grpcStatus ?? 2);
  else span.setAttribute('http.response.status_code', outcome.status);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
