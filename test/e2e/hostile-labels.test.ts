/**
 * Hostile label values: whatever strings spans carry, the exposition stays valid (promtool and a
 * real Prometheus parse it) and every value comes back exactly as it was sent; a flood of
 * distinct values stops at the cardinality limit, in one overflow series that is counted.
 */
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import { ProtobufWriter } from '../../collector/otlp/protobuf-writer.js';
import { Prometheus } from '../support/prometheus.js';
import { requireProgram } from '../support/system-packages.js';

const HOSTILE = [
  'quote"d',
  'back\\slash',
  'new\nline',
  'carriage\rreturn',
  '}{,=label="x"',
  '# HELP injected',
  'tab\there',
  'ünïcødé ✓ 🚀',
  '\u0000nul',
  'x'.repeat(2000),
  '',
];

let collector: Collector;
let prometheus: Prometheus;

beforeAll(async () => {
  requireProgram('promtool');
  collector = new Collector(
    configSchema.parse({
      receivers: { otlp: { endpoint: '127.0.0.1:0' } },
      admin: { endpoint: '127.0.0.1:0' },
      aggregation: { max_series_per_metric: 100 },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  prometheus = await Prometheus.start({ targets: { meshtel: collector.adminAddress } });
});

afterAll(async () => {
  await prometheus?.stop();
  await collector?.shutdown();
});

/** An OTLP/JSON request with one SERVER span per (service, span name). */
function spans(pairs: [service: string, name: string][], seed: number): string {
  return JSON.stringify({
    resourceSpans: pairs.map(([service, name], i) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          spans: [
            {
              traceId: (seed * 100_000 + i + 1).toString(16).padStart(32, '0'),
              spanId: (i + 1).toString(16).padStart(16, '0'),
              name,
              kind: 2,
              startTimeUnixNano: '1000000',
              endTimeUnixNano: '2000000',
            },
          ],
        },
      ],
    })),
  });
}

async function post(body: string): Promise<void> {
  const res = await fetch(`http://${collector.otlpAddress}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

test('hostile label values survive the exposition and a real Prometheus scrape unchanged', async () => {
  await post(spans(HOSTILE.map((v, i) => [`svc-${i}-${v}`, `span ${v}`]), 1));
  // Invalid UTF-8 straight in protobuf: it becomes U+FFFD, never broken output.
  const w = new ProtobufWriter();
  w.tag(1, 2).fork().tag(1, 2).fork().tag(1, 2).fork().tag(1, 2).string('service.name').tag(2, 2).fork().tag(1, 2).bytes(Uint8Array.from([0x62, 0xff, 0xfe, 0x61, 0x64])).join().join().join();
  w.tag(2, 2).fork().tag(2, 2).fork().tag(1, 2).hexBytes('ab'.repeat(16)).tag(2, 2).hexBytes('cd'.repeat(8)).tag(5, 2).string('utf8').tag(6, 0).varint(2).join().join().join();
  const res = await fetch(`http://${collector.otlpAddress}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: w.finish() });
  expect(res.status).toBe(200);

  const exposition = await (await fetch(`http://${collector.adminAddress}/metrics`)).text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  // promtool's only complaint is the milliseconds unit the spanmetrics contract requires.
  const findings = `${check.stdout}${check.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/milliseconds/.test(l));
  expect(findings).toEqual([]);

  const stored = await prometheus.waitForQuery('traces_span_metrics_calls_total', (r) => (r.length >= HOSTILE.length + 1 ? r : undefined));
  const services = new Set(stored.map((s) => s.metric.service_name));
  for (const [i, v] of HOSTILE.entries()) expect(services.has(`svc-${i}-${v}`), JSON.stringify(v.slice(0, 40))).toBe(true);
  expect(services.has('b\ufffd\ufffdad')).toBe(true);
  const names = new Set(stored.map((s) => s.metric.span_name));
  for (const v of HOSTILE) expect(names.has(`span ${v}`)).toBe(true);
});

test('a flood of distinct label values stops at the cardinality limit, in one counted overflow series', async () => {
  const flood = Array.from({ length: 300 }, (_, i): [string, string] => [`flood-${i}`, 'GET /']);
  await post(spans(flood, 2));
  const exposition = await (await fetch(`http://${collector.adminAddress}/metrics`)).text();
  const calls = exposition.split('\n').filter((l) => l.startsWith('traces_span_metrics_calls_total'));
  expect(calls).toHaveLength(101);
  const overflow = calls.filter((l) => l.startsWith('traces_span_metrics_calls_total{otel_metric_overflow="true"}'));
  expect(overflow).toHaveLength(1);
  const seriesBefore = 11 + 1; // the first test's hostile services and the invalid-UTF-8 one
  expect(Number(overflow[0]!.split(' ')[1])).toBe(300 - (100 - seriesBefore));
  expect(exposition).toContain(`meshtel_series_overflow_total{metric="traces_span_metrics"} ${300 - (100 - seriesBefore)}`);
  expect(exposition).toContain('meshtel_series{metric="traces_span_metrics"} 100');
});
