/** The shape of Prometheus rule files, and the helpers every rule builder shares. */
import type { Thresholds } from './settings.js';

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string; dashboard_url?: string };
}

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: (AlertRule | RecordingRule)[];
}

/** One rule file: its name under alerts/ and its groups. */
export interface RuleFile {
  file: string;
  groups: RuleGroup[];
}

/** `runbook_url` of an alert: docs/runbooks/<Alert>.md under the configured base. */
export function runbook(t: Thresholds, alert: string): string {
  return `${t.runbook_base_url.replace(/\/$/, '')}/${alert}.md`;
}

/** `dashboard_url` of a dashboard, its variables taken from the alert's labels (Go templates). */
export function dashboard(t: Thresholds, uid: string, vars: Record<string, string> = {}): string {
  const query = Object.entries(vars)
    .map(([name, label]) => `var-${name}={{ $labels.${label} }}`)
    .join('&');
  return `${t.grafana_url.replace(/\/$/, '')}/d/${uid}${query === '' ? '' : `?${query}`}`;
}

/** A PromQL string literal of `value`: quotes and backslashes escaped, so any value stays one string. */
export function str(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A selector: `metric{a="b", <extra>}`, empty matchers left out. */
export function sel(metric: string, ...matchers: string[]): string {
  const m = matchers.filter((x) => x.trim() !== '');
  return m.length === 0 ? metric : `${metric}{${m.join(', ')}}`;
}

/** A threshold written into PromQL and into prose: no float noise (0.30000000000000004). */
export function num(n: number): string {
  return String(Number(n.toPrecision(12)));
}

export function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}
