import type { ChildProcess } from 'node:child_process';
import type { Registry } from 'prom-client';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import { afterGc, RssSampler } from '../measure/memory.js';
import { openLoop, type OpenLoopResult } from '../measure/open-loop.js';
import { cpuCores, latency } from '../measure/stats.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { OverloadCounters, OverloadRun, ScenarioResult } from '../results.js';

/**
 * Overload (issue 4): the collector's capacity is set by a global admission limit, and the load
 * offered is ten times that, open loop (requests leave on schedule whether or not earlier ones
 * were answered, as a fleet of independent clients would send them). What matters: the collector
 * takes its capacity, refuses the rest with 429 and Retry-After, and refusing stays cheap
 * (target: p99 under 2 ms), with memory flat.
 */
export const OVERLOAD = {
  /** admission.spans.rate (and burst: one second's worth). */
  capacity: 30_000,
  /** Offered load, in multiples of the capacity. */
  factor: 10,
  /** Requests in flight at most; a request due beyond it is not sent and counted as skipped. */
  maxInFlight: 256,
};

/** A collector with the overload scenario's admission limit, on free loopback ports, logging nothing. */
async function startLimitedCollector(): Promise<Collector> {
  const config = configSchema.parse({
    log: { level: 'silent' },
    receivers: { otlp: { endpoint: '127.0.0.1:0' } },
    admin: { endpoint: '127.0.0.1:0' },
    admission: { spans: { rate: OVERLOAD.capacity, burst: OVERLOAD.capacity } },
  });
  const collector = new Collector(config);
  // The receiver's own time for each answer (fastify's reply.elapsedTime: from the request's
  // headers to the answer sent, the body's reading included), by status: what refusing costs
  // the collector, apart from the client and from waiting for the event loop.
  const app = collector.receiver?.app;
  if (app === undefined) throw new Error('the overload scenario needs the OTLP/HTTP receiver');
  app.addHook('onResponse', (_request, reply, done) => {
    const times = reply.statusCode === 429 ? serverTimes.refused : reply.statusCode === 200 ? serverTimes.accepted : undefined;
    times?.push(reply.elapsedTime);
    done();
  });
  await collector.start();
  return collector;
}

/** Receiver-side response times (ms) since the last reset, by outcome. */
const serverTimes = { refused: [] as number[], accepted: [] as number[] };
function resetServerTimes(): void {
  serverTimes.refused.length = 0;
  serverTimes.accepted.length = 0;
}

/** The collector's own counts of what it received, accepted and refused (by reason). */
async function counters(registry: Registry): Promise<OverloadCounters> {
  const json = await registry.getMetricsAsJSON();
  const value = (name: string, labels: Record<string, string> = {}) =>
    json
      .find((m) => m.name === name)
      ?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((n, v) => n + v.value, 0) ?? 0;
  return {
    received: value('meshtel_receiver_received_spans_total'),
    accepted: value('meshtel_receiver_accepted_spans_total'),
    rateLimited: value('meshtel_receiver_refused_spans_total', { reason: 'rate_limited' }),
    memoryLimited: value('meshtel_receiver_refused_spans_total', { reason: 'memory_limited' }),
  };
}

/** What the collector's process measured about itself over the measured phase. */
interface CollectorSide {
  cpu: number;
  peak: OverloadRun['peak'];
  rssBefore: number;
  afterGc: OverloadRun['afterGc'];
  counters: OverloadCounters;
  serverRefusalMs: OverloadRun['serverRefusalMs'];
  serverAcceptedMs: OverloadRun['serverAcceptedMs'];
}

function toRun(label: string, load: OpenLoopResult, spansPerRequest: number, collector: CollectorSide): OverloadRun {
  const seconds = load.elapsedMs / 1000;
  return {
    label,
    offeredSpansPerSecond: (load.offered * spansPerRequest) / seconds,
    sentSpansPerSecond: ((load.offered - load.skipped) * spansPerRequest) / seconds,
    acceptedSpansPerSecond: load.acceptedSpans / seconds,
    refusedSpansPerSecond: load.refusedSpans / seconds,
    refusalMs: latency(load.refusedMs),
    acceptedMs: latency(load.acceptedMs),
    other: load.other,
    retryAfter: load.retryAfter.length === 0 ? [NaN, NaN] : [Math.min(...load.retryAfter), Math.max(...load.retryAfter)],
    clientAccepted: load.acceptedSpans,
    clientRefused: load.refusedSpans,
    ...collector,
  };
}

