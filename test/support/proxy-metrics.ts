import { Aggregator, type Clock } from '../../collector/aggregation/aggregator.js';
import { aggregationConfigSchema } from '../../collector/aggregation/config.js';
import type { KeyValue } from '../../collector/model/common.js';
import { Temporality, countPoints, type Metric, type MetricsData, type NumberPoint } from '../../collector/model/metrics.js';
import { parseSeries, renderFamilies } from '../golden/exposition.js';

/**
 * Proxy metrics built by hand for unit tests of the golden metrics: one proxy instance (a pod of
 * a workload in namespace `default`) reporting Linkerd-named number metrics, fed to an
 * Aggregator on the test's own clock, and the exposition read back as series.
 */

/** When the collector starts, in ms since the epoch; points should start after it to count whole. */
export const T0 = 1_800_000_000_000;
export const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

export class TestClock implements Clock {
  t = T0;
  now(): number {
    return this.t;
  }
}

/** An aggregator on `clock` with the given `aggregation` config (defaults for the rest). */
export function aggregator(clock: Clock, config: Record<string, unknown> = {}): Aggregator {
  return new Aggregator(aggregationConfigSchema.parse(config), clock);
}

export interface PointSpec {
  attributes: Record<string, string | number>;
  value: number;
  /** Start time in ms; by default one second after the collector started. */
  startMs?: number;
}

const kv = (attributes: Record<string, string | number>): KeyValue[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: typeof value === 'number' ? BigInt(value) : value }));

function points(specs: PointSpec[], clock: Clock): NumberPoint[] {
  return specs.map((p) => ({
    attributes: kv(p.attributes),
    startTimeUnixNano: ns(p.startMs ?? T0 + 1000),
    timeUnixNano: ns(clock.now()),
    exemplars: [],
    flags: 0,
    value: p.value,
  }));
}

/** A monotonic sum, cumulative unless `temporality` says otherwise. */
export function sum(name: string, specs: PointSpec[], clock: Clock, temporality: Temporality = Temporality.CUMULATIVE): Metric {
  return { name, description: '', unit: '', metadata: [], data: { type: 'sum', monotonic: true, temporality, points: points(specs, clock) } };
}

export function gauge(name: string, specs: PointSpec[], clock: Clock): Metric {
  return { name, description: '', unit: 's', metadata: [], data: { type: 'gauge', points: points(specs, clock) } };
}

/** What pod `pod` of `workload` (namespace `default`) exports. */
export function fromPod(workload: string, pod: string, metrics: Metric[]): MetricsData {
  const resource = { 'service.name': workload, 'k8s.namespace.name': 'default', 'k8s.pod.name': pod };
  return {
    resourceMetrics: [
      {
        resource: { attributes: kv(resource), droppedAttributesCount: 0 },
        scopeMetrics: [{ scope: { name: 'test-proxy', version: '', attributes: [], droppedAttributesCount: 0 }, metrics, schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
}

export function consume(agg: Aggregator, data: MetricsData): void {
  agg.consumeMetrics({ data, items: countPoints(data), source: { receiver: 'test' } });
}

/** The exposition, as series keyed by name and sorted labels. */
export async function exposition(agg: Aggregator): Promise<Map<string, number>> {
  return parseSeries(await renderFamilies(agg.families()));
}
