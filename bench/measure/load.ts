import { cpuCores, latency, type Latency } from './stats.js';
import { RssSampler, type Memory } from './memory.js';

/** Sends one request; resolves to the number of items it delivered (0 when refused). */
export type Send = () => Promise<number>;

export interface LoadOptions {
  /** Requests kept in flight (a closed loop: each worker sends its next request when one returns). */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  requests: number;
  /** Requests that delivered nothing (not 200). */
  failed: number;
  itemsPerSecond: number;
  requestsPerSecond: number;
  /** Milliseconds from sending a request to having read its whole response. */
  latencyMs: Latency;
  /** CPU time over wall time, in cores: ~1 means one saturated core. */
  cpu: number;
  /** Memory when the RSS sampled during the measured phase was highest. */
  peak: Memory;
}

/**
 * Runs `send` from `concurrency` workers for `warmupMs` (discarded: JIT, pools and caches warm
 * up), then for `durationMs`, and reports throughput, latency, CPU and peak RSS of that phase.
 * `onMeasure` is called when the measured phase starts (to tell a server in another process).
 */
export async function runLoad(send: Send, options: LoadOptions, onMeasure?: () => void): Promise<LoadResult> {
  await phase(send, options.concurrency, options.warmupMs);
  onMeasure?.();
  const sampler = new RssSampler().start();
  const cpuStart = process.cpuUsage();
  const result = await phase(send, options.concurrency, options.durationMs);
  const peak = sampler.stop();
  const seconds = result.elapsedMs / 1000;
  return {
    requests: result.latencies.length,
    failed: result.failed,
    itemsPerSecond: result.items / seconds,
    requestsPerSecond: result.latencies.length / seconds,
    latencyMs: latency(result.latencies),
    cpu: cpuCores(cpuStart, result.elapsedMs),
    peak,
  };
}

async function phase(send: Send, concurrency: number, durationMs: number) {
  const started = performance.now();
  const deadline = started + durationMs;
  const latencies: number[] = [];
  let items = 0;
  let failed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const n = await send();
      latencies.push(performance.now() - t0);
      if (n === 0) failed++;
      items += n;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, items, failed, elapsedMs: performance.now() - started };
}
