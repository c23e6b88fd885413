import { Gauge, type Registry } from 'prom-client';
import type { MetricFamily } from '../../collector/model/families.js';
import { FamilyMetric } from './family-metric.js';
import { ProcessMetrics } from './process-metrics.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The Prometheus exporter: registers the aggregation's families in the collector's Registry,
 * next to the self-telemetry and the process metrics, and renders the text exposition that
 * `/metrics` serves (pull). Label values are escaped by prom-client, so no input can break it.
 */
export class PrometheusExporter {
  private readonly process: ProcessMetrics;

  constructor(
    private readonly registry: Registry,
    families: readonly MetricFamily[],
    version: string,
  ) {
    for (const f of families) registry.registerMetric(new FamilyMetric(f) as unknown as Parameters<Registry['registerMetric']>[0]);
    this.process = new ProcessMetrics(registry);
    new Gauge({
      name: 'meshtel_build_info',
      help: 'Always 1; the version label says which meshtel is running.',
      labelNames: ['version'],
      registers: [registry],
    }).set({ version }, 1);
  }

  /** The text exposition of every registered family. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  shutdown(): void {
    this.process.stop();
  }
}
