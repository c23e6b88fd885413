import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Aggregator, type Clock } from '../../collector/aggregation/aggregator.js';
import { aggregationConfigSchema } from '../../collector/aggregation/config.js';
import { edgesView, statView } from '../../collector/api/views.js';
import { decodeMetricsJson } from '../../collector/otlp/decode-metrics-json.js';
import { decodeTracesJson } from '../../collector/otlp/decode-traces-json.js';
import { countPoints } from '../../collector/model/metrics.js';
import { countSpans } from '../../collector/model/traces.js';
import { only, parseSeries, renderFamilies } from './exposition.js';

/**
 * Golden-file tests of the aggregation: OTLP/JSON fixtures in, the exposition and the query API
 * out, compared with expectations worked out by hand (see each case's README.md). Time is the
 * test's own clock: exports at +1s and +2s, expiry ticks after the store TTL, queries at +10s.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'aggregation');
const C0 = 1_800_000_000_000;

class TestClock implements Clock {
  t = C0;
  now(): number {
    return this.t;
  }
}

function aggregator(clock: Clock): Aggregator {
  const buckets = ['5ms', '50ms'];
  return new Aggregator(
    aggregationConfigSchema.parse({
      span_metrics: { histogram_buckets: buckets },
      service_graph: { histogram_buckets: buckets, store_ttl: '2s' },
      golden: { histogram_buckets: buckets },
    }),
    clock,
  );
}

const read = (dir: string, file: string) => readFileSync(join(FIXTURES, dir, file));
const source = { receiver: 'test' };

function expectSeries(actual: Map<string, number>, expected: Map<string, number>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, value] of expected) {
    expect(actual.get(key), key).toBeCloseTo(value, 9);
  }
}

async function checkOutputs(dir: string, agg: Aggregator, clock: TestClock, prefixes: string[]): Promise<void> {
  const expected = parseSeries(read(dir, 'expected-metrics.prom').toString());
  expectSeries(only(parseSeries(await renderFamilies(agg.families())), prefixes), expected);
  clock.t = C0 + 10_000;
  expect(statView(agg.traffic, '1m', 60_000, clock.t, 120_000)).toEqual(JSON.parse(read(dir, 'expected-stat.json').toString()));
  expect(edgesView(agg.traffic, '1m', 60_000, clock.t)).toEqual(JSON.parse(read(dir, 'expected-edges.json').toString()));
}

describe('aggregation golden files', () => {
  it('service graph and span metrics from two trace exports', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    for (const [i, file] of ['export-1.traces.json', 'export-2.traces.json'].entries()) {
      clock.t = C0 + 1000 * (i + 1);
      const data = decodeTracesJson(read('service-graph', file));
      agg.consumeTraces({ data, items: countSpans(data), source });
      agg.tick();
    }
    // Half-edges stored at +2s expire once the 2s TTL has passed.
    clock.t = C0 + 4_000;
    agg.tick();
    await checkOutputs('service-graph', agg, clock, [
      'traces_service_graph_',
      'traces_span_metrics_',
      'meshtel_servicegraph_expired',
      'meshtel_servicegraph_store_items',
      'meshtel_servicegraph_duplicate',
    ]);
  });

  it('golden metrics from two exports of proxy metrics', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    for (const [i, file] of ['export-1.metrics.json', 'export-2.metrics.json'].entries()) {
      clock.t = C0 + 1000 * (i + 1);
      const data = decodeMetricsJson(read('golden-metrics', file));
      agg.consumeMetrics({ data, items: countPoints(data), source });
    }
    await checkOutputs('golden-metrics', agg, clock, ['meshtel_workload_', 'meshtel_edge_', 'meshtel_golden_']);
  });
});
