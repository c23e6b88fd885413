import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { Random } from './random.js';

/**
 * A synthetic service mesh for the benchmark: gateways, services in a few namespaces calling each
 * other over HTTP or gRPC through their proxies, some of them calling databases. Each service runs
 * a few pods spread over nodes; every pod is one OTLP resource with the Kubernetes attributes a
 * mesh proxy or SDK sets.
 */

export interface TopologyOptions {
  namespaces: number;
  /** Services, gateways included. */
  services: number;
  /**
   * Distinct service-graph edges wanted: `user` → gateway, service → service (at least one
   * caller per service) and service → database. Fewer when the tiers allow no more.
   */
  edges: number;
  seed: number;
}

export interface Pod {
  resource: Resource;
  /** The node it runs on: a node agent's export batch holds the spans of one node's pods. */
  node: number;
}

export interface Database {
  system: string;
  name: string;
  /** Kubernetes service DNS name, what the client span's `server.address` says. */
  address: string;
}

export interface Call {
  to: Service;
  /** Share of calls that fail (HTTP 503 / gRPC UNAVAILABLE). */
  errorRate: number;
}

export interface Service {
  name: string;
  namespace: string;
  protocol: 'http' | 'grpc';
  /** 0 for gateways; a service only calls services of a higher tier. */
  tier: number;
  /** Whether its pods run a proxy with mTLS (`tls.established`). */
  meshed: boolean;
  /** Server span names: `METHOD /route` (HTTP) or `package.Service/Method` (gRPC). */
  operations: string[];
  calls: Call[];
  /** Round-robin position in `calls`, so that every edge is exercised. */
  cursor: number;
  database: Database | undefined;
  pods: Pod[];
  /** Median of the service's own work per request, in milliseconds. */
  workMs: number;
}

export interface Topology {
  namespaces: string[];
  services: Service[];
  gateways: Service[];
  nodes: number;
  /** Distinct service-graph edges the mesh can produce, by kind. */
  edges: { service: number; user: number; database: number };
}

const NAMESPACE_NAMES = ['ingress', 'shop', 'payments', 'identity', 'catalog', 'shipping', 'search', 'ads', 'data', 'ml', 'billing', 'support'];
const SERVICE_NAMES = [
  'frontend', 'checkout', 'cart', 'orders', 'payments', 'fraud', 'ledger', 'auth', 'users', 'sessions',
  'catalog', 'inventory', 'pricing', 'reviews', 'recommendations', 'search', 'shipping', 'tracking',
  'notifications', 'email', 'sms', 'ads', 'currency', 'tax', 'invoices', 'refunds', 'loyalty', 'coupons',
  'profile', 'media', 'thumbnails', 'geo', 'quotes', 'warehouse', 'returns', 'audit', 'flags', 'rates',
];
const DB_SYSTEMS = ['postgresql', 'redis', 'mysql', 'mongodb'];
const PODS_PER_NODE = 12;

