import { describe, expect, it } from 'vitest';
import { SpanFacts } from '../../../collector/aggregation/span-facts.js';
import { probabilityFromTraceState } from '../../../collector/aggregation/span-semantics.js';
import { workloadOf, workloadOfAddress } from '../../../collector/aggregation/identity.js';
import type { AnyValue } from '../../../collector/model/common.js';
import type { Span } from '../../../collector/model/traces.js';

const facts = new SpanFacts(['peer.service', 'server.address']);
const spanFailed = (s: Span) => facts.read(s).failed;
const samplingWeight = (s: Span) => facts.read(s).weight;

function span(attributes: Record<string, AnyValue>, status = 0, traceState = ''): Span {
  return {
    traceId: '0'.repeat(31) + '1',
    spanId: '0'.repeat(15) + '1',
    traceState,
    parentSpanId: '',
    flags: 0,
    name: 's',
    kind: 2,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 1n,
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: status as 0 | 1 | 2, message: '' },
  };
}

describe('spanFailed (gRPC status, else HTTP 5xx, else span status)', () => {
  it('uses the gRPC status first, whatever HTTP and the span status say', () => {
    expect(spanFailed(span({ 'rpc.grpc.status_code': 14n, 'http.response.status_code': 200n }))).toBe(true);
    expect(spanFailed(span({ 'rpc.grpc.status_code': 0n }, 2))).toBe(false);
    expect(spanFailed(span({ 'rpc.response.status_code': 'UNAVAILABLE' }))).toBe(true);
    expect(spanFailed(span({ 'rpc.response.status_code': 'OK' }, 2))).toBe(false);
  });
  it('uses the HTTP status next: 5xx fails, 4xx does not', () => {
    expect(spanFailed(span({ 'http.response.status_code': 503n }))).toBe(true);
    expect(spanFailed(span({ 'http.status_code': 500n }))).toBe(true);
    expect(spanFailed(span({ 'http.response.status_code': 404n }, 2))).toBe(false);
    expect(spanFailed(span({ 'http.response.status_code': '502' }))).toBe(true);
  });
  it('falls back to the span status', () => {
    expect(spanFailed(span({}, 2))).toBe(true);
    expect(spanFailed(span({}, 1))).toBe(false);
    expect(spanFailed(span({}, 0))).toBe(false);
  });
});

describe('sampling weight', () => {
  it('reads the OpenTelemetry th threshold: p = 1 - T/2^56', () => {
    expect(probabilityFromTraceState('ot=th:8')).toBe(0.5);
    expect(probabilityFromTraceState('ot=th:c')).toBe(0.25);
    expect(probabilityFromTraceState('ot=th:0')).toBe(1);
    expect(probabilityFromTraceState('vendor=x, ot=rv:abcdef12345678;th:e6')).toBeCloseTo(0.1015625, 10);
    expect(samplingWeight(span({}, 0, 'ot=th:c'))).toBe(4);
  });
  it('reads the older p: form (p = 2^-n)', () => {
    expect(probabilityFromTraceState('ot=p:3')).toBe(0.125);
  });
  it('falls back to span attributes, then counts once', () => {
    expect(samplingWeight(span({ 'sampling.probability': 0.1 }))).toBeCloseTo(10, 10);
    expect(samplingWeight(span({ 'sampler.type': 'probabilistic', 'sampler.param': 0.5 }))).toBe(2);
    expect(samplingWeight(span({}))).toBe(1);
  });
  it('ignores invalid values instead of inflating counts', () => {
    expect(samplingWeight(span({ 'sampling.probability': 0 }))).toBe(1);
    expect(samplingWeight(span({ 'sampling.probability': 7 }))).toBe(1);
    expect(probabilityFromTraceState('ot=th:zz')).toBeUndefined();
    expect(probabilityFromTraceState('other=th:8')).toBeUndefined();
  });
});

describe('peer and database attributes', () => {
  it('takes the first configured peer attribute present, in configured order', () => {
    expect(facts.read(span({ 'server.address': 'auth.prod', 'peer.service': 'auth' })).peer).toBe('auth');
    expect(facts.read(span({ 'server.address': 'auth.prod' })).peer).toBe('auth.prod');
    expect(facts.read(span({ 'peer.service': '' })).peer).toBeUndefined();
  });
  it('reads new and old database and messaging attributes, new ones first', () => {
    const f = facts.read(span({ 'db.system': 'mysql', 'db.system.name': 'postgresql', 'db.name': 'old', 'db.namespace': 'scores' }));
    expect([f.dbSystem, f.dbName]).toEqual(['postgresql', 'scores']);
    const m = facts.read(span({ 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' }));
    expect([m.messagingSystem, m.messagingDestination]).toEqual(['kafka', 'orders']);
  });
  it('reads tls.established as a boolean or its string, and durations exactly', () => {
    expect(facts.read(span({ 'tls.established': true })).tls).toBe(true);
    expect(facts.read(span({ 'tls.established': 'false' })).tls).toBe(false);
    expect(facts.read(span({})).tls).toBeUndefined();
    const s = span({});
    s.endTimeUnixNano = 5_000_000n;
    expect([facts.read(s).milliseconds, facts.read(s).seconds]).toEqual([5, 0.005]);
  });
});

describe('workload identity', () => {
  const kv = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));
  it('prefers service.name, then the Kubernetes workload name; namespace from k8s, then service.namespace', () => {
    expect(workloadOf(kv({ 'service.name': 'auth', 'k8s.namespace.name': 'prod', 'service.namespace': 'x' }))).toEqual({ namespace: 'prod', name: 'auth' });
    expect(workloadOf(kv({ 'service.name': 'unknown_service:node', 'k8s.deployment.name': 'web' }))).toEqual({ namespace: 'default', name: 'web' });
    expect(workloadOf(kv({ 'k8s.statefulset.name': 'db', 'service.namespace': 'data' }))).toEqual({ namespace: 'data', name: 'db' });
    expect(workloadOf([])).toEqual({ namespace: 'default', name: 'unknown_service' });
  });
  it('resolves Kubernetes service DNS names to service and namespace', () => {
    expect(workloadOfAddress('auth', 'prod')).toEqual({ namespace: 'prod', name: 'auth' });
    expect(workloadOfAddress('auth.payments', 'prod')).toEqual({ namespace: 'payments', name: 'auth' });
    expect(workloadOfAddress('auth.payments.svc.cluster.local:8080', 'prod')).toEqual({ namespace: 'payments', name: 'auth' });
    expect(workloadOfAddress('api.example.com', 'prod')).toEqual({ namespace: '', name: 'api.example.com' });
    expect(workloadOfAddress('10.0.0.7', 'prod')).toEqual({ namespace: '', name: '10.0.0.7' });
  });
});
