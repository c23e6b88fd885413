import type { ChildProcess } from 'node:child_process';
import { nextMessage, type Endpoint } from './ipc.js';
import { runLoad } from './measure/load.js';
import { afterGc, RssSampler } from './measure/memory.js';
import { cpuCores } from './measure/stats.js';
import type { BuiltMesh } from './mesh/build.js';
import { PayloadCycle } from './mesh/payloads.js';
import type { BenchOptions } from './options.js';
import type { AggregationState, IngestRun, Memory, RenderRun } from './results.js';
import { fetchSender } from './scenarios/clients.js';
import { aggregationState, startCollector } from './scenarios/collector.js';
import { completePass } from './scenarios/ingest.js';
import { measureRenders } from './scenarios/render.js';

/**
 * A collector in one process, its load generator in another (the parent): the collector's CPU
 * and memory are then its own, as in production, and it has a core to itself. The collector
 * process measures itself between the parent's `start` and `stop`.
 */

type ToCollector = { type: 'start' } | { type: 'stop' };
type Ready = { type: 'ready'; address: string };
type Result = { type: 'result'; result: CollectorSide };
type FromCollector = Ready | Result;

/** What the collector process measured about itself. */
export interface CollectorSide {
  cpu: number;
  peak: Memory;
  rssBefore: number;
  afterGc: Memory;
  state: AggregationState;
  renders: RenderRun[];
}


function send(endpoint: Endpoint, message: ToCollector | FromCollector): void {
  endpoint.send!(message);
}


/** The collector side: runs in the child process; `renders` > 0 also times /metrics at the end. */
export async function serveCollector(renders: number): Promise<void> {
  const collector = await startCollector();
  try {
    const rssBefore = afterGc().rss;
    const started = nextMessage(process, 'start');
    send(process, { type: 'ready', address: collector.otlpAddress });
    await started;
    const stopped = nextMessage(process, 'stop');
    const sampler = new RssSampler().start();
    const cpuStart = process.cpuUsage();
    const t0 = performance.now();
    await stopped;
    const cpu = cpuCores(cpuStart, performance.now() - t0);
    const peak = sampler.stop();
    const state = aggregationState(collector);
    const memory = afterGc();
    const result: CollectorSide = { cpu, peak, rssBefore, afterGc: memory, state, renders: renders > 0 ? await measureRenders(collector, renders) : [] };
    send(process, { type: 'result', result });
  } finally {
    await collector.shutdown();
  }
}

/** The load side: drives the collector in `child` over HTTP from this process. */
export async function driveCollector(child: ChildProcess, label: string, mesh: BuiltMesh, options: BenchOptions): Promise<{ run: IngestRun; renders: RenderRun[] }> {
  const { address } = await nextMessage<Ready>(child, 'ready');
  const cycle = new PayloadCycle(mesh.set);
  const sender = fetchSender(`http://${address}/v1/traces`, cycle);
  const load = await runLoad(sender, options, () => send(child, { type: 'start' }));
  await completePass(sender, cycle);
  const done = nextMessage<Result>(child, 'result');
  send(child, { type: 'stop' });
  const { result } = await done;
  return {
    run: { label, load: { ...load, cpu: result.cpu, peak: result.peak }, rssBefore: result.rssBefore, afterGc: result.afterGc, state: result.state },
    renders: result.renders,
  };
}
