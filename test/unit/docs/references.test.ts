import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Collector } from '../../../collector/collector.js';
import { loadConfig } from '../../../collector/config/load.js';
import { configSchema } from '../../../collector/config/schema.js';

/** The references in docs/ must name every config key and every metric the collector has. */
const docs = (file: string) => readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', file), 'utf8');

/** Dotted paths of every leaf key of the config schema. */
function leafKeys(schema: unknown, prefix = ''): string[] {
  let s = schema;
  for (let i = 0; i < 8; i++) {
    const def = (s as { def?: { type: string; innerType?: unknown; in?: unknown } }).def;
    if (def === undefined || def.type === 'object') break;
    const inner = def.innerType ?? def.in;
    if (inner === undefined) break;
    s = inner;
  }
  const shape = (s as { shape?: Record<string, unknown> }).shape;
  if (shape === undefined) return [prefix];
  return Object.entries(shape).flatMap(([k, v]) => leafKeys(v, prefix === '' ? k : `${prefix}.${k}`));
}

describe('reference docs', () => {
  it('docs/config.md documents every config key', () => {
    const text = docs('config.md');
    const keys = leafKeys(configSchema);
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((k) => !text.includes(`\`${k}\``))).toEqual([]);
  });

  it('docs/metrics.md documents every metric family the collector exposes', async () => {
    // Every mode, so that the Kafka tier's metrics are in too (constructing connects nothing).
    const names = new Set<string>();
    for (const mode of ['all', 'gateway', 'aggregator']) {
      const collector = new Collector(loadConfig({ flags: { mode, 'kafka-brokers': 'kafka.invalid:9092' } }), { logger: pino({ level: 'silent' }) });
      const exposition = await collector.registry.metrics();
      for (const m of exposition.matchAll(/^# HELP (\S+)/gm)) names.add(m[1]!);
      await collector.shutdown();
    }
    expect(names.size).toBeGreaterThan(35);
    const text = docs('metrics.md');
    expect([...names].filter((n) => !text.includes(`\`${n}\``))).toEqual([]);
  });
});
