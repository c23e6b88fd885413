/** Security alerts: plaintext where mTLS is expected, workload certificates close to expiry. */
import { UID } from '../../dashboards/uids.js';
import { dashboard, num, runbook, sel, str, type AlertRule, type RuleFile, type Severity } from './rules.js';
import type { Thresholds } from './settings.js';

export function securityRules(t: Thresholds): RuleFile {
  const rules: AlertRule[] = [plaintextBetweenMeshed(t)];
  if (t.mtls_only_namespaces !== '') rules.push(plaintextInMtlsOnlyNamespace(t));
  rules.push(certificateExpiry(t, 'critical'), certificateExpiry(t, 'warning'));
  return { file: 'meshtel-security.rules.yml', groups: [{ name: 'meshtel-security', rules }] };
}

/**
 * A meshed workload (it reports inbound traffic) called in plaintext by a meshed source (edges
 * are counted by the source's proxy): both sides could do mTLS and did not.
 */
function plaintextBetweenMeshed(t: Thresholds): AlertRule {
  const alert = 'MeshtelPlaintextBetweenMeshedWorkloads';
  const meshedDestinations = `sum by (namespace, workload) (rate(${sel('meshtel_workload_requests_total', t.workload_matchers)}[1h])) > 0`;
  return {
    alert,
    expr: `sum by (src_namespace, src_workload, dst_namespace, dst_workload) (rate(${sel('meshtel_edge_requests_total', 'tls="false"', t.edge_matchers)}[5m])) > 0
and on (dst_namespace, dst_workload)
label_replace(label_replace(${meshedDestinations}, "dst_namespace", "$1", "namespace", "(.*)"), "dst_workload", "$1", "workload", "(.*)")`,
    for: '5m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Plaintext traffic between meshed workloads {{ $labels.src_namespace }}/{{ $labels.src_workload }} -> {{ $labels.dst_namespace }}/{{ $labels.dst_workload }}',
      description:
        '{{ $labels.src_namespace }}/{{ $labels.src_workload }} sends {{ $value | humanize }} requests/s to {{ $labels.dst_namespace }}/{{ $labels.dst_workload }} without mTLS, though both run a proxy.',
      runbook_url: runbook(t, alert),
      dashboard_url: dashboard(t, UID.security),
    },
  };
}

function plaintextInMtlsOnlyNamespace(t: Thresholds): AlertRule {
  const alert = 'MeshtelPlaintextInMtlsOnlyNamespace';
  const matchers = [`tls="false"`, `namespace=~${str(t.mtls_only_namespaces)}`];
  if (t.plaintext_allowed_workloads !== '') matchers.push(`workload!~${str(t.plaintext_allowed_workloads)}`);
  return {
    alert,
    expr: `sum by (namespace, workload) (rate(${sel('meshtel_workload_requests_total', ...matchers, t.workload_matchers)}[5m])) > 0`,
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'Plaintext requests to {{ $labels.namespace }}/{{ $labels.workload }} in an mTLS-only namespace',
      description: `{{ $labels.namespace }}/{{ $labels.workload }} receives {{ $value | humanize }} requests/s without mTLS; namespaces matching "${t.mtls_only_namespaces}" are expected to take mTLS only.`,
      runbook_url: runbook(t, alert),
      dashboard_url: dashboard(t, UID.security),
    },
  };
}

function certificateExpiry(t: Thresholds, severity: Severity): AlertRule {
  const alert = 'MeshtelWorkloadCertificateExpiringSoon';
  const hours = t.certificate_expiry_hours[severity as 'warning' | 'critical'];
  return {
    alert,
    expr: `min by (namespace, workload) (${sel('meshtel_workload_identity_cert_expiration_timestamp_seconds', t.workload_matchers)}) - time() < ${num(hours * 3600)}`,
    labels: { severity },
    annotations: {
      summary: `The identity certificate of {{ $labels.namespace }}/{{ $labels.workload }} expires within ${num(hours)}h`,
      description: `The soonest-expiring workload certificate of {{ $labels.namespace }}/{{ $labels.workload }} expires in {{ $value | humanizeDuration }} (threshold ${num(hours)}h): its proxies are not renewing it.`,
      runbook_url: runbook(t, alert),
      dashboard_url: dashboard(t, UID.workload, { namespace: 'namespace', workload: 'workload' }),
    },
  };
}
