import { stringAttribute, type KeyValue } from '../model/common.js';

/** A workload: what `meshtel stat` lists and what service-graph nodes are. */
export interface Workload {
  namespace: string;
  name: string;
}

/** Kubernetes workload kinds, most specific first, as OpenTelemetry's `k8s.*.name` attributes. */
const K8S_WORKLOAD_KEYS = [
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.job.name',
  'k8s.cronjob.name',
  'k8s.replicaset.name',
  'k8s.pod.name',
] as const;

export const DEFAULT_NAMESPACE = 'default';
export const UNKNOWN_SERVICE = 'unknown_service';

/**
 * The workload a resource belongs to.
 * - name: `service.name`, unless it is missing or the SDK default `unknown_service:*`, then the
 *   first `k8s.<kind>.name` present, else `unknown_service`. `service.name` comes first so that
 *   service-graph nodes, span metrics and Jaeger's service list all use the same name.
 * - namespace: `k8s.namespace.name`, else `service.namespace`, else `default`.
 */
export function workloadOf(attributes: readonly KeyValue[]): Workload {
  let name = stringAttribute(attributes, 'service.name');
  if (name === undefined || name.startsWith(UNKNOWN_SERVICE)) {
    for (const key of K8S_WORKLOAD_KEYS) {
      const k8s = stringAttribute(attributes, key);
      if (k8s !== undefined) {
        name = k8s;
        break;
      }
    }
  }
  const namespace =
    stringAttribute(attributes, 'k8s.namespace.name') ?? stringAttribute(attributes, 'service.namespace') ?? DEFAULT_NAMESPACE;
  return { namespace, name: name ?? UNKNOWN_SERVICE };
}

/** The `service.name` of a resource as span metrics label it (`unknown_service` when absent). */
export function serviceNameOf(attributes: readonly KeyValue[]): string {
  return stringAttribute(attributes, 'service.name') ?? UNKNOWN_SERVICE;
}

/**
 * The workload a peer address names, for edges whose destination is known only by address.
 * Kubernetes service DNS names (`auth`, `auth.prod`, `auth.prod.svc`, `auth.prod.svc.cluster.local`)
 * resolve to their service and namespace, a bare name to the caller's namespace as Kubernetes
 * DNS would; any other host (an IP, `api.example.com`) is kept whole with an empty namespace.
 */
export function workloadOfAddress(address: string, callerNamespace: string): Workload {
  const host = address.replace(/:\d+$/, '');
  const parts = host.split('.');
  if (parts.length === 1) return { namespace: callerNamespace, name: host };
  if (parts.length === 2 || parts[2] === 'svc') {
    if (!/^\d+$/.test(parts[parts.length - 1]!)) return { namespace: parts[1]!, name: parts[0]! };
  }
  return { namespace: '', name: host };
}
