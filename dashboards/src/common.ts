/**
 * What every meshtel dashboard shares: the datasources (fixed UIDs, provisioned by
 * dashboards/provisioning/), the variables, the units, and small builders for the panel kinds the
 * dashboards use, so that each dashboard file is one function per panel.
 *
 * Conventions the lint in test/unit/dashboards/ checks: a fixed UID, a `datasource` variable that
 * every Prometheus query uses, a unit and a description on every panel, `$__rate_interval` in every
 * `rate()`, only current (non-Angular) panel types, and links to dashboards by UID (`/d/<uid>`).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

import { UID } from '../uids.js';

export { UID };

/** The provisioned datasources' UIDs (dashboards/provisioning/datasources/meshtel.yml). */
export const PROMETHEUS_UID = 'meshtel-prometheus';
export const JAEGER_UID = 'meshtel-jaeger';

/** Every Prometheus query and panel goes through the `datasource` variable. */
export const PROM: dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export const TAGS = ['meshtel'];

/** Grafana units (the ids of Grafana's unit picker). */
export const UNIT = {
  rps: 'reqps',
  ratio: 'percentunit',
  seconds: 's',
  milliseconds: 'ms',
  bytes: 'bytes',
  bytesPerSecond: 'Bps',
  count: 'short',
  perSecond: 'cps',
  /** Items (spans, points, messages) per second. */
  itemsPerSecond: 'short',
  none: 'none',
  string: 'string',
} as const;

/** The rate window of every range vector: Grafana's `$__rate_interval` (at least 4 scrapes). */
export const RATE = '$__rate_interval';

export function rate(selector: string): string {
  return `rate(${selector}[${RATE}])`;
}

/** `metric{matchers}`, empty matchers left out. */
export function sel(metric: string, ...matchers: string[]): string {
  const m = matchers.filter((x) => x !== '');
  return m.length === 0 ? metric : `${metric}{${m.join(', ')}}`;
}

/** Matchers of the `namespace` / `workload` variables on a family's own label names. */
export const NS = (label = 'namespace'): string => `${label}=~"$namespace"`;
export const WL = (label = 'workload'): string => `${label}=~"$workload"`;

/** What each panel function returns. */
export type Panel = cog.Builder<dashboard.Panel>;

// ---------------------------------------------------------------- variables

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ text: 'Prometheus (meshtel)', value: PROMETHEUS_UID })
    .description('The Prometheus that scrapes the meshtel collectors.');
}

export interface QueryVariableOptions {
  label: string;
  description: string;
  /** Offers "All" (value `.*`) and several values at once. */
  multi?: boolean;
}

/** A variable from `label_values(<series>, <label>)`, refreshed when the time range changes. */
export function labelValuesVariable(name: string, series: string, label: string, o: QueryVariableOptions): dashboard.QueryVariableBuilder {
  const query = `label_values(${series}, ${label})`;
  const v = new dashboard.QueryVariableBuilder(name)
    .label(o.label)
    .description(o.description)
    .datasource(PROM)
    .query(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  if (o.multi === true) v.multi(true).includeAll(true).allValue('.*');
  return v;
}

export function namespaceVariable(multi = true): dashboard.QueryVariableBuilder {
  return labelValuesVariable('namespace', 'meshtel_workload_requests_total', 'namespace', {
    label: 'Namespace',
    description: 'Namespaces of the workloads meshtel sees requests for.',
    multi,
  });
}

export function workloadVariable(multi = false): dashboard.QueryVariableBuilder {
  return labelValuesVariable('workload', 'meshtel_workload_requests_total{namespace=~"$namespace"}', 'workload', {
    label: 'Workload',
    description: 'A workload of the selected namespace(s).',
    multi,
  });
}

// ---------------------------------------------------------------- queries

export interface QueryOptions {
  /** Legend of a time series (`{{label}}`). */
  legend?: string;
  /** An instant query in table format (tables, node graph); else a range query. */
  table?: boolean;
  /** An instant query (stat panels); implied by `table`. */
  instant?: boolean;
  /** Ask for exemplars (histogram latency panels): they link to Jaeger by trace id. */
  exemplar?: boolean;
}

export function query(refId: string, expr: string, o: QueryOptions = {}): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder().datasource(PROM).refId(refId).expr(expr).editorMode(prometheus.QueryEditorMode.Code);
  if (o.table === true) q.instant().format(prometheus.PromQueryFormat.Table);
  else if (o.instant === true) q.instant();
  else q.range();
  if (o.legend !== undefined) q.legendFormat(o.legend);
  if (o.exemplar === true) q.exemplar(true);
  return q;
}

