import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MiB = 1024 * 1024;

/** Process memory in MiB: resident set, V8 heap (reserved and used), memory outside it (Buffers). */
export interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

export function memory(): Memory {
  const m = process.memoryUsage();
  return { rss: m.rss / MiB, heapTotal: m.heapTotal / MiB, heapUsed: m.heapUsed / MiB, external: m.external / MiB };
}

/**
 * Samples the resident set size every few milliseconds while running, and keeps the peak with
 * what made it up. Timers fire between requests, since everything here waits on I/O or promises.
 */
export class RssSampler {
  private peak: Memory = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 25): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops sampling; returns the memory at the peak RSS (one last sample included). */
  stop(): Memory {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  sample(): void {
    // rss() alone is cheap; the full breakdown only when there is a new peak.
    if (process.memoryUsage.rss() / MiB > this.peak.rss) this.peak = memory();
  }
}

type Gc = () => void;

/** `global.gc`, exposed on demand when node was not started with --expose-gc. */
function gcFunction(): Gc {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
}

/** Memory after full garbage collections: what the process really holds. */
export function afterGc(): Memory {
  const gc = gcFunction();
  gc();
  gc();
  return memory();
}
