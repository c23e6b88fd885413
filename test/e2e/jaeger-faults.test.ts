/**
 * Trace export when things go wrong, end to end: the official SDK exporter sends to an in-process
 * collector whose trace exporters send to Jaeger stand-ins (real decoders), over OTLP and Thrift.
 * - A backend that answers 503 with Retry-After for a while, then recovers: every span arrives
 *   exactly once, the Retry-After waited for.
 * - A backend that is down: the queue fills to its capacity, what does not fit is counted as
 *   enqueue-failed, memory stays bounded, and the rest of the collector does not slow down: the
 *   receiver answers every request and the aggregation's counts keep rising.
 * - TLS with a CA generated for the test, and an authorization header the backend checks.
 * - Several exporters at once, each with its own queue and counters; one down hurts no other.
 * - Graceful shutdown sends what is queued within the deadline, and counts and logs what it
 *   could not send.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { afterGc } from '../../bench/measure/memory.js';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import { JaegerAgentStandin, JaegerOtlpStandin, JaegerThriftHttpStandin, jaegerSpans, loopbackCertificates, type HttpStandinOptions } from '../support/jaeger-standins.js';
import { waitFor } from '../support/processes.js';

let seq = 0;

/** `n` finished SDK spans of INTERNAL kind (span metrics only: no service-graph state) from `services`. */
async function sdkSpans(n: number, services = ['ledger'], name = 'work'): Promise<ReadableSpan[]> {
  const out: ReadableSpan[] = [];
  for (const service of services) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('faults', '1.0.0');
    for (let i = 0; i < n / services.length; i++) tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: { 'seq.number': seq++ } }, ROOT_CONTEXT).end();
    await provider.forceFlush();
    out.push(...exporter.getFinishedSpans());
    await provider.shutdown();
  }
  return out;
}

/** Sends `spans` in requests of `per` through the official OTLP exporter; resolves to each request's milliseconds. */
async function send(collector: Collector, spans: ReadableSpan[], per = 100): Promise<number[]> {
  const exporter = new OTLPTraceExporter({ url: `http://${collector.otlpAddress}/v1/traces` });
  const took: number[] = [];
  try {
    for (let i = 0; i < spans.length; i += per) {
      const t0 = performance.now();
      const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans.slice(i, i + per), resolve));
      took.push(performance.now() - t0);
      expect(result.error, 'the collector took the request').toBeUndefined();
    }
  } finally {
    await exporter.shutdown();
  }
  return took;
}

type Samples = Map<string, number>;

async function scrape(collector: Collector): Promise<Samples> {
  const text = await (await fetch(`http://${collector.adminAddress}/metrics`)).text();
  return parse(text);
}

function parse(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The value of `name{exporter="e",...}`. */
const exp = (s: Samples, name: string, exporter: string, extra = '') => s.get(`meshtel_exporter_${name}{exporter="${exporter}"${extra}}`) ?? NaN;

/** Sum of a family over all its series. */
function total(s: Samples, name: string): number {
  let n = 0;
  for (const [k, v] of s) if (k.startsWith(`${name}{`)) n += v;
  return n;
}

/** Every span handed to an exporter is accounted for (docs/metrics.md). */
function accounted(s: Samples, e: string): void {
  const failed = ['permanent', 'retries_exhausted', 'rejected', 'shutdown'].reduce((n, r) => n + exp(s, 'send_failed_spans_total', e, `,reason="${r}"`), 0);
  const sampled = total(new Map([...s].filter(([k]) => k.includes(`exporter="${e}"`))), 'meshtel_exporter_sampled_out_spans_total');
  expect(exp(s, 'received_spans_total', e), `exporter ${e}: received = sampled out + enqueue failed + sent + send failed + queued + in flight`).toBe(
    sampled + exp(s, 'enqueue_failed_spans_total', e) + exp(s, 'sent_spans_total', e) + failed + exp(s, 'queue_size', e) + exp(s, 'in_flight_spans', e),
  );
}

/** A collector with these trace exporters; it gives up on a dead backend at shutdown after a second, unless told otherwise. */
function collectorWith(traces: Record<string, unknown>[], extra: Record<string, unknown> = {}, logger = pino({ level: 'silent' })): Collector {
  return new Collector(
    configSchema.parse({ receivers: { otlp: { endpoint: '127.0.0.1:0' } }, admin: { endpoint: '127.0.0.1:0' }, exporters: { traces }, shutdown_timeout: '1s', ...extra }),
    { logger },
  );
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function standin(protocol: 'otlp' | 'thrift', options: HttpStandinOptions = {}): JaegerOtlpStandin | JaegerThriftHttpStandin {
  const s = protocol === 'otlp' ? new JaegerOtlpStandin(options) : new JaegerThriftHttpStandin(options);
  cleanup.push(() => s.stop());
  return s;
}

async function started(c: Collector): Promise<Collector> {
  cleanup.push(() => c.shutdown());
  await c.start();
  return c;
}

/** Span ids the stand-in accepted, whatever its protocol. */
function receivedIds(s: JaegerOtlpStandin | JaegerThriftHttpStandin): string[] {
  if (s instanceof JaegerThriftHttpStandin) return jaegerSpans(s.accepted).map((x) => x.span.spanId);
  return s.accepted.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => sp.spanId))));
}

