import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/**
 * A value that may be given on the command line or in the environment instead of the file.
 * Precedence: flags > environment > file > defaults.
 */
export interface Override {
  flag: string;
  env: string;
  path: readonly string[];
  description: string;
  /** The value the flag's text stands for at `path` (default: the text itself). */
  toValue?: (text: string) => unknown;
}

export const OVERRIDES: readonly Override[] = [
  { flag: 'otlp-endpoint', env: 'MESHTEL_OTLP_ENDPOINT', path: ['receivers', 'otlp', 'endpoint'], description: 'OTLP/HTTP receiver HOST:PORT (default 127.0.0.1:4318; port 0 picks one)' },
  { flag: 'admin-endpoint', env: 'MESHTEL_ADMIN_ENDPOINT', path: ['admin', 'endpoint'], description: 'admin server HOST:PORT (default 127.0.0.1:9464; port 0 picks one)' },
  {
    flag: 'jaeger-endpoint',
    env: 'MESHTEL_JAEGER_ENDPOINT',
    path: ['exporters', 'traces'],
    description: 'send traces to Jaeger: http://host:4318 (OTLP), http://host:14268/api/traces (Thrift), udp://host:6832 (agent)',
    toValue: (url) => [{ name: 'jaeger', endpoint: url }],
  },
  {
    flag: 'kafka-brokers',
    env: 'MESHTEL_KAFKA_BROKERS',
    path: ['kafka', 'brokers'],
    description: 'Kafka bootstrap brokers, HOST:PORT,... (gateway and aggregator modes)',
    toValue: (list) => list.split(',').map((b) => b.trim()).filter((b) => b !== ''),
  },
  { flag: 'mode', env: 'MESHTEL_MODE', path: ['mode'], description: 'all (default), gateway (OTLP in, Kafka out) or aggregator (Kafka in)' },
  { flag: 'log-level', env: 'MESHTEL_LOG_LEVEL', path: ['log', 'level'], description: 'trace, debug, info, warn or error' },
];

/** The environment variable naming the config file when `--config` is not given. */
export const CONFIG_ENV = 'MESHTEL_CONFIG';

/** Every problem found in a configuration, each prefixed with the key it is about. */
export class ConfigError extends Error {
  readonly code = 'MESHTEL_ERR_CONFIG';

  constructor(
    readonly problems: string[],
    file?: string,
  ) {
    super(`invalid configuration${file ? ` in ${file}` : ''}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export interface LoadOptions {
  file?: string | undefined;
  flags?: Readonly<Record<string, string | undefined>>;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads, merges and validates the configuration; throws a ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? {};
  const file = options.file ?? env[CONFIG_ENV];
  const raw: Record<string, unknown> = file === undefined ? {} : readConfigFile(file);
  const origins = new Map<string, string>();
  for (const o of OVERRIDES) {
    const value = o.toValue ?? ((text: string) => text);
    const fromEnv = env[o.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      setPath(raw, o.path, value(fromEnv));
      origins.set(o.path.join('.'), `from ${o.env}`);
    }
    const fromFlag = options.flags?.[o.flag];
    if (fromFlag !== undefined) {
      setPath(raw, o.path, value(fromFlag));
      origins.set(o.path.join('.'), `from --${o.flag}`);
    }
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.flatMap((issue) => describeIssue(issue, origins)),
    file,
  );
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the config file (${code === 'ENOENT' ? 'no such file' : (e as Error).message})`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}:${e.linePos?.[0]?.col ?? '?'}: ${e.message.split('\n')[0]}`));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${file}: the config file must be a YAML mapping of sections (receivers, admin, aggregation, ...)`]);
  }
  return value as Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue, origins: Map<string, string>): string[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys.map((key) => {
      const at = issue.path.length === 0 ? key : `${path}.${key}`;
      const hint = closest(key, known);
      return `${at}: unknown key${hint ? ` (did you mean "${hint}"?)` : known.length > 0 ? ` (known keys: ${known.join(', ')})` : ''}`;
    });
  }
  const origin = [...origins].find(([p]) => issue.path.join('.').startsWith(p))?.[1];
  let message = issue.message;
  if (issue.code === 'invalid_type') message = issue.expected === 'int' ? 'must be a whole number' : `must be ${article(issue.expected)}`;
  if (issue.code === 'invalid_value') message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'too_small') message = `must be ${issue.inclusive ? 'at least' : 'greater than'} ${String(issue.minimum)}`;
  if (issue.code === 'too_big') message = `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`;
  return [`${path}${origin ? ` (${origin})` : ''}: ${message}`];
}

function article(type: string): string {
  return type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The keys the schema accepts at `path`, for "did you mean" hints. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const key of [...path, null]) {
    // Unwrap defaults, prefaults, optionals and pipes down to the object schema.
    for (let i = 0; i < 8; i++) {
      const def = (schema as { def?: { type: string; innerType?: unknown; in?: unknown } }).def;
      if (def === undefined) return [];
      if (def.type === 'object') break;
      schema = def.innerType ?? def.in;
    }
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (shape === undefined) return [];
    if (key === null) return Object.keys(shape);
    schema = shape[String(key)];
  }
  return [];
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

/** Levenshtein distance, for typo hints on a handful of short keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
