import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { countPoints } from '../../../collector/model/metrics.js';
import { countSpans } from '../../../collector/model/traces.js';
import { decodeMetricsJson } from '../../../collector/otlp/decode-metrics-json.js';
import { decodeTracesJson } from '../../../collector/otlp/decode-traces-json.js';
import { negotiate, PrometheusExporter } from '../../../exporters/prometheus/exporter.js';
import { parseOpenMetrics, parseSeries } from '../../golden/exposition.js';
import { T0, TestClock, aggregator } from '../../support/proxy-metrics.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'aggregation');
const fixture = (dir: string, file: string) => readFileSync(join(FIXTURES, dir, file));

/** What Prometheus 2.x sends when it scrapes (scrape.go's default Accept header). */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('/metrics format negotiation', () => {
  it.each([
    [PROMETHEUS_ACCEPT, 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    ['text/plain;version=0.0.4;q=1, application/openmetrics-text;q=0.5', 'text'],
    ['application/openmetrics-text;q=0', 'text'],
    ['application/openmetrics-text;q=bogus, text/plain', 'text'],
  ] as const)('Accept %s gets %s', (accept, format) => {
    expect(negotiate(accept)).toBe(format);
  });
});

describe('PrometheusExporter', () => {
  it('renders the same series and values as text and as OpenMetrics, and OpenMetrics leaves the text intact', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    for (const [i, file] of ['export-1.traces.json', 'export-2.traces.json'].entries()) {
      clock.t = T0 + 1000 * (i + 1);
      const data = decodeTracesJson(fixture('service-graph', file));
      agg.consumeTraces({ data, items: countSpans(data), source: { receiver: 'test' } });
    }
    for (const file of ['export-1.metrics.json', 'export-2.metrics.json']) {
      const data = decodeMetricsJson(fixture('golden-metrics', file));
      agg.consumeMetrics({ data, items: countPoints(data), source: { receiver: 'test' } });
    }
    const registry = new Registry();
    const exporter = new PrometheusExporter(registry, agg.families(), 'test');
    new Counter({ name: 'test_requests_total', help: 'h', labelNames: ['code'], registers: [registry] }).inc({ code: '200' }, 3);
    new Histogram({ name: 'test_seconds', help: 'h', buckets: [0.1], registers: [registry] }).observe(0.05);
    try {
      const before = await exporter.render('text');
      const om = await exporter.render('openmetrics');
      const after = await exporter.render('text');

      const text = parseSeries(before);
      const parsed = parseOpenMetrics(om);
      // The process's CPU and memory move between renders (their series must still match);
      // everything else is the same state read three times.
      const still = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, /^(process|nodejs)_/.test(k) ? 0 : v]));
      expect(still(parsed.series)).toEqual(still(text));
      expect(still(parseSeries(after))).toEqual(still(text));
      expect(text.get('test_requests_total{code="200"}')).toBe(3);
      expect(before).not.toContain('# {');

      // OpenMetrics names counter families without `_total`; the samples keep it.
      expect(om).toContain('# TYPE traces_span_metrics_calls counter\n');
      expect(om).toContain('# TYPE test_requests counter\n');
      expect(after).toContain('# TYPE traces_span_metrics_calls_total counter\n');
      // Every exemplar sits on a bucket line and links to a trace of the fixtures.
      const traceIds = new Set(
        ['export-1.traces.json', 'export-2.traces.json'].flatMap((f) => decodeTracesJson(fixture('service-graph', f)).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.traceId)))),
      );
      expect(parsed.exemplars.size).toBeGreaterThan(0);
      for (const [series, x] of parsed.exemplars) {
        expect(series).toMatch(/_bucket\{/);
        expect(traceIds.has(x.labels.trace_id!)).toBe(true);
        expect(x.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
      }
    } finally {
      exporter.shutdown();
    }
  });
});
