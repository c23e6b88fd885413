import { SpanKind, SpanStatusCode, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Random } from './random.js';
import type { Call, Pod, Service, Topology } from './topology.js';

/**
 * Every trace id starts with these 4 bytes, followed by a 4-byte epoch (zero when generated) and
 * 8 random bytes. The load driver rewrites the epoch each time it resends the payloads, so trace
 * ids stay unique over a run and every CLIENT/SERVER pair completes exactly once per send.
 */
export const TRACE_ID_MARKER = Buffer.from('be4c7a11', 'hex');

/** A generated span and the pod that emitted it. */
export interface SpanRecord {
  span: ReadableSpan;
  pod: Pod;
}

const SCOPE = { name: 'meshtel-bench-proxy', version: '1.0.0' };
/** Calls a service makes per request, taken round-robin from its downstream list. */
const FANOUT = 2;
const DB_CALL_CHANCE = 0.3;

interface TraceState {
  traceId: string;
  budget: number;
  out: SpanRecord[];
}

/**
 * Generates traces through a topology: a root SERVER span on a gateway (a request from outside,
 * the `user` node), then for every hop a CLIENT span on the caller's pod and a SERVER span on
 * the callee's pod, its child, with HTTP or gRPC attributes, `tls.established`, failures; leaf
 * services also call their database (a CLIENT span nothing answers: a virtual node).
 */
export class TraceGenerator {
  /** Distinct service-graph edges the generated spans exercise (`client -> server`). */
  readonly edges = new Set<string>();
  private readonly rnd: Random;

  constructor(
    private readonly topology: Topology,
    seed: number,
    private readonly startMs: number,
  ) {
    this.rnd = new Random(seed);
  }

  /** Appends one trace of at most `budget` spans (at least 1) to `out`; returns its span count. */
  trace(budget: number, out: SpanRecord[]): number {
    const rnd = this.rnd;
    const state: TraceState = { traceId: TRACE_ID_MARKER.toString('hex') + '00000000' + rnd.hex(8), budget: budget - 1, out };
    const before = out.length;
    const gateway = rnd.pick(this.topology.gateways);
    const pod = rnd.pick(gateway.pods);
    const spanId = rnd.hex(8);
    const start = this.startMs + rnd.next() * 1000;
    const operation = rnd.pick(gateway.operations);
    this.edges.add(`user -> ${gateway.name}`);
    const end = this.serve(gateway, pod, spanId, start, state);
    // Spans are appended as they end, children first, as an SDK's batch processor exports them.
    out.push({
      pod,
      span: span(state.traceId, spanId, undefined, SpanKind.SERVER, operation, start, end, false, serverAttributes(gateway, undefined, operation, false, true), pod),
    });
    return out.length - before;
  }

  /** The work a server span covers: its own, then its calls in sequence. Returns its end time. */
  private serve(service: Service, pod: Pod, serverSpanId: string, start: number, state: TraceState): number {
    const rnd = this.rnd;
    let t = start + rnd.latency(service.workMs) * 0.3;
    for (let i = 0; i < Math.min(FANOUT, service.calls.length) && state.budget >= 2; i++) {
      const call = service.calls[service.cursor++ % service.calls.length]!;
      t = this.hop(service, pod, serverSpanId, call, t, state);
    }
    const db = service.database;
    if (db !== undefined && state.budget >= 1 && rnd.chance(DB_CALL_CHANCE)) {
      state.budget -= 1;
      this.edges.add(`${service.name} -> ${db.name}`);
      const end = t + rnd.latency(1.5);
      const attrs: Attributes = {
        'db.system.name': db.system,
        'db.namespace': db.name,
        'db.operation.name': rnd.pick(['SELECT', 'INSERT', 'UPDATE']),
        'db.collection.name': service.name,
        'server.address': db.address,
        'server.port': 5432,
        'network.peer.address': `10.${rnd.int(256)}.${rnd.int(256)}.${rnd.int(256)}`,
        'network.transport': 'tcp',
        'tls.established': false,
      };
      state.out.push({ pod, span: span(state.traceId, rnd.hex(8), serverSpanId, SpanKind.CLIENT, db.system, t, end, false, attrs, pod) });
      t = end;
    }
    return t + rnd.latency(service.workMs) * 0.7;
  }

