/**
 * ThriftTransport's outcomes against the stand-ins: which answers are retried (429/502/503/504,
 * connection errors, timeouts) and which are permanent, Retry-After as data, cancellation, a
 * batch of several resources arriving once across retries, what a Thrift Batch cannot hold
 * rejected and counted, TLS with a CA of the test's own and the configured headers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../collector/config/schema.js';
import type { Resource } from '../../../collector/model/common.js';
import { SpanKind, StatusCode, type Span, type TracesData } from '../../../collector/model/traces.js';
import type { TraceExporterConfig } from '../../../exporters/jaeger/config.js';
import { ThriftTransport } from '../../../exporters/jaeger/thrift-transport.js';
import { JaegerAgentStandin, JaegerThriftHttpStandin, jaegerSpans, loopbackCertificates, type HttpStandinOptions } from '../../support/jaeger-standins.js';
import { waitFor } from '../../support/processes.js';

const T0 = 1_700_000_000_000_000_000n;

function span(i: number, attributes: Span['attributes'] = []): Span {
  return {
    traceId: (0xabc000 + Math.floor(i / 4)).toString(16).padStart(32, '0'),
    spanId: (0x10000 + i).toString(16).padStart(16, '0'),
    traceState: '',
    parentSpanId: '',
    flags: 1,
    name: `op-${i}`,
    kind: SpanKind.SERVER,
    startTimeUnixNano: T0 + BigInt(i) * 1_000n,
    endTimeUnixNano: T0 + BigInt(i) * 1_000n + 500_000n,
    attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: StatusCode.UNSET, message: '' },
  };
}

const resource = (service: string): Resource => ({ attributes: [{ key: 'service.name', value: service }], droppedAttributesCount: 0 });

/** `groups` resources of `perGroup` spans each. */
function data(groups: number, perGroup: number, make = (i: number) => span(i)): TracesData {
  return {
    resourceSpans: Array.from({ length: groups }, (_, g) => ({
      resource: resource(`svc-${g}`),
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: Array.from({ length: perGroup }, (_, i) => make(g * perGroup + i)) }],
    })),
  };
}

function config(endpoint: string, extra: Record<string, unknown> = {}): TraceExporterConfig {
  return configSchema.parse({ exporters: { traces: [{ endpoint, ...extra }] } }).exporters.traces[0]!;
}

const never = new AbortController().signal;

