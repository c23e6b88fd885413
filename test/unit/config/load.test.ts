import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../collector/config/load.js';
import { formatDuration, parseByteSize, parseDuration, parseEndpoint } from '../../../collector/config/units.js';

const dir = mkdtempSync(join(tmpdir(), 'meshtel-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('units', () => {
  it('parses durations, sizes and endpoints', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2 weeks')).toBeUndefined();
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(parseByteSize('20MiB')).toBe(20 * 1024 * 1024);
    expect(parseByteSize('1GB')).toBe(1e9);
    expect(parseByteSize('lots')).toBeUndefined();
    expect(parseEndpoint('127.0.0.1:4318')).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(parseEndpoint('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseEndpoint(':9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseEndpoint('jaeger')).toBeUndefined();
    expect(parseEndpoint('host:70000')).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('runs on defaults with no file at all', () => {
    const c = loadConfig();
    expect(c.receivers.otlp.endpoint).toEqual({ host: '127.0.0.1', port: 4318 });
    expect(c.receivers.otlp.max_body_size).toBe(20 * 1024 * 1024);
    expect(c.admin.endpoint).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(c.aggregation.service_graph.store_ttl).toBe(2000);
    expect(c.aggregation.span_metrics.histogram_buckets[0]).toBe(2);
  });

  it('reads a YAML file and fills what it leaves out', () => {
    const c = loadConfig({
      file: file('ok.yaml', 'receivers:\n  otlp:\n    endpoint: 0.0.0.0:14318\n    max_body_size: 4MiB\naggregation:\n  service_graph:\n    store_ttl: 5s\n'),
    });
    expect(c.receivers.otlp.endpoint).toEqual({ host: '0.0.0.0', port: 14318 });
    expect(c.receivers.otlp.max_body_size).toBe(4 * 1024 * 1024);
    expect(c.aggregation.service_graph.store_ttl).toBe(5000);
    expect(c.aggregation.service_graph.store_max_items).toBe(20_000);
  });

  it('takes flags over the environment over the file', () => {
    const path = file('precedence.yaml', 'receivers:\n  otlp:\n    endpoint: 127.0.0.1:1001\nadmin:\n  endpoint: 127.0.0.1:2001\nlog:\n  level: warn\n');
    const env = { MESHTEL_OTLP_ENDPOINT: '127.0.0.1:1002', MESHTEL_ADMIN_ENDPOINT: '127.0.0.1:2002' };
    const c = loadConfig({ file: path, env, flags: { 'otlp-endpoint': '127.0.0.1:1003' } });
    expect(c.receivers.otlp.endpoint.port).toBe(1003);
    expect(c.admin.endpoint.port).toBe(2002);
    expect(c.log.level).toBe('warn');
  });

  it('finds the file through MESHTEL_CONFIG', () => {
    const path = file('env.yaml', 'admin:\n  endpoint: 127.0.0.1:3001\n');
    expect(loadConfig({ env: { MESHTEL_CONFIG: path } }).admin.endpoint.port).toBe(3001);
  });

  it('reports every problem at once, each by its path', () => {
    const path = file(
      'bad.yaml',
      [
        'receivers:',
        '  otlp:',
        '    endpoint: jaeger',
        '    max_body_size: huge',
        'admin:',
        '  endpont: 127.0.0.1:9464',
        'aggregation:',
        '  service_graph:',
        '    store_max_items: -3',
        '    histogram_buckets: [10ms, 5ms]',
        '  max_series_per_metric: lots',
        'log:',
        '  level: loud',
        'exporterz: {}',
      ].join('\n'),
    );
    const p = problems(() => loadConfig({ file: path }));
    expect(p).toEqual(
      expect.arrayContaining([
        'receivers.otlp.endpoint: must be HOST:PORT, for example "127.0.0.1:4318" (got "jaeger")',
        expect.stringMatching(/^receivers\.otlp\.max_body_size: must be a size like/),
        'admin.endpont: unknown key (did you mean "endpoint"?)',
        expect.stringMatching(/^aggregation\.service_graph\.store_max_items: /),
        'aggregation.service_graph.histogram_buckets: must be strictly increasing (bucket 1 is not above bucket 0)',
        'aggregation.max_series_per_metric: must be a number',
        expect.stringMatching(/^log\.level: must be one of "trace", "debug", "info"/),
        expect.stringMatching(/^exporterz: unknown key/),
      ]),
    );
    expect(p).toHaveLength(8);
  });

  it('names the flag or variable a bad value came from', () => {
    expect(problems(() => loadConfig({ flags: { 'otlp-endpoint': 'nope' } }))).toEqual([
      'receivers.otlp.endpoint (from --otlp-endpoint): must be HOST:PORT, for example "127.0.0.1:4318" (got "nope")',
    ]);
    expect(problems(() => loadConfig({ env: { MESHTEL_LOG_LEVEL: 'chatty' } }))[0]).toMatch(/^log\.level \(from MESHTEL_LOG_LEVEL\): must be one of/);
  });

  it('reports unreadable and malformed files with their position', () => {
    expect(problems(() => loadConfig({ file: join(dir, 'missing.yaml') }))).toEqual([`${join(dir, 'missing.yaml')}: cannot read the config file (no such file)`]);
    const broken = file('broken.yaml', 'receivers:\n  otlp: [unclosed\n');
    expect(problems(() => loadConfig({ file: broken }))[0]).toMatch(new RegExp(`^${broken}:\\d+:\\d+: `));
    const list = file('list.yaml', '- a\n- b\n');
    expect(problems(() => loadConfig({ file: list }))[0]).toMatch(/must be a YAML mapping/);
  });

  it('accepts an empty file', () => {
    expect(loadConfig({ file: file('empty.yaml', '') }).mode).toBe('all');
  });
});