/** What changed between two readings of the collector's counters. */
function since(before: OverloadCounters, after: OverloadCounters): OverloadCounters {
  return {
    received: after.received - before.received,
    accepted: after.accepted - before.accepted,
    rateLimited: after.rateLimited - before.rateLimited,
    memoryLimited: after.memoryLimited - before.memoryLimited,
  };
}

const requestsPerSecond = (spansPerRequest: number) => (OVERLOAD.capacity * OVERLOAD.factor) / spansPerRequest;

// ---------------------------------------------------------------------------------------------
// The collector in a child process, the load from the parent (`npm run bench`)

type ToCollector = { type: 'start' } | { type: 'stop' };
type FromCollector = { type: 'ready'; address: string } | { type: 'result'; result: CollectorSide };
type Endpoint = NodeJS.Process | ChildProcess;

function next<T extends ToCollector | FromCollector>(endpoint: Endpoint, type: T['type']): Promise<T> {
  return new Promise((resolve) => {
    const listener = (message: T) => {
      if (message.type !== type) return;
      endpoint.off('message', listener);
      resolve(message);
    };
    endpoint.on('message', listener);
  });
}

/** The collector side, in the child: measures its own CPU and memory between `start` and `stop`. */
export async function serveOverloaded(): Promise<void> {
  const collector = await startLimitedCollector();
  try {
    const rssBefore = afterGc().rss;
    const started = next(process, 'start');
    process.send!({ type: 'ready', address: collector.otlpAddress } satisfies FromCollector);
    await started;
    const stopped = next(process, 'stop');
    const before = await counters(collector.registry);
    resetServerTimes();
    const sampler = new RssSampler().start();
    const cpuStart = process.cpuUsage();
    const t0 = performance.now();
    await stopped;
    const cpu = cpuCores(cpuStart, performance.now() - t0);
    const peak = sampler.stop();
    const measured = since(before, await counters(collector.registry));
    const result: CollectorSide = {
      cpu,
      peak,
      rssBefore,
      afterGc: afterGc(),
      counters: measured,
      serverRefusalMs: latency(serverTimes.refused),
      serverAcceptedMs: latency(serverTimes.accepted),
    };
    process.send!({ type: 'result', result } satisfies FromCollector);
  } finally {
    await collector.shutdown();
  }
}

/** The load side, in the parent. */
export async function driveOverload(child: ChildProcess, mesh: BuiltMesh, options: BenchOptions): Promise<ScenarioResult> {
  const { address } = await next<Extract<FromCollector, { type: 'ready' }>>(child, 'ready');
  const url = `http://${address}/v1/traces`;
  const cycle = new PayloadCycle(mesh.set);
  const rps = requestsPerSecond(mesh.set.batchSize);
  await openLoop(url, cycle, rps, options.warmupMs, OVERLOAD.maxInFlight);
  child.send({ type: 'start' } satisfies ToCollector);
  const load = await openLoop(url, cycle, rps, options.durationMs, OVERLOAD.maxInFlight);
  const done = next<Extract<FromCollector, { type: 'result' }>>(child, 'result');
  child.send({ type: 'stop' } satisfies ToCollector);
  const { result } = await done;
  return { scenario: 'overload', mesh: mesh.summary, run: toRun('collector over HTTP, client in another process', load, mesh.set.batchSize, result) };
}

/** `--scenario overload` on its own: collector and load in this process (RSS includes the client). */
export async function overloadInProcess(options: BenchOptions, mesh: BuiltMesh): Promise<ScenarioResult> {
  const collector = await startLimitedCollector();
  try {
    const url = `http://${collector.otlpAddress}/v1/traces`;
    const cycle = new PayloadCycle(mesh.set);
    const rps = requestsPerSecond(mesh.set.batchSize);
    await openLoop(url, cycle, rps, options.warmupMs, OVERLOAD.maxInFlight);
    const before = await counters(collector.registry);
    const rssBefore = afterGc().rss;
    resetServerTimes();
    const sampler = new RssSampler().start();
    const cpuStart = process.cpuUsage();
    const t0 = performance.now();
    const load = await openLoop(url, cycle, rps, options.durationMs, OVERLOAD.maxInFlight);
    const cpu = cpuCores(cpuStart, performance.now() - t0);
    const peak = sampler.stop();
    const measured = since(before, await counters(collector.registry));
    const collectorSide: CollectorSide = {
      cpu,
      peak,
      rssBefore,
      afterGc: afterGc(),
      counters: measured,
      serverRefusalMs: latency(serverTimes.refused),
      serverAcceptedMs: latency(serverTimes.accepted),
    };
    return { scenario: 'overload', mesh: mesh.summary, run: toRun('collector over HTTP, client in this process', load, mesh.set.batchSize, collectorSide) };
  } finally {
    await collector.shutdown();
  }
}