  /** One call: the caller's CLIENT span and the callee's SERVER span. Returns the client's end. */
  private hop(caller: Service, callerPod: Pod, parentId: string, call: Call, start: number, state: TraceState): number {
    const rnd = this.rnd;
    state.budget -= 2;
    const callee = call.to;
    this.edges.add(`${caller.name} -> ${callee.name}`);
    const calleePod = rnd.pick(callee.pods);
    const clientId = rnd.hex(8);
    const serverId = rnd.hex(8);
    const operation = rnd.pick(callee.operations);
    const failed = rnd.chance(call.errorRate);
    const tls = caller.meshed && callee.meshed;
    const network = rnd.latency(0.3);
    const serverStart = start + network / 2;
    const serverEnd = this.serve(callee, calleePod, serverId, serverStart, state);
    const end = serverEnd + network / 2;
    const clientName = callee.protocol === 'grpc' ? operation : operation.slice(0, operation.indexOf(' '));
    state.out.push({
      pod: calleePod,
      span: span(state.traceId, serverId, clientId, SpanKind.SERVER, operation, serverStart, serverEnd, failed, serverAttributes(callee, caller, operation, failed, tls), calleePod),
    });
    state.out.push({
      pod: callerPod,
      span: span(state.traceId, clientId, parentId, SpanKind.CLIENT, clientName, start, end, failed, clientAttributes(caller, callee, operation, failed, tls), callerPod),
    });
    return end;
  }
}

function clientAttributes(caller: Service, callee: Service, operation: string, failed: boolean, tls: boolean): Attributes {
  const host = `${callee.name}.${callee.namespace}.svc.cluster.local`;
  const common = {
    'server.address': host,
    'service.peer.name': callee.name,
    'tls.established': tls,
    'network.protocol.name': 'http',
  };
  if (callee.protocol === 'grpc') {
    const [service, method] = operation.split('/') as [string, string];
    return {
      ...common,
      'server.port': 8080,
      'rpc.system': 'grpc',
      'rpc.service': service,
      'rpc.method': method,
      'rpc.grpc.status_code': failed ? 14 : 0,
      'network.protocol.version': '2',
      'upstream.cluster': `outbound|8080||${host}`,
    };
  }
  const [method, route] = operation.split(' ') as [string, string];
  return {
    ...common,
    'server.port': 80,
    'http.request.method': method,
    'url.full': `http://${host}${route.replace('{id}', '42')}`,
    'http.response.status_code': failed ? 503 : 200,
    'network.protocol.version': '1.1',
    'user_agent.original': `${caller.name}/1.0`,
  };
}

function serverAttributes(service: Service, caller: Service | undefined, operation: string, failed: boolean, tls: boolean): Attributes {
  const common = {
    'tls.established': tls,
    'client.address': `10.${caller === undefined ? 0 : 1}.${operation.length}.${service.name.length}`,
    'network.protocol.name': 'http',
    ...(tls && caller !== undefined ? { 'tls.client.subject': `spiffe://cluster.local/ns/${caller.namespace}/sa/${caller.name}` } : {}),
  };
  if (service.protocol === 'grpc') {
    const [rpcService, method] = operation.split('/') as [string, string];
    return {
      ...common,
      'rpc.system': 'grpc',
      'rpc.service': rpcService,
      'rpc.method': method,
      'rpc.grpc.status_code': failed ? 14 : 0,
      'network.protocol.version': '2',
      'server.port': 8080,
    };
  }
  const [method, route] = operation.split(' ') as [string, string];
  return {
    ...common,
    'http.request.method': method,
    'http.route': route,
    'url.path': route.replace('{id}', '42'),
    'url.scheme': 'http',
    'http.response.status_code': failed ? 503 : 200,
    'network.protocol.version': '1.1',
  };
}

function span(
  traceId: string,
  spanId: string,
  parentId: string | undefined,
  kind: SpanKind,
  name: string,
  startMs: number,
  endMs: number,
  failed: boolean,
  attributes: Attributes,
  pod: Pod,
): ReadableSpan {
  const context: SpanContext = { traceId, spanId, traceFlags: 1 };
  return {
    name,
    kind,
    spanContext: () => context,
    // A server span's parent is the caller's client span, in another process: remote.
    parentSpanContext: parentId === undefined ? undefined : { traceId, spanId: parentId, traceFlags: 1, isRemote: kind === SpanKind.SERVER },
    startTime: hrTime(startMs),
    endTime: hrTime(endMs),
    duration: hrTime(endMs - startMs),
    status: failed ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource: pod.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6))];
}
