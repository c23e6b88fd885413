/**
 * The dashboards' UIDs (contract): Grafana links, the alerts' `dashboard_url` and users' bookmarks
 * rely on them. Free of dependencies, so that `meshtel alerts generate` can use it at run time.
 */
export const UID = {
  overview: 'meshtel-overview',
  serviceGraph: 'meshtel-service-graph',
  workload: 'meshtel-workload',
  edge: 'meshtel-edge',
  security: 'meshtel-security',
  slo: 'meshtel-slo',
  pipeline: 'meshtel-pipeline',
} as const;
