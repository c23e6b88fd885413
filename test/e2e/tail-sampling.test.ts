/**
 * Tail sampling keeps every error trace and every slow trace of a mixed workload, and only a
 * rate-limited share of the rest; the metrics still count every span. The official SDK sends
 * through the collector to a stand-in OTLP backend that decodes with the official decoder.
 */
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import { JaegerOtlpStandin } from '../support/jaeger-standins.js';
import { waitFor } from '../support/processes.js';

const sink = new JaegerOtlpStandin();
let collector: Collector | undefined;
afterAll(async () => {
  await collector?.shutdown();
  await sink.stop();
});

it('keeps every error and slow trace, a rate-limited share of the others, and counts them all in metrics', async () => {
  await sink.start();
  collector = new Collector(
    configSchema.parse({
      receivers: { otlp: { endpoint: '127.0.0.1:0' } },
      admin: { endpoint: '127.0.0.1:0' },
      exporters: {
        traces: [{ name: 'jaeger', endpoint: sink.endpoint, batch: { timeout: '20ms' }, tail_sampling: { decision_wait: '300ms', slow_threshold: '200ms', others: { rate: 10, burst: 10 } } }],
      },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop' }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://${collector.otlpAddress}/v1/traces` }), scheduledDelayMillis: 50 })],
  });
  const tracer = provider.getTracer('mixed');
  const kinds = new Map<string, 'error' | 'slow' | 'normal'>();
  const now = Date.now();
  for (let i = 0; i < 300; i++) {
    const kind = i % 10 === 3 ? 'error' : i % 10 === 7 ? 'slow' : 'normal';
    const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: now });
    kinds.set(root.spanContext().traceId, kind);
    const child = tracer.startSpan('SELECT', { kind: SpanKind.CLIENT, startTime: now }, trace.setSpan(context.active(), root));
    if (kind === 'error') child.setStatus({ code: SpanStatusCode.ERROR });
    child.end(now + (kind === 'slow' ? 450 : 5));
    root.end(now + (kind === 'slow' ? 500 : 10));
  }
  await provider.forceFlush();
  const c = collector;
  await waitFor('every trace decided and exported', async () => {
    const m = await (await fetch(`http://${c.adminAddress}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(m)?.[1] ?? NaN);
    return value('meshtel_exporter_awaiting_decision_spans') === 0 && value('meshtel_exporter_queue_size') === 0 && value('meshtel_exporter_in_flight_spans') === 0 ? true : undefined;
  });

  const received = new Map<string, number>();
  for (const d of sink.accepted) for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) received.set(s.traceId, (received.get(s.traceId) ?? 0) + 1);
  const ofKind = (k: string) => [...kinds].filter(([, v]) => v === k).map(([id]) => id);
  // Every error and every slow trace arrives whole.
  for (const id of [...ofKind('error'), ...ofKind('slow')]) expect(received.get(id), `${kinds.get(id)} trace ${id}`).toBe(2);
  // Of the 240 normal traces, only what 10 spans/s allowed (whole traces of 2 spans): far fewer.
  const normalKept = ofKind('normal').filter((id) => received.has(id));
  expect(normalKept.length).toBeGreaterThan(0);
  expect(normalKept.length).toBeLessThan(60);
  for (const id of normalKept) expect(received.get(id)).toBe(2);

  // The metrics saw every span, sampled or not.
  const metrics = await (await fetch(`http://${c.adminAddress}/metrics`)).text();
  expect(metrics).toMatch(/^traces_span_metrics_calls_total\{service_name="shop",span_name="GET \/checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"\} 300$/m);
  const sampledOut = Number(/^meshtel_exporter_sampled_out_spans_total\{exporter="jaeger",reason="tail_sampling"\} (\S+)/m.exec(metrics)![1]);
  expect(sampledOut).toBe(600 - sink.spans);
  await provider.shutdown();
});
