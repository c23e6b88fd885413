import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../collector/config/load.js';

/** A Prometheus duration as rules write it: `30s`, `5m`, `1h`, `3d`. */
export const promDuration = z.string().regex(/^\d+(ms|s|m|h|d|w|y)$/, 'must be a Prometheus duration like "30s", "5m" or "1h"');

const ratio = z.number().gt(0).lt(1);
const levels = z.strictObject({ warning: z.number().positive(), critical: z.number().positive() });

/**
 * Every threshold and selector of the shipped rules, in one file (`alerts/thresholds.yml`), so an
 * operator tunes them without editing rules; `meshtel alerts generate` writes the rule files.
 */
export const thresholdsSchema = z.strictObject({
  /** The `job` label of the collectors' scrape job. */
  job: z.string().min(1).default('meshtel'),
  /** Extra label matchers for the golden-signal alerts, e.g. `namespace!~"kube-system"`. */
  workload_matchers: z.string().default(''),
  edge_matchers: z.string().default(''),
  /** Requests per second below which no ratio alert fires (an idle service does not page). */
  min_request_rate: z.number().positive().default(0.1),
  /** Share of requests failing. */
  error_ratio: levels.prefault({ warning: 0.05, critical: 0.2 }),
  /** p99 latency, seconds. */
  latency_p99_seconds: levels.prefault({ warning: 0.5, critical: 2 }),
  /** Traffic that stopped: some 5 minutes of the `lookback` before `offset` ago had `min_request_rate` or more. */
  traffic_stopped: z.strictObject({ lookback: promDuration.default('1d'), offset: promDuration.default('15m'), min_request_rate: z.number().positive().default(1) }).prefault({}),
  /** Share of TCP connections closing with an error, and the connection rate below which it is ignored. */
  tcp_error_ratio: ratio.default(0.05),
  min_connection_rate: z.number().positive().default(0.05),
  /** Namespaces (regex) where every inbound request must be mTLS, and workloads (regex) allowed plaintext there (ingress). */
  mtls_only_namespaces: z.string().default(''),
  plaintext_allowed_workloads: z.string().default(''),
  /** Workload certificates expiring within these many hours. */
  certificate_expiry_hours: levels.prefault({ warning: 6, critical: 1 }),
  /** Pipeline health. */
  refused_ratio: ratio.default(0.01),
  export_queue_full_ratio: ratio.default(0.8),
  kafka_lag_messages: z.number().int().positive().default(10_000),
  unpaired_ratio: ratio.default(0.2),
  /** Where alerts link to: runbooks (docs/runbooks/<Alert>.md) and Grafana dashboards. */
  runbook_base_url: z.url().default('https://github.com/meshtel/meshtel/blob/main/docs/runbooks'),
  grafana_url: z.url().default('http://localhost:3000'),
});
export type Thresholds = z.output<typeof thresholdsSchema>;

const workloadRef = z.strictObject({ namespace: z.string().min(1), name: z.string().min(1) });

/** One objective: availability (non-failing requests) or latency (requests at most `threshold`). */
const sloSchema = z
  .strictObject({
    /** Unique, the `slo` label of its rules and alerts. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
    /** A workload's inbound requests, or the requests of one edge (as the source counted them). */
    workload: workloadRef.optional(),
    edge: z.strictObject({ source: workloadRef, destination: workloadRef }).optional(),
    sli: z.enum(['availability', 'latency']),
    /** Percent of good requests over `window`, e.g. 99.9. */
    objective: z.number().gt(0).lt(100),
    /** For latency: the slowest a good request may be; one of the bucket bounds of the golden metrics. */
    threshold: promDuration.optional(),
    window: promDuration.default('30d'),
  })
  .superRefine((slo, ctx) => {
    if ((slo.workload === undefined) === (slo.edge === undefined)) ctx.addIssue({ code: 'custom', message: 'must name exactly one of workload or edge' });
    if (slo.sli === 'latency' && slo.threshold === undefined) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'is required for a latency objective' });
    if (slo.sli === 'availability' && slo.threshold !== undefined) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'applies to latency objectives only' });
  });
export type Slo = z.output<typeof sloSchema>;

export const sloFileSchema = z.strictObject({ slos: z.array(sloSchema).default([]) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.slos.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: `"${s.name}" is used twice` });
    seen.add(s.name);
  });
});

/** Reads and validates a YAML file (an absent `file` gives the schema's defaults); throws a ConfigError naming every problem. */
export function loadYaml<S extends z.ZodType>(schema: S, file: string | undefined): z.output<S> {
  let value: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([`${file}: cannot read it (${(e as Error).message})`]);
    }
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`));
    value = doc.toJS() ?? {};
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`),
    file,
  );
}
