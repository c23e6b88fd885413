/**
 * SLO rules from an SLO file: per objective, the error ratio over every burn-rate window as
 * recording rules, and multi-window, multi-burn-rate alerts (the Google SRE workbook's): page when
 * the budget of the SLO window would be gone in 2 days (1h and 5m at 14.4x) or 5 days (6h and 30m
 * at 6x), open a ticket at 10 days (1d and 2h at 3x) or when it is exactly being spent (3d and 6h
 * at 1x). The short window of each pair makes the alert stop soon after the errors do.
 */
import { UID } from '../../dashboards/uids.js';
import { goldenConfigSchema } from '../../collector/aggregation/golden/config.js';
import { parseDuration } from '../../collector/config/units.js';
import { dashboard, num, runbook, sel, str, type AlertRule, type RecordingRule, type RuleFile, type RuleGroup } from './rules.js';
import type { Slo, Thresholds } from './settings.js';

/** [long window, short window, burn-rate factor], by severity. */
const PAGE = [
  ['1h', '5m', 14.4],
  ['6h', '30m', 6],
] as const;
const TICKET = [
  ['1d', '2h', 3],
  ['3d', '6h', 1],
] as const;
const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

const ALERT = 'MeshtelErrorBudgetBurn';

export function sloRules(t: Thresholds, slos: readonly Slo[]): RuleFile {
  return { file: 'meshtel-slo.rules.yml', groups: slos.map((s) => sloGroup(t, s)) };
}

/** The labels every rule of an SLO carries: the SLO and whom it is about. */
function identity(s: Slo): Record<string, string> {
  const who: Record<string, string> = s.workload
    ? { namespace: s.workload.namespace, workload: s.workload.name }
    : { src_namespace: s.edge!.source.namespace, src_workload: s.edge!.source.name, dst_namespace: s.edge!.destination.namespace, dst_workload: s.edge!.destination.name };
  return { slo: s.name, sli: s.sli, ...who };
}

/** Bad requests over all requests in `window`, for the SLO's workload or edge. */
function errorRatio(s: Slo, window: string): string {
  const prefix = s.workload ? 'meshtel_workload' : 'meshtel_edge';
  const who = Object.entries(identity(s))
    .filter(([k]) => k !== 'slo' && k !== 'sli')
    .map(([k, v]) => `${k}=${str(v)}`);
  if (s.sli === 'availability') {
    // `or vector(0)`: no failure series yet is a ratio of 0, not no data (a healthy service
    // must show its budget, and its burn alerts must have something to evaluate).
    return `(sum(rate(${sel(`${prefix}_requests_total`, ...who, 'classification="failure"')}[${window}])) or vector(0))
/
sum(rate(${sel(`${prefix}_requests_total`, ...who)}[${window}]))`;
  }
  const le = latencyBound(s);
  return `1 - (
  sum(rate(${sel(`${prefix}_request_duration_seconds_bucket`, ...who, `le="${le}"`)}[${window}]))
/
  sum(rate(${sel(`${prefix}_request_duration_seconds_count`, ...who)}[${window}]))
)`;
}

/** The `le` of the latency threshold, which must be one of the golden histograms' bounds. */
function latencyBound(s: Slo): string {
  const ms = parseDuration(s.threshold!)!;
  const bounds = goldenConfigSchema.parse({}).histogram_buckets;
  if (!bounds.includes(ms)) {
    throw new Error(`slo "${s.name}": threshold ${s.threshold} is not a bucket bound of the latency histograms (${bounds.map((b) => `${b}ms`).join(', ')})`);
  }
  return String(ms / 1000);
}

const ratioRecord = (w: string) => `meshtel:slo_error_ratio:rate${w}`;

function sloGroup(t: Thresholds, s: Slo): RuleGroup {
  const labels = identity(s);
  const budget = 1 - s.objective / 100;
  const windows = [...WINDOWS, ...(WINDOWS.includes(s.window) ? [] : [s.window])];
  const records: RecordingRule[] = [
    ...windows.map((w) => ({ record: ratioRecord(w), expr: errorRatio(s, w), labels })),
    { record: 'meshtel:slo_objective:ratio', expr: `vector(${num(s.objective / 100)})`, labels },
    {
      record: 'meshtel:slo_error_budget_remaining:ratio',
      expr: `1 - ${sel(ratioRecord(s.window), `slo="${s.name}"`)} / ${num(budget)}`,
      labels,
    },
  ];
  const burn = (pairs: typeof PAGE | typeof TICKET) =>
    pairs
      .map(([long, short, factor]) => `(
  ${sel(ratioRecord(long), `slo="${s.name}"`)} > ${num(factor * budget)}
and
  ${sel(ratioRecord(short), `slo="${s.name}"`)} > ${num(factor * budget)}
)`)
      .join('\nor\n');
  const who = s.workload ? `${s.workload.namespace}/${s.workload.name}` : `${s.edge!.source.namespace}/${s.edge!.source.name} -> ${s.edge!.destination.namespace}/${s.edge!.destination.name}`;
  const what = s.sli === 'availability' ? 'requests failing' : `requests slower than ${s.threshold}`;
  const alert = (severity: 'critical' | 'warning', pairs: typeof PAGE | typeof TICKET, pace: string): AlertRule => ({
    alert: ALERT,
    expr: burn(pairs),
    for: severity === 'critical' ? '2m' : '15m',
    labels: { severity, ...labels },
    annotations: {
      summary: `SLO ${s.name} (${s.sli} of ${who}) burns its error budget ${pace}`,
      description: `{{ $value | humanizePercentage }} of the requests of ${who} are bad (${what}) over the long window; the objective of ${num(s.objective)}% over ${s.window} allows ${num(budget * 100)}%: at this pace the budget is gone ${pace === 'fast' ? 'within days' : 'before the window ends'}.`,
      runbook_url: runbook(t, ALERT),
      dashboard_url: dashboard(t, UID.slo, { slo: 'slo' }),
    },
  });
  return { name: `meshtel-slo-${s.name}`, rules: [...records, alert('critical', PAGE, 'fast'), alert('warning', TICKET, 'slowly')] };
}
