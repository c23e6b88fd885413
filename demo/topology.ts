/**
 * The example mesh, from the Linkerd tutorial meshtel grew from: a load generator calls
 * `student`; `student` authenticates with `auth` (HTTP GET /v1/auth/{id}) then sets a number with
 * `number` (HTTP POST /v1/number); `number` records it with `score` over gRPC.
 *
 *   load generator ──HTTP (plaintext, unmeshed)──▶ student ──▶ auth
 *                                                     └──────▶ number ──gRPC──▶ score
 */

export const NAMESPACE = 'default';

export type Protocol = 'http' | 'grpc';
export type ServiceName = 'student' | 'auth' | 'number' | 'score';

export interface ServiceSpec {
  name: ServiceName;
  protocol: Protocol;
  replicas: number;
  /** Where its instances run in per-node mode. */
  node: string;
}

export const SERVICES: readonly ServiceSpec[] = [
  { name: 'student', protocol: 'http', replicas: 1, node: 'node-a' },
  { name: 'auth', protocol: 'http', replicas: 2, node: 'node-a' },
  { name: 'number', protocol: 'http', replicas: 1, node: 'node-b' },
  { name: 'score', protocol: 'grpc', replicas: 2, node: 'node-b' },
];

/** Who calls whom: the edges the mesh's traffic makes. */
export const CALLS: readonly [from: ServiceName, to: ServiceName][] = [
  ['student', 'auth'],
  ['student', 'number'],
  ['number', 'score'],
];

/** The Kubernetes-style DNS name applications use to call a service. */
export function serviceHost(name: string, namespace = NAMESPACE): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** The service an authority (`auth`, `auth.default`, `auth.default.svc.cluster.local:80`) names. */
export function serviceOfAuthority(authority: string): string {
  return authority.replace(/:\d+$/, '').split('.')[0]!;
}

/** One running copy of a service: a pod. */
export interface Instance {
  service: ServiceSpec;
  /** Pod name, `auth-1`. */
  pod: string;
  node: string;
}

/** Every instance of every service; `proxyMode` decides nothing here, only where they run. */
export function instances(): Instance[] {
  return SERVICES.flatMap((service) =>
    Array.from({ length: service.replicas }, (_, i) => ({ service, pod: `${service.name}-${i}`, node: service.node })),
  );
}