describe.each(['thrift', 'otlp'] as const)('%s: a backend answering 503 with Retry-After, then recovering', (protocol) => {
  it('gets every span exactly once, after waiting as long as Retry-After said', async () => {
    const backend = await standin(protocol).start();
    // A while of 503 with Retry-After: 1, then two more 503s later on (halfway through batches of
    // several resources, over Thrift), with Retry-After: 0.
    backend.answer = (n) => (n <= 2 ? { status: 503, headers: { 'retry-after': '1' } } : n === 5 || n === 8 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 });
    const collector = await started(
      collectorWith([{ name: 'jaeger', endpoint: backend.endpoint, batch: { max_spans: 50, timeout: '20ms' }, sending_concurrency: 1, retry: { initial_interval: '50ms' } }]),
    );
    const spans = await sdkSpans(300, ['ledger', 'billing', 'audit']);
    // Each request holds all three resources, so batches mix them.
    const mixed = [0, 1, 2, 3, 4].flatMap((chunk) => [0, 1, 2].flatMap((svc) => spans.slice(svc * 100 + chunk * 20, svc * 100 + chunk * 20 + 20)));
    await send(collector, mixed, 60);
    await waitFor('every span delivered', async () => (exp(await scrape(collector), 'sent_spans_total', 'jaeger') === 300 ? true : undefined), 20_000);
    const ids = receivedIds(backend);
    expect(ids).toHaveLength(300);
    expect(new Set(ids)).toEqual(new Set(spans.map((s) => s.spanContext().spanId)));
    const s = await scrape(collector);
    expect(exp(s, 'retries_total', 'jaeger')).toBe(4);
    for (const reason of ['permanent', 'retries_exhausted', 'rejected', 'shutdown']) expect(exp(s, 'send_failed_spans_total', 'jaeger', `,reason="${reason}"`)).toBe(0);
    accounted(s, 'jaeger');
    // Retry-After: 1 was waited for (one batch at a time, so the next request is its retry).
    const at = backend.requests.map((r) => r.at);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(990);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(990);
  });
});

