import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { ScenarioResult } from '../results.js';
import { fetchSender } from './clients.js';
import { startCollector } from './collector.js';
import { measureIngest } from './ingest.js';
import { measureRenders } from './render.js';

/** Half-edges to databases become edges only when they expire (store_ttl, 2s by default). */
const MIN_DURATION_MS = 3000;

/** The load of this scenario: long enough for every edge to appear. */
export function edgesLoad(options: BenchOptions): BenchOptions {
  return { ...options, durationMs: Math.max(options.durationMs, MIN_DURATION_MS) };
}

/**
 * Memory with 1,000 distinct service-graph edges (and their span-metric series): a collector
 * under full load over HTTP from a 200-service mesh, then /metrics rendered at that size. This
 * is the in-process variant, for a run of this scenario alone; `npm run bench` puts the client
 * in another process (remote.ts) so that the RSS is the collector's.
 */
export async function manyEdges(options: BenchOptions, { summary, set }: BuiltMesh, renderCount: number): Promise<ScenarioResult> {
  const collector = await startCollector();
  try {
    const cycle = new PayloadCycle(set);
    const send = fetchSender(`http://${collector.otlpAddress}/v1/traces`, cycle);
    const run = await measureIngest('collector over HTTP, client in this process', send, cycle, edgesLoad(options), collector);
    const renders = await measureRenders(collector, renderCount);
    return { scenario: 'edges', mesh: summary, run, renders };
  } finally {
    await collector.shutdown();
  }
}
