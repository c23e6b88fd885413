import type { Collector } from '../../collector/collector.js';
import { latency } from '../measure/stats.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { RenderRun, ScenarioResult } from '../results.js';
import { injectSender } from './clients.js';
import { aggregationState, exporterFor, receiverApp, startCollector } from './collector.js';

const UNTIMED_RENDERS = 3;

/** Times `count` renders of /metrics: PrometheusExporter.render() directly, and GET through the admin server. */
export async function measureRenders(collector: Collector, count: number): Promise<RenderRun[]> {
  const exporter = exporterFor(collector);
  const url = `http://${collector.adminAddress}/metrics`;
  return [
    await timeRenders('PrometheusExporter.render()', () => exporter.render(), count),
    await timeRenders('GET /metrics (admin server, fetch)', async () => (await fetch(url)).text(), count),
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
  const lines = text.split('\n').filter((l) => l !== '');
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