describe('a backend that is down', () => {
  it('fills the queue, counts enqueue failures, keeps memory bounded, and slows nothing else down', async () => {
    const backend = standin('thrift');
    await backend.start();
    const endpoint = backend.endpoint;
    await backend.stop();
    const collector = await started(
      collectorWith([{ name: 'jaeger', endpoint, queue: { capacity: 2000 }, batch: { max_spans: 100, timeout: '20ms' }, sending_concurrency: 2, retry: { initial_interval: '200ms', max_elapsed_time: '5m' } }]),
    );
    const first = await sdkSpans(3000);
    const latency = await send(collector, first);
    await waitFor('the queue to be full', async () => {
      const s = await scrape(collector);
      return exp(s, 'queue_size', 'jaeger') === 2000 && exp(s, 'in_flight_spans', 'jaeger') === 200 ? s : undefined;
    });
    let s = await scrape(collector);
    expect(exp(s, 'queue_capacity', 'jaeger')).toBe(2000);
    expect(exp(s, 'enqueue_failed_spans_total', 'jaeger')).toBe(800);
    expect(exp(s, 'retries_total', 'jaeger')).toBeGreaterThan(0);
    accounted(s, 'jaeger');
    expect(total(s, 'traces_span_metrics_calls_total')).toBe(3000);

    // 20,000 more spans while the backend stays down: all counted as enqueue-failed, none kept.
    const heapBefore = afterGc().heapUsed;
    for (let wave = 0; wave < 4; wave++) {
      latency.push(...(await send(collector, await sdkSpans(5000))));
      // The aggregation keeps counting every span while export fails.
      expect(total(await scrape(collector), 'traces_span_metrics_calls_total')).toBe(3000 + 5000 * (wave + 1));
    }
    const heapGrowthMiB = afterGc().heapUsed - heapBefore;
    s = await scrape(collector);
    expect(exp(s, 'queue_size', 'jaeger')).toBe(2000);
    expect(exp(s, 'enqueue_failed_spans_total', 'jaeger')).toBe(20_800);
    accounted(s, 'jaeger');
    // Had the 20,000 spans been kept, the heap would have grown by well over 10 MiB.
    expect(heapGrowthMiB).toBeLessThan(4);
    // The receiver answered every request (send() checks) and promptly: nothing waited on export.
    latency.sort((a, b) => a - b);
    expect(latency[Math.floor(latency.length * 0.99)]).toBeLessThan(500);
  });
});

