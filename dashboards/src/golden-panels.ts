/**
 * The golden-signal and TCP panels that the workload and edge dashboards share: the same queries
 * over `meshtel_workload_*` (a workload's inbound traffic) or `meshtel_edge_*` (one caller ->
 * callee pair), under each dashboard's matchers and in its own words.
 */
import { UNIT, type Panel, quantile, query, rate, sel, share, statPanel, timeseriesPanel } from './common.js';

/** What each panel's description says, for one dashboard. */
export interface GoldenWords {
  success: string;
  rps: string;
  p99: string;
  mtls: string;
  byTls: string;
  successOverTime: string;
  /** The latency panel's title and description. */
  latencyTitle: string;
  latency: string;
  tcpOpen: string;
  tcpBytes: string;
  tcpClosed: string;
}

/** The metric families' prefix and the dashboard's label matchers. */
export interface Family {
  prefix: 'meshtel_workload' | 'meshtel_edge';
  matchers: readonly string[];
}

/** Success rate, requests, p99 latency and mTLS share, as stats. */
export function goldenStats(f: Family, say: GoldenWords): Panel[] {
  const { req, ok, tls, bucket } = selectors(f);
  return [
    statPanel({ title: 'Success rate', unit: UNIT.ratio, min: 0, max: 1, description: say.success }, query('A', `sum(${rate(ok)}) / sum(${rate(req)})`, { instant: true })),
    statPanel({ title: 'Requests', unit: UNIT.rps, description: say.rps }, query('A', `sum(${rate(req)})`, { instant: true })),
    statPanel({ title: 'p99 latency', unit: UNIT.seconds, description: say.p99 }, query('A', quantile(0.99, bucket), { instant: true })),
    statPanel({ title: 'mTLS share', unit: UNIT.ratio, min: 0, max: 1, description: say.mtls }, query('A', share(tls, req), { instant: true })),
  ];
}

/** Requests split by mTLS, success rate, and latency percentiles (with exemplars), over time. */
export function goldenSeries(f: Family, say: GoldenWords): Panel[] {
  const { req, ok, bucket } = selectors(f);
  const requests = `${f.prefix}_requests_total`;
  return [
    timeseriesPanel(
      { title: 'Requests: mTLS vs plaintext', unit: UNIT.rps, description: say.byTls },
      query('A', `sum(${rate(sel(requests, ...f.matchers, 'tls="true"'))})`, { legend: 'mTLS' }),
      query('B', `sum(${rate(sel(requests, ...f.matchers, 'tls="false"'))})`, { legend: 'plaintext' }),
    ),
    timeseriesPanel({ title: 'Success rate', unit: UNIT.ratio, min: 0, max: 1, description: say.successOverTime }, query('A', `sum(${rate(ok)}) / sum(${rate(req)})`, { legend: 'success rate' })),
    timeseriesPanel(
      { title: say.latencyTitle, unit: UNIT.seconds, description: say.latency },
      query('A', quantile(0.5, bucket), { legend: 'p50', exemplar: true }),
      query('B', quantile(0.95, bucket), { legend: 'p95', exemplar: true }),
      query('C', quantile(0.99, bucket), { legend: 'p99', exemplar: true }),
    ),
  ];
}

/** Open connections, bytes by direction, and connections closed by outcome. */
export function tcpPanels(f: Family, say: GoldenWords): Panel[] {
  return [
    timeseriesPanel({ title: 'Open TCP connections', unit: UNIT.count, w: 8, description: say.tcpOpen }, query('A', `sum(${sel(`${f.prefix}_tcp_open_connections`, ...f.matchers)})`, { legend: 'open' })),
    timeseriesPanel(
      { title: 'TCP bytes', unit: UNIT.bytesPerSecond, w: 8, description: say.tcpBytes },
      query('A', `sum by (direction) (${rate(sel(`${f.prefix}_tcp_bytes_total`, ...f.matchers))})`, { legend: '{{direction}}' }),
    ),
    timeseriesPanel(
      { title: 'TCP connections closed', unit: UNIT.perSecond, w: 8, description: say.tcpClosed },
      query('A', `sum by (outcome) (${rate(sel(`${f.prefix}_tcp_closed_connections_total`, ...f.matchers))})`, { legend: '{{outcome}}' }),
    ),
  ];
}

function selectors(f: Family) {
  const requests = `${f.prefix}_requests_total`;
  return {
    req: sel(requests, ...f.matchers),
    ok: sel(requests, ...f.matchers, 'classification="success"'),
    tls: sel(requests, ...f.matchers, 'tls="true"'),
    bucket: sel(`${f.prefix}_request_duration_seconds_bucket`, ...f.matchers),
  };
}