export function buildTopology(options: TopologyOptions): Topology {
  const rnd = new Random(options.seed);
  const namespaces = Array.from({ length: Math.max(1, options.namespaces) }, (_, i) =>
    i < NAMESPACE_NAMES.length ? NAMESPACE_NAMES[i]! : `${NAMESPACE_NAMES[i % NAMESPACE_NAMES.length]!}-${Math.floor(i / NAMESPACE_NAMES.length)}`,
  );
  // The last namespace of a larger mesh is not meshed yet: its hops run without mTLS.
  const unmeshed = namespaces.length >= 4 ? namespaces[namespaces.length - 1] : undefined;
  const gatewayCount = Math.max(1, Math.round(options.services / 20));
  const services: Service[] = [];
  for (let i = 0; i < options.services; i++) {
    const gateway = i < gatewayCount;
    const namespace = gateway || namespaces.length === 1 ? namespaces[0]! : namespaces[1 + ((i - gatewayCount) % (namespaces.length - 1))]!;
    const base = gateway ? 'ingress-gateway' : SERVICE_NAMES[(i - gatewayCount) % SERVICE_NAMES.length]!;
    const round = Math.floor((gateway ? i : i - gatewayCount) / (gateway ? 1 : SERVICE_NAMES.length));
    const name = round === 0 ? base : `${base}-${round}`;
    const rest = options.services - gatewayCount;
    const rank = (i - gatewayCount) / Math.max(1, rest);
    services.push({
      name,
      namespace,
      protocol: gateway || rnd.chance(0.4) ? 'http' : 'grpc',
      tier: gateway ? 0 : rank < 0.25 ? 1 : rank < 0.6 ? 2 : 3,
      meshed: namespace !== unmeshed,
      operations: [],
      calls: [],
      cursor: 0,
      database: undefined,
      pods: [],
      workMs: gateway ? 0.5 : rnd.latency(3),
    });
  }
  for (const s of services) s.operations = operationsOf(s);

  // Databases first, from their own random stream: the service edges fill up the rest.
  const dbRnd = new Random(options.seed + 1);
  let databases = 0;
  for (const s of services) {
    if (s.tier !== 3 || !dbRnd.chance(0.4)) continue;
    const name = `${s.name}-db`;
    s.database = { system: dbRnd.pick(DB_SYSTEMS), name, address: `${name}.${s.namespace}.svc.cluster.local` };
    databases++;
  }

  // Every non-gateway service gets one caller from the tier above, then random extra edges.
  const serviceEdges = options.edges - gatewayCount - databases;
  const edges = new Set<string>();
  const connect = (from: Service, to: Service): boolean => {
    const key = `${from.name}\u0000${to.name}`;
    if (from === to || from.tier >= to.tier || edges.has(key)) return false;
    edges.add(key);
    from.calls.push({ to, errorRate: rnd.chance(0.1) ? 0.1 : 0.01 });
    return true;
  };
  const byTier = (t: number) => services.filter((s) => s.tier === t);
  for (const s of services) {
    if (s.tier === 0) continue;
    const above = byTier(s.tier - 1);
    connect(above.length > 0 ? rnd.pick(above) : services[0]!, s);
  }
  for (let attempts = 0; edges.size < serviceEdges && attempts < serviceEdges * 50; attempts++) {
    const from = rnd.pick(services);
    if (from.tier === 3) continue;
    // Gateways route to the first tier only; services call anything below them.
    const to = from.tier === 0 ? rnd.pick(byTier(1)) : rnd.pick(services);
    connect(from, to);
  }

  const podRnd = new Random(options.seed + 2);
  const totalPods = services.reduce((n, s) => n + (s.tier === 0 ? 3 : 2), 0);
  const nodes = Math.max(2, Math.ceil(totalPods / PODS_PER_NODE));
  for (const s of services) {
    const replicas = s.tier === 0 ? 3 : 2;
    const hash = podRnd.hex(5).slice(0, 9);
    for (let r = 0; r < replicas; r++) {
      const node = podRnd.int(nodes);
      const pod = `${s.name}-${hash}-${podRnd.hex(3).slice(0, 5)}`;
      s.pods.push({
        node,
        resource: resourceFromAttributes({
          'service.name': s.name,
          'service.namespace': s.namespace,
          'service.version': `1.${podRnd.int(20)}.${podRnd.int(10)}`,
          'service.instance.id': podRnd.hex(16),
          'k8s.cluster.name': 'bench',
          'k8s.namespace.name': s.namespace,
          'k8s.deployment.name': s.name,
          'k8s.pod.name': pod,
          'k8s.node.name': `node-${node}`,
          'telemetry.sdk.name': 'opentelemetry',
          'telemetry.sdk.language': 'rust',
        }),
      });
    }
  }

  return {
    namespaces,
    services,
    gateways: services.filter((s) => s.tier === 0),
    nodes,
    edges: { service: edges.size, user: gatewayCount, database: databases },
  };
}

function operationsOf(s: Service): string[] {
  if (s.tier === 0) return ['GET /', 'GET /api/*', 'POST /api/*'];
  if (s.protocol === 'http') return [`GET /api/${s.name}/{id}`, `GET /api/${s.name}`, `POST /api/${s.name}`];
  const pascal = s.name.replace(/(^|-)(\w)/g, (_, _dash: string, c: string) => c.toUpperCase());
  const svc = `${s.namespace.replace(/-/g, '_')}.v1.${pascal}Service`;
  return [`${svc}/Get${pascal}`, `${svc}/List${pascal}`, `${svc}/Update${pascal}`];
}