describe('TLS and headers', () => {
  it.each(['thrift', 'otlp'] as const)('%s: trusts the configured CA and sends the authorization header the backend checks', async (protocol) => {
    const pki = await loopbackCertificates();
    const dir = mkdtempSync(join(tmpdir(), 'meshtel-jaeger-tls-'));
    cleanup.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    writeFileSync(join(dir, 'ca.pem'), pki.ca);
    const backend = await standin(protocol, { tls: { cert: pki.cert, key: pki.key }, requiredHeaders: { authorization: 'Bearer s3cret' } }).start();
    expect(backend.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const tls = { ca_file: join(dir, 'ca.pem') };
    const collector = await started(
      collectorWith([
        { name: 'authorized', endpoint: backend.endpoint, tls, headers: { Authorization: 'Bearer s3cret' }, batch: { timeout: '20ms' } },
        { name: 'no-token', endpoint: backend.endpoint, tls, batch: { timeout: '20ms' } },
      ]),
    );
    await send(collector, await sdkSpans(50));
    const s = await waitFor('both exporters done', async () => {
      const m = await scrape(collector);
      return exp(m, 'sent_spans_total', 'authorized') === 50 && exp(m, 'send_failed_spans_total', 'no-token', ',reason="permanent"') === 50 ? m : undefined;
    });
    expect(backend.spans).toBe(50);
    expect(exp(s, 'retries_total', 'no-token')).toBe(0);
    expect(backend.requests.filter((r) => r.status === 200).every((r) => r.headers.authorization === 'Bearer s3cret')).toBe(true);
    expect(backend.requests.filter((r) => r.headers.authorization === undefined).map((r) => r.status)).toEqual([401]);
  });
});

describe('several exporters at once', () => {
  it('gives each its own queue and counters: one down costs only its own queue', async () => {
    const v2 = await standin('otlp').start();
    const v1 = await standin('thrift').start();
    const agent = new JaegerAgentStandin();
    cleanup.push(() => agent.stop());
    await agent.start();
    const gone = standin('thrift');
    await gone.start();
    const goneEndpoint = gone.endpoint;
    await gone.stop();
    const batch = { max_spans: 50, timeout: '20ms' };
    const collector = await started(
      collectorWith([
        { name: 'cluster-a', endpoint: v2.endpoint, queue: { capacity: 5000 }, batch },
        { name: 'cluster-b', endpoint: v1.endpoint, queue: { capacity: 6000 }, batch },
        { name: 'agent', endpoint: agent.endpoint, queue: { capacity: 7000 }, batch },
        { name: 'gone', endpoint: goneEndpoint, queue: { capacity: 100 }, batch, sending_concurrency: 1 },
      ]),
    );
    const spans = await sdkSpans(1000, ['ledger', 'billing']);
    await send(collector, spans);
    const s = await waitFor('the three live exporters done', async () => {
      const m = await scrape(collector);
      return ['cluster-a', 'cluster-b', 'agent'].every((e) => exp(m, 'sent_spans_total', e) === 1000) && exp(m, 'queue_size', 'gone') === 100 ? m : undefined;
    });
    expect([v2.spans, v1.spans, agent.spans]).toEqual([1000, 1000, 1000]);
    expect(['cluster-a', 'cluster-b', 'agent', 'gone'].map((e) => exp(s, 'queue_capacity', e))).toEqual([5000, 6000, 7000, 100]);
    for (const e of ['cluster-a', 'cluster-b', 'agent']) {
      expect(exp(s, 'enqueue_failed_spans_total', e), e).toBe(0);
      expect(exp(s, 'queue_size', e), e).toBe(0);
    }
    expect(exp(s, 'in_flight_spans', 'gone')).toBe(50);
    expect(exp(s, 'enqueue_failed_spans_total', 'gone')).toBe(850);
    for (const e of ['cluster-a', 'cluster-b', 'agent', 'gone']) accounted(s, e);
  });
});

describe('graceful shutdown', () => {
  function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    return { logger: pino({ level: 'info' }, stream), lines };
  }

  it('sends everything queued before it returns, within the deadline', async () => {
    const backend = await standin('thrift').start();
    const collector = collectorWith([{ name: 'jaeger', endpoint: backend.endpoint, batch: { max_spans: 10_000, timeout: '1m' } }], { shutdown_timeout: '5s' });
    await collector.start();
    await send(collector, await sdkSpans(300));
    expect(exp(await scrape(collector), 'queue_size', 'jaeger')).toBe(300);
    expect(backend.spans).toBe(0);
    const t0 = performance.now();
    await collector.shutdown();
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(backend.spans).toBe(300);
    const s = parse(await collector.registry.metrics());
    expect(exp(s, 'sent_spans_total', 'jaeger')).toBe(300);
    expect(exp(s, 'send_failed_spans_total', 'jaeger', ',reason="shutdown"')).toBe(0);
  });

  it('gives up at the deadline on a backend that does not answer, and counts and logs what it could not send', async () => {
    const backend = await standin('thrift').start();
    backend.answer = () => ({ status: 200, hang: true });
    const { logger, lines } = capture();
    const collector = collectorWith([{ name: 'jaeger', endpoint: backend.endpoint, batch: { max_spans: 100, timeout: '20ms' }, timeout: '1m' }], { shutdown_timeout: '3s' }, logger);
    await collector.start();
    await send(collector, await sdkSpans(500));
    await waitFor('batches in flight', async () => (exp(await scrape(collector), 'in_flight_spans', 'jaeger') === 200 ? true : undefined));
    const t0 = performance.now();
    await collector.shutdown();
    const took = performance.now() - t0;
    // The exporters get the shutdown timeout less a second; a second more for the rest.
    expect(took).toBeGreaterThan(1_900);
    expect(took).toBeLessThan(3_500);
    expect(backend.spans).toBe(0);
    const s = parse(await collector.registry.metrics());
    expect(exp(s, 'send_failed_spans_total', 'jaeger', ',reason="shutdown"')).toBe(500);
    expect(exp(s, 'received_spans_total', 'jaeger')).toBe(500);
    const report = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('shutdown:'));
    expect(report).toMatchObject({ exporter: 'jaeger', spans: 500, msg: 'shutdown: 500 spans could not be sent to jaeger in time' });
  });
});
