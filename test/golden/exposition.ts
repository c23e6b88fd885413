import { Registry } from 'prom-client';
import type { MetricFamily } from '../../collector/model/families.js';
import { FamilyMetric } from '../../exporters/prometheus/family-metric.js';

/** Renders families through prom-client exactly as /metrics does. */
export async function renderFamilies(families: readonly MetricFamily[]): Promise<string> {
  const registry = new Registry();
  for (const f of families) registry.registerMetric(new FamilyMetric(f) as unknown as Parameters<Registry['registerMetric']>[0]);
  return registry.metrics();
}

/**
 * Parses exposition text (or an expected-series file in the same syntax, with `#` comments)
 * into a map from series (name and labels sorted by name) to value.
 */
export function parseSeries(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`);
    labels.sort();
    const key = labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1]!;
    if (series.has(key)) throw new Error(`series twice: ${key}`);
    series.set(key, Number(m[4]));
  }
  return series;
}

/** The series of `actual` whose name starts with one of `prefixes`. */
export function only(actual: Map<string, number>, prefixes: readonly string[]): Map<string, number> {
  return new Map([...actual].filter(([k]) => prefixes.some((p) => k.startsWith(p))));
}
