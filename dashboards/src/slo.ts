/**
 * SLOs (`meshtel-slo`, variable `slo`): from the recording rules `meshtel alerts generate` makes
 * of alerts/slo.yml (docs/alerts.md): the SLI, the error budget left, the burn rate per window of
 * the multi-window alerts, and the burn alerts firing.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { UNIT, UID, type Panel, labelValuesVariable, newDashboard, query, row, statPanel, tablePanel, timeseriesPanel } from './common.js';

const S = 'slo=~"$slo"';
const OBJECTIVE = `meshtel:slo_objective:ratio{${S}}`;
const BUDGET = `meshtel:slo_error_budget_remaining:ratio{${S}}`;
/** The windows of the burn-rate alerts' recording rules. */
export const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
/** SLI over the SLO's window, whatever its length: 1 - (error budget spent) x (error budget). */
const SLI = `1 - (1 - ${BUDGET}) * on (slo) (1 - ${OBJECTIVE})`;

function errorRatio(window: string): string {
  return `meshtel:slo_error_ratio:rate${window}{${S}}`;
}

export function sloDashboard(): dashboard.DashboardBuilder {
  return newDashboard(UID.slo, 'meshtel / SLOs', 'Service-level objectives of alerts/slo.yml: the SLI over the window, the error budget left, burn rates per alert window, and the burn alerts firing.')
    .withVariable(labelValuesVariable('slo', 'meshtel:slo_objective:ratio', 'slo', { label: 'SLO', description: 'An SLO of alerts/slo.yml (its name).', multi: true }))
    .withRow(row('Objectives'))
    .withPanel(sloTable())
    .withPanel(sli())
    .withPanel(objective())
    .withPanel(budgetRemaining())
    .withRow(row('Over time'))
    .withPanel(budgetOverTime())
    .withPanel(sliOverTime())
    .withPanel(burnRates())
    .withPanel(burnAlerts());
}

function sloTable(): Panel {
  const labels = { slo: 'SLO', sli: 'SLI' };
  return tablePanel(
    { title: 'SLOs', unit: UNIT.none, h: 7, description: 'Every selected SLO: its objective, the SLI over its window, and the share of its error budget left (below 0: spent).' },
    labels,
    [
      { refId: 'OBJECTIVE', header: 'Objective', unit: UNIT.ratio, expr: `max by (slo, sli) (${OBJECTIVE})` },
      { refId: 'SLI', header: 'SLI over the window', unit: UNIT.ratio, expr: `max by (slo, sli) (${SLI})` },
      { refId: 'BUDGET', header: 'Budget left', unit: UNIT.ratio, expr: `max by (slo, sli) (${BUDGET})` },
    ],
  );
}

function sli(): Panel {
  return statPanel({ title: 'SLI over the window', unit: UNIT.ratio, w: 8, description: 'Share of good requests (not failing; or answered within the threshold for latency SLOs) over the SLO\u2019s window.' }, query('A', `max by (slo) (${SLI})`, { instant: true, legend: '{{slo}}' }));
}

function objective(): Panel {
  return statPanel({ title: 'Objective', unit: UNIT.ratio, w: 8, description: 'The objective: the share of good requests promised over the window.' }, query('A', `max by (slo) (${OBJECTIVE})`, { instant: true, legend: '{{slo}}' }));
}

function budgetRemaining(): Panel {
  return statPanel({ title: 'Error budget left', unit: UNIT.ratio, w: 8, description: 'Share of the error budget (1 - objective) not yet spent over the window; negative when overspent.' }, query('A', `max by (slo) (${BUDGET})`, { instant: true, legend: '{{slo}}' }));
}

function budgetOverTime(): Panel {
  return timeseriesPanel({ title: 'Error budget left', unit: UNIT.ratio, description: 'Share of the error budget left, over time.' }, query('A', `max by (slo) (${BUDGET})`, { legend: '{{slo}}' }));
}

function sliOverTime(): Panel {
  return timeseriesPanel(
    { title: 'SLI (5m and 1h)', unit: UNIT.ratio, description: 'Share of good requests over the last 5 minutes and the last hour.' },
    query('A', `1 - max by (slo) (${errorRatio('5m')})`, { legend: '{{slo}} 5m' }),
    query('B', `1 - max by (slo) (${errorRatio('1h')})`, { legend: '{{slo}} 1h' }),
  );
}

function burnRates(): Panel {
  const p = timeseriesPanel({
    title: 'Burn rate by window',
    unit: UNIT.none,
    w: 24,
    description: 'How fast the error budget burns over each window of the burn-rate alerts: error ratio / (1 - objective). 1 spends exactly the budget over the SLO window; the fast alert pages at 14.4 (1h and 5m) and 6 (6h and 30m), the slow one tickets at 3 (1d and 2h) and 1 (3d and 6h).',
  });
  BURN_WINDOWS.forEach((w, i) => p.withTarget(query(String.fromCharCode(65 + i), `max by (slo) (${errorRatio(w)}) / on (slo) max by (slo) (1 - ${OBJECTIVE})`, { legend: `{{slo}} ${w}` })));
  return p;
}

function burnAlerts(): Panel {
  return tablePanel(
    { title: 'Burn alerts', unit: UNIT.none, h: 6, description: 'MeshtelErrorBudgetBurn alerts pending or firing now for the selected SLOs (empty: the budgets burn slowly enough).' },
    { slo: 'SLO', severity: 'Severity', alertstate: 'State', namespace: 'Namespace', workload: 'Workload' },
    [{ refId: 'ALERTS', header: 'Active', unit: UNIT.none, expr: `max by (slo, severity, alertstate, namespace, workload) (ALERTS{alertname="MeshtelErrorBudgetBurn", ${S}})` }],
  );
}
