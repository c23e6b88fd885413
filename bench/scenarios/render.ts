import type { Collector } from '../../collector/collector.js';
import { latency } from '../measure/stats.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { RenderRun, ScenarioResult } from '../results.js';
import { injectSender } from './clients.js';
import { aggregationState, exporterFor, receiverApp, startCollector } from './collector.js';

const UNTIMED_RENDERS = 3;
/** Prometheus 2.x's scrape Accept header: it prefers OpenMetrics. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/**
 * Times `count` renders of /metrics: PrometheusExporter.render() directly, in the text format and
 * in OpenMetrics (with exemplars, what Prometheus asks for), and GET through the admin server
 * the way Prometheus asks.
 */
export async function measureRenders(collector: Collector, count: number): Promise<RenderRun[]> {
  const exporter = exporterFor(collector);
  const url = `http://${collector.adminAddress}/metrics`;
  return [
    await timeRenders('PrometheusExporter.render()', () => exporter.render(), count),
    await timeRenders("PrometheusExporter.render('openmetrics')", () => exporter.render('openmetrics'), count),
    await timeRenders('GET /metrics (admin server, fetch, Accept as Prometheus sends it)', async () => (await fetch(url, { headers: { accept: PROMETHEUS_ACCEPT } })).text(), count),
  ];
}

async function timeRenders(label: string, render: () => Promise<string>, count: number): Promise<RenderRun> {
  let text = '';
  for (let i = 0; i < UNTIMED_RENDERS; i++) text = await render();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    text = await render();
    samples.push(performance.now() - t0);
  }
  const lines = text.split('\n').filter((l) => l !== '' && l !== '# EOF');
  return { label, latencyMs: latency(samples), series: lines.filter((l) => !l.startsWith('#')).length, lines: lines.length, bytes: Buffer.byteLength(text) };
}

/**
 * /metrics of a collector that has seen a mesh whose exposition holds about 10,000 series: every
 * payload sent once, then pending half-edges flushed so that every edge has its series.
 */
export async function renderMetrics(options: BenchOptions, { summary, set }: BuiltMesh): Promise<ScenarioResult> {
  const collector = await startCollector();
  try {
    const send = injectSender(receiverApp(collector), new PayloadCycle(set));
    for (let i = 0; i < set.payloads.length; i++) await send();
    collector.aggregator.flush();
    const renders = await measureRenders(collector, options.renders);
    return { scenario: 'render', mesh: summary, state: aggregationState(collector), renders };
  } finally {
    await collector.shutdown();
  }
}
