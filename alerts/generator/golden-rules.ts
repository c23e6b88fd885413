/** Golden-signal alerts per workload (inbound) and per edge (outbound), from meshtel's golden metrics. */
import { UID } from '../../dashboards/uids.js';
import { dashboard, num, percent, runbook, sel, str, type AlertRule, type RuleFile, type Severity } from './rules.js';
import type { Thresholds } from './settings.js';

/** What differs between the workload and the edge alerts. */
interface Scope {
  /** `Workload` or `Edge`, in alert names. */
  name: string;
  prefix: string;
  by: string;
  matchers: string;
  /** Who, in annotations. */
  who: string;
  dashboard: (t: Thresholds) => string;
}

const WORKLOAD: Scope = {
  name: 'Workload',
  prefix: 'meshtel_workload',
  by: 'namespace, workload',
  matchers: '',
  who: '{{ $labels.namespace }}/{{ $labels.workload }}',
  dashboard: (t) => dashboard(t, UID.workload, { namespace: 'namespace', workload: 'workload' }),
};

const EDGE: Scope = {
  name: 'Edge',
  prefix: 'meshtel_edge',
  by: 'src_namespace, src_workload, dst_namespace, dst_workload',
  matchers: '',
  who: '{{ $labels.src_namespace }}/{{ $labels.src_workload }} -> {{ $labels.dst_namespace }}/{{ $labels.dst_workload }}',
  dashboard: (t) =>
    dashboard(t, UID.edge, { src_namespace: 'src_namespace', src_workload: 'src_workload', dst_namespace: 'dst_namespace', dst_workload: 'dst_workload' }),
};

export function goldenRules(t: Thresholds): RuleFile {
  const scopes = [
    { ...WORKLOAD, matchers: t.workload_matchers },
    { ...EDGE, matchers: t.edge_matchers },
  ];
  return {
    file: 'meshtel-golden.rules.yml',
    groups: scopes.map((s) => ({
      name: `meshtel-golden-${s.name.toLowerCase()}`,
      rules: [
        errorRatio(t, s, 'critical'),
        errorRatio(t, s, 'warning'),
        latency(t, s, 'critical'),
        latency(t, s, 'warning'),
        trafficStopped(t, s),
        tcpErrors(t, s),
      ],
    })),
  };
}

/** Requests per second of the scope over `range` (`[5m]`, `[1h] offset 15m`), summed over collectors. */
function requestRate(s: Scope, range = '[5m]'): string {
  return `sum by (${s.by}) (rate(${sel(`${s.prefix}_requests_total`, s.matchers)}${range}))`;
}

function guard(t: Thresholds, s: Scope): string {
  return `${requestRate(s)} >= ${num(t.min_request_rate)}`;
}

const whose = (s: Scope) => (s.name === 'Workload' ? 'of requests to' : 'of requests on the edge');

function errorRatio(t: Thresholds, s: Scope, severity: Severity): AlertRule {
  const alert = `Meshtel${s.name}ErrorRateHigh`;
  const limit = t.error_ratio[severity as 'warning' | 'critical'];
  return {
    alert,
    expr: `(
  sum by (${s.by}) (rate(${sel(`${s.prefix}_requests_total`, 'classification="failure"', s.matchers)}[5m]))
/
  ${requestRate(s)}
) > ${num(limit)}
and
${guard(t, s)}`,
    for: severity === 'critical' ? '5m' : '10m',
    labels: { severity },
    annotations: {
      summary: `${s.name} ${s.who} fails more than ${percent(limit)} of its requests`,
      description: `{{ $value | humanizePercentage }} ${whose(s)} ${s.who} failed over the last 5 minutes (threshold ${percent(limit)}, at least ${num(t.min_request_rate)} requests/s).`,
      runbook_url: runbook(t, alert),
      dashboard_url: s.dashboard(t),
    },
  };
}

function latency(t: Thresholds, s: Scope, severity: Severity): AlertRule {
  const alert = `Meshtel${s.name}LatencyHigh`;
  const limit = t.latency_p99_seconds[severity as 'warning' | 'critical'];
  return {
    alert,
    expr: `histogram_quantile(0.99, sum by (${s.by}, le) (rate(${sel(`${s.prefix}_request_duration_seconds_bucket`, s.matchers)}[5m]))) > ${num(limit)}
and on (${s.by})
${guard(t, s)}`,
    for: severity === 'critical' ? '5m' : '10m',
    labels: { severity },
    annotations: {
      summary: `${s.name} ${s.who} answers slowly: p99 above ${num(limit)}s`,
      description: `The p99 latency ${whose(s)} ${s.who} is {{ $value | humanizeDuration }} over the last 5 minutes (threshold ${num(limit)}s).`,
      runbook_url: runbook(t, alert),
      dashboard_url: s.dashboard(t),
    },
  };
}

function trafficStopped(t: Thresholds, s: Scope): AlertRule {
  const alert = `Meshtel${s.name}TrafficStopped`;
  const { lookback, offset, min_request_rate } = t.traffic_stopped;
  return {
    alert,
    // "Used to flow": its busiest 5 minutes over the lookback (a plain rate over the lookback
    // would slide past the stop and resolve while traffic is still gone). A series an idle
    // collector dropped is as stopped as one at zero: `unless`, not `== 0`.
    expr: `max_over_time(${requestRate(s)}[${lookback}:5m] offset ${offset}) >= ${num(min_request_rate)}
unless on (${s.by})
${requestRate(s)} > 0
and on ()
(sum(up{job=${str(t.job)}}) > 0)`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `Traffic ${s.name === 'Workload' ? 'to' : 'on'} ${s.who} stopped`,
      description: `${s.who} had up to {{ $value | humanize }} requests/s over the ${lookback} before the last ${offset}, and none in the last 5 minutes.`,
      runbook_url: runbook(t, alert),
      dashboard_url: s.dashboard(t),
    },
  };
}

function tcpErrors(t: Thresholds, s: Scope): AlertRule {
  const alert = `Meshtel${s.name}TcpConnectionErrors`;
  const closed = `${s.prefix}_tcp_closed_connections_total`;
  const all = `sum by (${s.by}) (rate(${sel(closed, s.matchers)}[5m]))`;
  return {
    alert,
    expr: `(
  sum by (${s.by}) (rate(${sel(closed, 'outcome="error"', s.matchers)}[5m]))
/
  ${all}
) > ${num(t.tcp_error_ratio)}
and
${all} >= ${num(t.min_connection_rate)}`,
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: `TCP connections ${s.name === 'Workload' ? 'to' : 'on'} ${s.who} fail`,
      description: `{{ $value | humanizePercentage }} of the TCP connections ${s.name === 'Workload' ? 'to' : 'on the edge'} ${s.who} closed with an error over the last 5 minutes (threshold ${percent(t.tcp_error_ratio)}).`,
      runbook_url: runbook(t, alert),
      dashboard_url: s.dashboard(t),
    },
  };
}
