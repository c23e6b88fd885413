import { cpus } from 'node:os';

/** The q-quantile (0..1) of samples by the nearest-rank method; NaN when there are none. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** p50 and p99 of latency samples, in the samples' unit. */
export interface Latency {
  p50: number;
  p99: number;
  samples: number;
}

export function latency(samples: readonly number[]): Latency {
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), samples: samples.length };
}

/** CPU time used by the process (all threads: the main thread, GC helpers, libuv) since `start`. */
export function cpuCores(start: NodeJS.CpuUsage, elapsedMs: number): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / elapsedMs;
}

/**
 * Share of all CPUs busy over `ms` (0..1), other processes included: sampled before and after a
 * run, it says whether something else was competing for the CPUs.
 */
export async function machineBusy(ms = 1000): Promise<number> {
  const total = () => cpus().reduce((t, c) => ({ busy: t.busy + c.times.user + c.times.nice + c.times.sys + c.times.irq, all: t.all + c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle }), { busy: 0, all: 0 });
  const a = total();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = total();
  return b.all === a.all ? 0 : (b.busy - a.busy) / (b.all - a.all);
}
