import type { AnyValue } from '../model/common.js';
import { StatusCode, type Span } from '../model/traces.js';
import { grpcStatusFailed, probabilityFromTraceState } from './span-semantics.js';

/** Attributes the aggregation reads from spans, by a small code for the switch below. */
const Key = {
  GrpcStatus: 0,
  RpcResponseStatus: 1,
  HttpStatus: 2,
  HttpStatusOld: 3,
  TlsEstablished: 4,
  SamplingProbability: 5,
  SamplerType: 6,
  SamplerParam: 7,
  DbSystem: 8,
  DbSystemOld: 9,
  DbNamespace: 10,
  DbNameOld: 11,
  MessagingSystem: 12,
  MessagingDestination: 13,
  /** Configured peer attributes come after the fixed ones, in their configured order. */
  Peer: 14,
} as const;

const FIXED_KEYS: readonly [string, number][] = [
  ['rpc.grpc.status_code', Key.GrpcStatus],
  ['rpc.response.status_code', Key.RpcResponseStatus],
  ['http.response.status_code', Key.HttpStatus],
  ['http.status_code', Key.HttpStatusOld],
  ['tls.established', Key.TlsEstablished],
  ['sampling.probability', Key.SamplingProbability],
  ['sampler.type', Key.SamplerType],
  ['sampler.param', Key.SamplerParam],
  ['db.system.name', Key.DbSystem],
  ['db.system', Key.DbSystemOld],
  ['db.namespace', Key.DbNamespace],
  ['db.name', Key.DbNameOld],
  ['messaging.system', Key.MessagingSystem],
  ['messaging.destination.name', Key.MessagingDestination],
];

/**
 * What the aggregation needs to know about one span, read in a single pass over its
 * attributes (span metrics, the service graph and the query windows all share it):
 * - `failed`: the gRPC status when there is one, else the HTTP status (5xx), else span status ERROR;
 * - `weight`: requests the span stands for, 1 / its sampling probability, from tracestate
 *   `ot=th:`/`ot=p:`, else `sampling.probability`, else Jaeger's probabilistic `sampler.param`;
 * - `tls`: `tls.established`, undefined when absent;
 * - the attributes that name an uninstrumented peer (database, messaging, `peer.service`...).
 * A SpanFacts is reused from span to span: copy what you keep.
 */
export class SpanFacts {
  failed = false;
  weight = 1;
  tls: boolean | undefined = undefined;
  seconds = 0;
  milliseconds = 0;
  startMs = 0;
  /** The first configured peer attribute present (`peer.service`, `server.address`...). */
  peer: string | undefined = undefined;
  dbSystem: string | undefined = undefined;
  dbName: string | undefined = undefined;
  messagingSystem: string | undefined = undefined;
  messagingDestination: string | undefined = undefined;

  private readonly keys: Map<string, number>;

  /** `peerAttributes`: attributes naming a client span's peer, first match wins. */
  constructor(peerAttributes: readonly string[]) {
    this.keys = new Map<string, number>(FIXED_KEYS);
    peerAttributes.forEach((k, i) => {
      if (!this.keys.has(k)) this.keys.set(k, Key.Peer + i);
    });
  }

  read(span: Span): this {
    let grpc: boolean | undefined;
    let rpcResponse: boolean | undefined;
    let http: number | undefined;
    let httpOld: number | undefined;
    let tls: boolean | undefined;
    let probability: number | undefined;
    let samplerType: AnyValue | undefined;
    let samplerParam: number | undefined;
    let dbSystem: string | undefined;
    let dbSystemOld: string | undefined;
    let dbNamespace: string | undefined;
    let dbNameOld: string | undefined;
    let messagingSystem: string | undefined;
    let messagingDestination: string | undefined;
    let peer: string | undefined;
    let peerRank = Infinity;

    const attributes = span.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const kv = attributes[i]!;
      const key = this.keys.get(kv.key);
      if (key === undefined) continue;
      const v = kv.value;
      switch (key) {
        case Key.GrpcStatus:
          grpc = grpcStatusFailed(v);
          break;
        case Key.RpcResponseStatus:
          rpcResponse = grpcStatusFailed(v);
          break;
        case Key.HttpStatus:
          http = toNumber(v);
          break;
        case Key.HttpStatusOld:
          httpOld = toNumber(v);
          break;
        case Key.TlsEstablished:
          tls = v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined;
          break;
        case Key.SamplingProbability:
          probability = toNumber(v);
          break;
        case Key.SamplerType:
          samplerType = v;
          break;
        case Key.SamplerParam:
          samplerParam = toNumber(v);
          break;
        case Key.DbSystem:
          dbSystem = nonEmpty(v);
          break;
        case Key.DbSystemOld:
          dbSystemOld = nonEmpty(v);
          break;
        case Key.DbNamespace:
          dbNamespace = nonEmpty(v);
          break;
        case Key.DbNameOld:
          dbNameOld = nonEmpty(v);
          break;
        case Key.MessagingSystem:
          messagingSystem = nonEmpty(v);
          break;
        case Key.MessagingDestination:
          messagingDestination = nonEmpty(v);
          break;
        default: {
          const s = nonEmpty(v);
          if (s !== undefined && key < peerRank) {
            peer = s;
            peerRank = key;
          }
        }
      }
    }

    const grpcFailed = grpc ?? rpcResponse;
    const status = http ?? httpOld;
    this.failed = grpcFailed ?? (status !== undefined ? status >= 500 : span.status.code === StatusCode.ERROR);
    this.weight = weightOf(span.traceState, probability, samplerType, samplerParam);
    this.tls = tls;
    const ns = span.endTimeUnixNano - span.startTimeUnixNano;
    const duration = ns > 0n ? Number(ns) : 0;
    this.seconds = duration / 1e9;
    this.milliseconds = duration / 1e6;
    this.startMs = Number(span.startTimeUnixNano) / 1e6;
    this.peer = peer;
    this.dbSystem = dbSystem ?? dbSystemOld;
    this.dbName = dbNamespace ?? dbNameOld;
    this.messagingSystem = messagingSystem;
    this.messagingDestination = messagingDestination;
    return this;
  }
}

function weightOf(traceState: string, probability: number | undefined, samplerType: AnyValue | undefined, samplerParam: number | undefined): number {
  if (traceState !== '') {
    const p = probabilityFromTraceState(traceState);
    if (p !== undefined) return 1 / p;
  }
  if (probability !== undefined) return probability > 0 && probability <= 1 ? 1 / probability : 1;
  if (samplerType === 'probabilistic' && samplerParam !== undefined && samplerParam > 0 && samplerParam <= 1) return 1 / samplerParam;
  return 1;
}

/** Ints, doubles and numeric strings (some instrumentations send status codes as strings). */
function toNumber(v: AnyValue): number | undefined {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function nonEmpty(v: AnyValue): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
