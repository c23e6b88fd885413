/**
 * Sampling: with 10% of traces kept, the golden metrics from the proxies' counters stay exact,
 * and span-derived counts are scaled by the probability each span carries in its tracestate:
 * exactly (kept spans x 10), and within a stated statistical bound of the true count.
 *
 * The bound: each request's trace is kept with probability p = 0.1, independently, so the count
 * of kept requests K on an edge of N requests is Binomial(N, p) and the estimate K / p has
 * standard deviation sqrt(N (1 - p) / p). The test allows 4 standard deviations, which a correct
 * collector exceeds about once in 16,000 comparisons.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import type { Truth } from '../../demo/truth.js';
import { parseSeries } from '../golden/exposition.js';
import { RunningMesh, settled, startCollector } from '../support/mesh.js';
import { waitFor } from '../support/processes.js';

const P = 0.1;
let collector: Collector;
let mesh: RunningMesh;
let truth: Truth;
let report: Awaited<ReturnType<typeof settled>>;
let series: Map<string, number>;

beforeAll(async () => {
  collector = await startCollector();
  mesh = await RunningMesh.start(collector.otlpAddress, { rate: 120, sampling: P, faults: ['auth:error=0.1'] });
  await mesh.waitForAnswers(1200, 90_000);
  truth = await mesh.quiesce();
  report = await settled(collector, truth);
  // Spans expire out of the pairing store a second after they arrive (store_ttl 1s in tests).
  series = await waitFor('the service graph to stop moving', async () => {
    const s = parseSeries(await (await fetch(`http://${collector.adminAddress}/metrics`)).text());
    return s.get('meshtel_servicegraph_store_items') === 0 ? s : undefined;
  });
});

afterAll(async () => {
  await mesh?.stop();
  await collector?.shutdown();
});

it('keeps golden metrics from proxy counters exact whatever the sampling', () => {
  for (const t of truth.edges) {
    const e = report.edges.edges.find((x) => x.src.name === t.src.name && x.dst.name === t.dst.name)!;
    expect([e.requests, e.failures]).toEqual([t.requests, t.failures]);
  }
  for (const t of truth.workloads) {
    expect(report.stat.workloads.find((x) => x.name === t.name)!.requests).toBe(t.requests);
  }
});

it('scales span-derived edge counts by 1/p exactly, and lands within 4 standard deviations of the truth', () => {
  for (const t of truth.edges) {
    const key = `traces_service_graph_request_total{client="${t.src.name}",client_namespace="default",connection_type="",server="${t.dst.name}",server_namespace="default",tls="true"}`;
    const spanCount = series.get(key) ?? 0;
    // Both halves of a hop share their trace's sampling decision, so every kept request pairs.
    expect(spanCount, key).toBeCloseTo(t.sampled / P, 6);
    const sigma = Math.sqrt((t.requests * (1 - P)) / P);
    expect(Math.abs(spanCount - t.requests), `${t.src.name}->${t.dst.name}: ${spanCount} vs ${t.requests} (sigma ${sigma.toFixed(1)})`).toBeLessThanOrEqual(4 * sigma);
    // Sampling really happened: about a tenth were kept.
    expect(t.sampled).toBeLessThan(t.requests / 2);
  }
});

it('scales span metrics the same way', () => {
  const student = truth.workloads.find((w) => w.name === 'student')!;
  const calls = [...series].filter(([k]) => k.startsWith('traces_span_metrics_calls_total{') && k.includes('service_name="student"') && k.includes('SPAN_KIND_SERVER'));
  const total = calls.reduce((sum, [, v]) => sum + v, 0);
  expect(total).toBeCloseTo(student.sampled / P, 6);
  const sigma = Math.sqrt((student.requests * (1 - P)) / P);
  expect(Math.abs(total - student.requests)).toBeLessThanOrEqual(4 * sigma);
});
