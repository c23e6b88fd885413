import type { Collector } from '../../collector/collector.js';
import { runLoad, type LoadOptions, type Send } from '../measure/load.js';
import { afterGc } from '../measure/memory.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { IngestRun, ScenarioResult } from '../results.js';
import { fetchSender, injectSender, startFastifySink, startNodeSink, type Sink } from './clients.js';
import { aggregationState, receiverApp, startCollector } from './collector.js';

/**
 * Throughput, latency and memory of one closed-loop run; `collector` adds its aggregation state.
 * `send` hands out payloads from `cycle`; the pass under way when the run ends is completed
 * (unmeasured), so that no pair is left with one half sent.
 */
export async function measureIngest(label: string, send: Send, cycle: PayloadCycle, load: LoadOptions, collector?: Collector): Promise<IngestRun> {
  const rssBefore = afterGc().rss;
  const result = await runLoad(send, load);
  await completePass(send, cycle);
  return { label, load: result, rssBefore, afterGc: afterGc(), state: collector && aggregationState(collector) };
}

/** Sends the rest of the current pass over the payloads. */
export async function completePass(send: Send, cycle: PayloadCycle): Promise<void> {
  for (let n = cycle.remaining; n > 0; n--) await send();
}

/** A real collector driven over HTTP (fetch, keep-alive) from the same process. */
export async function ingestOverHttp(options: BenchOptions, { summary, set }: BuiltMesh): Promise<ScenarioResult> {
  const collector = await startCollector();
  try {
    const cycle = new PayloadCycle(set);
    const run = await measureIngest('collector over HTTP, client in this process', fetchSender(`http://${collector.otlpAddress}/v1/traces`, cycle), cycle, options, collector);
    return { scenario: 'ingest', mesh: summary, runs: [run] };
  } finally {
    await collector.shutdown();
  }
}

/** The same collector through `receiver.app.inject()`: no sockets, no HTTP parsing, no client. */
export async function ingestInject(options: BenchOptions, { summary, set }: BuiltMesh): Promise<ScenarioResult> {
  const collector = await startCollector();
  try {
    const cycle = new PayloadCycle(set);
    const run = await measureIngest('collector via receiver.app.inject()', injectSender(receiverApp(collector), cycle), cycle, options, collector);
    return { scenario: 'ingest', mesh: summary, runs: [run] };
  } finally {
    await collector.shutdown();
  }
}

/** The client's own cost: the same requests to servers that only read the body. */
export async function clientAlone(options: BenchOptions, { summary, set }: BuiltMesh): Promise<ScenarioResult> {
  const load = { ...options, warmupMs: options.warmupMs / 2, durationMs: options.durationMs / 2 };
  const runs: IngestRun[] = [];
  const sinks: [string, () => Promise<Sink>][] = [
    ['client alone: fetch -> bare node:http sink', startNodeSink],
    ['fetch -> fastify sink (receiver minus decode+aggregate)', startFastifySink],
  ];
  for (const [label, start] of sinks) {
    const sink = await start();
    try {
      const cycle = new PayloadCycle(set);
      runs.push(await measureIngest(label, fetchSender(sink.url, cycle), cycle, load));
    } finally {
      await sink.close();
    }
  }
  return { scenario: 'ingest', mesh: summary, runs };
}
