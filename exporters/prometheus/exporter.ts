import { Gauge, Registry, type OpenMetricsContentType } from 'prom-client';
import type { MetricFamily } from '../../collector/model/families.js';
import { FamilyMetric } from './family-metric.js';
import { ProcessMetrics } from './process-metrics.js';

/** The exposition formats `/metrics` speaks; see `negotiate()`. */
export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  text: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

type RegisteredMetric = Parameters<Registry['registerMetric']>[0];

/** What prom-client's Registry reads of a registered metric (its typings do not say). */
interface MetricShape {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  get(): Samples | Promise<Samples>;
}

interface Samples {
  name: string;
  type: string;
  values?: readonly unknown[];
}

/**
 * The Prometheus exporter: registers the aggregation's families in the collector's Registry,
 * next to the self-telemetry and the process metrics, and renders the exposition that `/metrics`
 * serves (pull): the text format 0.0.4, or OpenMetrics 1.0 with the histograms' exemplars (trace
 * ids) for scrapers that ask for it. Label values are escaped by prom-client, so no input can
 * break either.
 */
export class PrometheusExporter {
  private readonly process: ProcessMetrics;

  constructor(
    private readonly registry: Registry,
    families: readonly MetricFamily[],
    version: string,
  ) {
    for (const f of families) registry.registerMetric(new FamilyMetric(f) as unknown as RegisteredMetric);
    this.process = new ProcessMetrics(registry);
    new Gauge({
      name: 'meshtel_build_info',
      help: 'Always 1; the version label says which meshtel is running.',
      labelNames: ['version'],
      registers: [registry],
    }).set({ version }, 1);
  }

  /** Every registered family in `format`; the same series and values in both. */
  render(format: ExpositionFormat = 'text'): Promise<string> {
    if (format === 'text') return this.registry.metrics();
    // prom-client renames a counter it renders as OpenMetrics in place (dropping `_total`), which
    // would break the next text render; a throwaway registry of views keeps the real one intact.
    const view = new Registry<OpenMetricsContentType>();
    view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    // The typings say getMetricsAsArray() returns MetricObjects; it returns what was registered.
    for (const m of this.registry.getMetricsAsArray() as unknown[]) view.registerMetric(openMetricsView(m as MetricShape) as unknown as RegisteredMetric);
    return view.metrics();
  }

  shutdown(): void {
    this.process.stop();
  }
}

/**
 * A registered metric as OpenMetrics renders it: a counter's family named without `_total`
 * (prom-client adds the suffix back to each sample), histograms with their exemplars.
 */
function openMetricsView(metric: MetricShape): MetricShape & { reset(): void } {
  return {
    name: metric.name,
    help: metric.help,
    type: metric.type,
    aggregator: metric.aggregator,
    get: async () => {
      const m = metric instanceof FamilyMetric ? metric.get(true) : await metric.get();
      return m.type === 'counter' ? { ...m, name: m.name.replace(/_total$/, '') } : m;
    },
    reset: () => {},
  };
}

/**
 * The format a scraper's Accept header asks for: OpenMetrics when it ranks
 * `application/openmetrics-text` at least as high as the text format (Prometheus does: only
 * OpenMetrics carries exemplars), else the text format, also when there is no header.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text';
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text ? 'openmetrics' : 'text';
}
