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

export interface ExemplarSample {
  labels: Record<string, string>;
  value: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

/**
 * Parses an OpenMetrics exposition: the series as `parseSeries` gives them (so the two formats
 * can be compared), and the exemplars by series. Checks the framing OpenMetrics requires: `# EOF`
 * last, no blank lines.
 */
export function parseOpenMetrics(text: string): { series: Map<string, number>; exemplars: Map<string, ExemplarSample> } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.at(-1) !== '# EOF') throw new Error('OpenMetrics exposition does not end with # EOF');
  lines.pop();
  const plain: string[] = [];
  const exemplarOf = new Map<number, ExemplarSample>();
  for (const line of lines) {
    if (line === '') throw new Error('blank line in an OpenMetrics exposition');
    const m = /^(.*?\S) # \{(.*)\} (\S+) (\S+)$/.exec(line);
    if (m === null || line.startsWith('#')) {
      plain.push(line);
      continue;
    }
    const labels = Object.fromEntries([...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    exemplarOf.set(plain.length, { labels, value: Number(m[3]), timestamp: Number(m[4]) });
    plain.push(m[1]!);
  }
  const series = parseSeries(plain.join('\n'));
  const keys = [...series.keys()];
  const exemplars = new Map<string, ExemplarSample>();
  // parseSeries keeps sample order and skips only comments, so sample i is the i-th non-comment line.
  let sample = 0;
  for (const [i, line] of plain.entries()) {
    if (line.startsWith('#')) continue;
    const x = exemplarOf.get(i);
    if (x !== undefined) exemplars.set(keys[sample]!, x);
    sample++;
  }
  return { series, exemplars };
}

/** The series of `actual` whose name starts with one of `prefixes`. */
export function only(actual: Map<string, number>, prefixes: readonly string[]): Map<string, number> {
  return new Map([...actual].filter(([k]) => prefixes.some((p) => k.startsWith(p))));
}