describe('ThriftTransport over HTTP', () => {
  let standin: JaegerThriftHttpStandin;
  let transport: ThriftTransport | undefined;
  const start = async (options: HttpStandinOptions = {}) => (standin = await new JaegerThriftHttpStandin(options).start());
  afterEach(async () => {
    await transport?.shutdown();
    transport = undefined;
    await standin.stop();
  });

  it('retries only 429, 502, 503 and 504, with their Retry-After; every other failure is permanent', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint));
    const outcomes: Record<number, unknown> = {};
    for (const status of [200, 202, 400, 401, 403, 404, 413, 500, 501, 429, 502, 503, 504]) {
      const headers: Record<string, string> = status === 503 ? { 'retry-after': '7' } : status === 429 ? { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } : {};
      standin.answer = () => ({ status, headers });
      const r = await transport.send(data(1, 1), 1, never);
      outcomes[status] = r.kind === 'retryable' ? [r.kind, r.error, r.retryAfterMs === undefined ? undefined : Math.round(r.retryAfterMs / 10_000) * 10] : r.kind === 'failure' ? [r.kind, r.error] : [r.kind, r.rejected];
    }
    const host = new URL(standin.endpoint).host;
    expect(outcomes).toEqual({
      200: ['success', 0],
      202: ['success', 0],
      400: ['failure', `${host} answered 400`],
      401: ['failure', `${host} answered 401`],
      403: ['failure', `${host} answered 403`],
      404: ['failure', `${host} answered 404`],
      413: ['failure', `${host} answered 413`],
      500: ['failure', `${host} answered 500`],
      501: ['failure', `${host} answered 501`],
      429: ['retryable', `${host} answered 429`, 60],
      502: ['retryable', `${host} answered 502`, undefined],
      503: ['retryable', `${host} answered 503`, 10],
      504: ['retryable', `${host} answered 504`, undefined],
    });
    // Retry-After in seconds, exactly.
    standin.answer = () => ({ status: 503, headers: { 'retry-after': '7' } });
    expect(await transport.send(data(1, 1), 1, never)).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
  });

  it('retries a refused connection and a backend that never answers (after the timeout), and gives up at once on abort', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint, { timeout: '300ms' }));
    standin.answer = () => ({ status: 200, hang: true });
    const t0 = performance.now();
    const hung = await transport.send(data(1, 1), 1, never);
    const took = performance.now() - t0;
    expect(hung).toEqual({ kind: 'retryable', error: `${new URL(standin.endpoint).host}: no answer within 300 ms` });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);

    transport = new ThriftTransport(config(standin.endpoint, { timeout: '30s' }));
    const abort = new AbortController();
    const sending = transport.send(data(1, 1), 1, abort.signal);
    await waitFor('the request to arrive', () => (standin.requests.length === 2 ? true : undefined), 5_000, 5);
    const t1 = performance.now();
    abort.abort();
    expect((await sending).kind).toBe('retryable');
    expect(performance.now() - t1).toBeLessThan(500);

    await standin.stop();
    const refused = await transport.send(data(1, 1), 1, never);
    expect(refused.kind).toBe('retryable');
    expect(refused.kind === 'retryable' && refused.error).toMatch(/ECONNREFUSED/);
  });

  it('sends each resource as its own Batch and, retried, only those not yet sent: every span once', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint));
    const batch = data(3, 5);
    standin.answer = (n) => ({ status: n === 2 ? 503 : 200 });
    expect((await transport.send(batch, 15, never)).kind).toBe('retryable');
    expect(standin.spans).toBe(5);
    expect(await transport.send(batch, 15, never)).toEqual({ kind: 'success', rejected: 0 });
    expect(standin.requests.map((r) => [r.status, r.spans])).toEqual([
      [200, 5],
      [503, 0],
      [200, 5],
      [200, 5],
    ]);
    const ids = jaegerSpans(standin.accepted).map((s) => s.span.spanId);
    expect(new Set(ids).size).toBe(15);
    expect(ids).toHaveLength(15);
    expect(standin.accepted.map((b) => b.process.serviceName)).toEqual(['svc-0', 'svc-1', 'svc-2']);
  });

  it('counts a resource the backend refused for good as rejected, and fails the batch only when nothing got through', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint));
    standin.answer = (n) => ({ status: n === 2 ? 400 : 200 });
    expect(await transport.send(data(3, 4), 12, never)).toEqual({ kind: 'success', rejected: 4 });
    standin.answer = () => ({ status: 400 });
    expect(await transport.send(data(2, 4), 8, never)).toEqual({ kind: 'failure', error: `${new URL(standin.endpoint).host} answered 400` });
  });

  it('rejects spans whose ids Thrift cannot carry, and sends the rest', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint));
    const batch = data(1, 3, (i) => (i === 1 ? { ...span(i), traceId: 'ab'.repeat(8) } : i === 2 ? { ...span(i), parentSpanId: 'abc' } : span(i)));
    expect(await transport.send(batch, 3, never)).toEqual({ kind: 'success', rejected: 2 });
    expect(jaegerSpans(standin.accepted).map((s) => s.span.operationName)).toEqual(['op-0']);
  });

  it('sends the configured headers and trusts the configured CA; without them: 401 (permanent), TLS error (retryable)', async () => {
    const pki = await loopbackCertificates();
    const dir = mkdtempSync(join(tmpdir(), 'meshtel-thrift-tls-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), pki.ca);
      await start({ tls: { cert: pki.cert, key: pki.key }, requiredHeaders: { authorization: 'Bearer s3cret', 'x-scope-orgid': 'mesh' } });
      expect(standin.endpoint).toMatch(/^https:/);
      const headers = { authorization: 'Bearer s3cret', 'X-Scope-OrgID': 'mesh' };
      transport = new ThriftTransport(config(standin.endpoint, { headers, tls: { ca_file: join(dir, 'ca.pem') } }));
      expect(await transport.send(data(1, 2), 2, never)).toEqual({ kind: 'success', rejected: 0 });
      expect(standin.requests[0]!.headers).toMatchObject({ authorization: 'Bearer s3cret', 'x-scope-orgid': 'mesh', 'content-type': 'application/x-thrift' });
      await transport.shutdown();

      transport = new ThriftTransport(config(standin.endpoint, { tls: { ca_file: join(dir, 'ca.pem') } }));
      expect(await transport.send(data(1, 2), 2, never)).toEqual({ kind: 'failure', error: `${new URL(standin.endpoint).host} answered 401` });
      await transport.shutdown();

      transport = new ThriftTransport(config(standin.endpoint, { headers }));
      const untrusted = await transport.send(data(1, 2), 2, never);
      expect(untrusted.kind).toBe('retryable');
      expect(untrusted.kind === 'retryable' && untrusted.error).toMatch(/certificate/);
      expect(standin.spans).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends up to sending_concurrency batches at once, one request each', async () => {
    await start();
    transport = new ThriftTransport(config(standin.endpoint, { sending_concurrency: 2 }));
    let inFlight = 0;
    let most = 0;
    standin.answer = () => {
      most = Math.max(most, ++inFlight);
      return { status: 200, delayMs: 50 };
    };
    const t = transport;
    const sends = Array.from({ length: 6 }, (_, i) => t.send(data(1, 3, (j) => span(i * 10 + j)), 3, never).finally(() => inFlight--));
    expect(await Promise.all(sends)).toEqual(Array.from({ length: 6 }, () => ({ kind: 'success', rejected: 0 })));
    expect(most).toBe(2);
    expect(standin.spans).toBe(18);
  });
});

