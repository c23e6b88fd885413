import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Pauses of one kind of garbage collection over a measured phase, in milliseconds. */
export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * The process's garbage collections over a measured phase, as V8 reports them to perf_hooks:
 * young-generation collections (scavenges), major ones (mark-compact), and the steps of
 * incremental marking that run on the main thread before a major one.
 */
export interface GcStats {
  young: GcPauses;
  major: GcPauses;
  incremental: GcPauses;
}

const none = (): GcPauses => ({ count: 0, totalMs: 0, maxMs: 0 });

/** Collects GcStats between `start()` and `stop()`. */
export class GcSampler {
  private readonly stats: GcStats = { young: none(), major: none(), incremental: none() };
  private readonly observer = new PerformanceObserver((list) => this.add(list.getEntries()));

  start(): this {
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  /** Stops observing, counting the collections not delivered yet. */
  stop(): GcStats {
    this.add(this.observer.takeRecords());
    this.observer.disconnect();
    return this.stats;
  }

  private add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const pauses =
        kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? this.stats.young
          : kind === constants.NODE_PERFORMANCE_GC_MAJOR
            ? this.stats.major
            : kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL
              ? this.stats.incremental
              : undefined;
      if (pauses === undefined) continue;
      pauses.count++;
      pauses.totalMs += e.duration;
      pauses.maxMs = Math.max(pauses.maxMs, e.duration);
    }
  }
}