/** `histogram_quantile(q, sum by (le, <by>) (rate(<bucket selector>)))`. */
export function quantile(q: number, bucketSelector: string, by: string[] = []): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(bucketSelector)}))`;
}

/** Share of `num` in `den` where both are counters' selectors, grouped by `by`; 0 when `num` has no series. */
export function share(num: string, den: string, by: string[] = []): string {
  const g = by.length === 0 ? 'sum' : `sum by (${by.join(', ')})`;
  return `(${g} (${rate(num)}) or 0 * ${g} (${rate(den)})) / ${g} (${rate(den)})`;
}

// ---------------------------------------------------------------- panels

export interface PanelOptions {
  title: string;
  description: string;
  unit: string;
  /** Width in grid columns (of 24) and height in rows. */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
}

function sized<T extends { span(w: number): T; height(h: number): T }>(p: T, o: PanelOptions, w: number, h: number): T {
  return p.span(o.w ?? w).height(o.h ?? h);
}

export function timeseriesPanel(o: PanelOptions, ...targets: prometheus.DataqueryBuilder[]): timeseries.PanelBuilder {
  const p = sized(new timeseries.PanelBuilder(), o, 12, 8)
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .datasource(PROM)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom).showLegend(true).calcs(['mean', 'lastNotNull']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  for (const t of targets) p.withTarget(t);
  return p;
}

export function statPanel(o: PanelOptions, ...targets: prometheus.DataqueryBuilder[]): stat.PanelBuilder {
  const p = sized(new stat.PanelBuilder(), o, 6, 4)
    .title(o.title)
    .description(o.description)
    .unit(o.unit)
    .datasource(PROM)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false).fields(''))
    .graphMode(common.BigValueGraphMode.None);
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  for (const t of targets) p.withTarget(t);
  return p;
}

/** A column of a table: the query's refId, its header, its unit. */
export interface Column {
  refId: string;
  header: string;
  unit: string;
  expr: string;
}

/**
 * A table of instant queries (format table) joined on their labels: Grafana names each query's
 * value column `Value #<refId>`; the merge transformation joins the rows, organize renames them.
 */
export function tablePanel(o: PanelOptions, labels: Record<string, string>, columns: Column[]): table.PanelBuilder {
  const p = sized(new table.PanelBuilder(), o, 24, 8).title(o.title).description(o.description).unit(o.unit).datasource(PROM);
  for (const c of columns) {
    p.withTarget(query(c.refId, c.expr, { table: true }));
    p.overrideByName(c.header, [{ id: 'unit', value: c.unit }]);
  }
  const renameByName: Record<string, string> = { ...labels };
  for (const c of columns) renameByName[`Value #${c.refId}`] = c.header;
  const indexByName: Record<string, number> = {};
  [...Object.keys(labels), ...columns.map((c) => `Value #${c.refId}`)].forEach((name, i) => (indexByName[name] = i));
  p.withTransformation({ id: 'merge', options: {} });
  p.withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, indexByName, renameByName } });
  return p;
}

/** A data link (table cell, node) to another meshtel dashboard, by UID, keeping time range and datasource. */
export function dashboardUrl(uid: string, vars: Record<string, string>): string {
  const q = Object.entries(vars).map(([k, v]) => `var-${k}=${v}`);
  return `/d/${uid}?\${__url_time_range}&\${datasource:queryparam}${q.map((x) => `&${x}`).join('')}`;
}

/** Links in a dashboard's header to the other meshtel dashboards, by UID. */
export function dashboardLinks(except: string): dashboard.DashboardLinkBuilder[] {
  const titles: Record<string, string> = {
    [UID.overview]: 'Overview',
    [UID.serviceGraph]: 'Service graph',
    [UID.workload]: 'Workload',
    [UID.edge]: 'Edge',
    [UID.security]: 'Security',
    [UID.slo]: 'SLOs',
    [UID.pipeline]: 'Pipeline',
  };
  return Object.entries(titles)
    .filter(([uid]) => uid !== except)
    .map(([uid, title]) =>
      new dashboard.DashboardLinkBuilder(title)
        .type(dashboard.DashboardLinkType.Link)
        .url(`/d/${uid}`)
        .tooltip(`meshtel: ${title}`)
        .icon('dashboard')
        .includeVars(false)
        .keepTime(true)
        .targetBlank(false)
        .asDropdown(false)
        .tags([]),
    );
}

/**
 * A Grafana Explore URL searching Jaeger (datasource `meshtel-jaeger`) for the traces of a service;
 * `service` may be a template like `${workload}`, which Grafana fills in.
 */
export function jaegerSearchUrl(service: string, extra: Record<string, string> = {}): string {
  const panes = { a: { datasource: JAEGER_UID, queries: [{ refId: 'A', datasource: { type: 'jaeger', uid: JAEGER_UID }, queryType: 'search', service, ...extra }], range: { from: 'now-1h', to: 'now' } } };
  // Encode the JSON, then give the ${...} templates back to Grafana.
  const encoded = encodeURIComponent(JSON.stringify(panes)).replace(/%24%7B([A-Za-z0-9_:.]+)%7D/g, (_m, v: string) => `\${${decodeURIComponent(v)}}`);
  return `/explore?schemaVersion=1&panes=${encoded}`;
}

/** A link (dashboard header or panel) to the Jaeger search for a service's traces. */
export function jaegerLink(title: string, service: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(jaegerSearchUrl(service))
    .tooltip('Search Jaeger (datasource meshtel-jaeger) for these traces')
    .icon('external link')
    .includeVars(false)
    .keepTime(true)
    .targetBlank(true)
    .asDropdown(false)
    .tags([]);
}

/** A dashboard with the shared settings: fixed UID, tags, time range, refresh, header links. */
export function newDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  const d = new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(TAGS)
    .editable()
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable());
  for (const l of dashboardLinks(uid)) d.link(l);
  return d;
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}