describe('ThriftTransport over UDP', () => {
  let agent: JaegerAgentStandin;
  let transport: ThriftTransport;
  beforeAll(async () => {
    agent = await new JaegerAgentStandin().start();
    transport = new ThriftTransport(config(agent.endpoint));
  });
  afterAll(async () => {
    await transport.shutdown();
    await agent.stop();
  });

  it('splits a large batch into datagrams of at most 65,000 bytes, each a whole emitBatch', async () => {
    const before = agent.spans;
    const attributes = [{ key: 'payload', value: 'x'.repeat(400) }];
    expect(await transport.send(data(1, 600, (i) => span(1000 + i, attributes)), 600, never)).toEqual({ kind: 'success', rejected: 0 });
    await waitFor('600 spans', () => (agent.spans - before === 600 ? true : undefined), 5_000, 10);
    expect(agent.undecodable).toEqual([]);
    expect(agent.datagrams.length).toBeGreaterThan(3);
    expect(Math.max(...agent.datagrams)).toBeLessThanOrEqual(65_000);
  });

  it('rejects a span too large for a datagram (counted) and sends the others', async () => {
    const before = agent.spans;
    const batch = data(1, 3, (i) => span(2000 + i, i === 1 ? [{ key: 'huge', value: 'y'.repeat(70_000) }] : []));
    expect(await transport.send(batch, 3, never)).toEqual({ kind: 'success', rejected: 1 });
    await waitFor('2 spans', () => (agent.spans - before === 2 ? true : undefined), 5_000, 10);
    expect(
      jaegerSpans(agent.batches)
        .slice(-2)
        .map((s) => s.span.operationName),
    ).toEqual(['op-2000', 'op-2002']);
  });

  it('cannot see an agent that is down: datagrams are lost without an error', async () => {
    const down = await new JaegerAgentStandin().start();
    const endpoint = down.endpoint;
    await down.stop();
    const blind = new ThriftTransport(config(endpoint));
    expect(await blind.send(data(1, 2), 2, never)).toEqual({ kind: 'success', rejected: 0 });
    await blind.shutdown();
  });

  it('retries when the datagram cannot leave (a name that does not resolve)', async () => {
    const unresolved = new ThriftTransport(config('udp://meshtel-no-such-agent.invalid:6832'));
    const r = await unresolved.send(data(1, 1), 1, never);
    expect(r.kind).toBe('retryable');
    expect(r.kind === 'retryable' && r.error).toMatch(/ENOTFOUND|EAI_AGAIN/);
    await unresolved.shutdown();
  });
});
