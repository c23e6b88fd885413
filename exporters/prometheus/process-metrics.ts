import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * CPU, memory and event-loop metrics of the collector process, under the conventional
 * `process_*` and `nodejs_*` names. Read at scrape time (in `collect()`), nothing on timers.
 * prom-client's default collector is not used: some of its gauges end in `_total`, which
 * Prometheus naming (and `promtool check metrics`) rejects, and its event-loop monitor cannot be
 * stopped with the collector.
 */
export class ProcessMetrics {
  private readonly loop: IntervalHistogram;

  constructor(registry: Registry) {
    const registers = [registry];
    const loop = (this.loop = monitorEventLoopDelay({ resolution: 10 }));
    loop.enable();
    let lastCpu = process.cpuUsage();
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent by the collector, in seconds.',
      registers,
      collect() {
        const now = process.cpuUsage();
        this.inc((now.user - lastCpu.user + now.system - lastCpu.system) / 1e6);
        lastCpu = now;
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory of the collector process, in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'When the collector process started, in seconds since the epoch.',
      registers,
    }).set(Math.round(Date.now() / 1000 - process.uptime()));
    new Gauge({
      name: 'nodejs_heap_size_used_bytes',
      help: 'V8 heap in use, in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Gauge({
      name: 'nodejs_heap_size_total_bytes',
      help: 'V8 heap allocated, in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage().heapTotal);
      },
    });
    new Gauge({
      name: 'nodejs_eventloop_lag_p99_seconds',
      help: 'The 99th percentile of event-loop delay since the previous scrape, in seconds: how long work waited for the collector’s only thread.',
      registers,
      collect() {
        this.set(loop.count > 0 ? loop.percentile(99) / 1e9 : 0);
        loop.reset();
      },
    });
  }

  /** Stops the event-loop monitor. */
  stop(): void {
    this.loop.disable();
  }
}
