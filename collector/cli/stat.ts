import type { EdgesResponse, Node, StatResponse } from '../api/views.js';
import { adminUrl, CliError, getJson } from './admin-client.js';
import { formatMs, formatPercent, formatRps, renderTable } from './table.js';

export interface QueryFlags {
  admin?: string | undefined;
  window?: string | undefined;
  namespace?: string | undefined;
  output?: string | undefined;
}

function query(flags: QueryFlags): string {
  const params = new URLSearchParams({ window: flags.window ?? '1m' });
  if (flags.namespace) params.set('namespace', flags.namespace);
  return params.toString();
}

function outputFormat(flags: QueryFlags): 'table' | 'json' {
  const o = flags.output ?? 'table';
  if (o !== 'table' && o !== 'json') throw new CliError(`-o must be table or json (got "${o}")`, 2);
  return o;
}

/** `meshtel stat`: golden metrics per workload, like `linkerd viz stat`. */
export async function statCommand(flags: QueryFlags, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const format = outputFormat(flags);
  const base = adminUrl(flags.admin, env);
  const stat = await getJson<StatResponse>(base, `/api/v1/stat?${query(flags)}`);
  if (format === 'json') return JSON.stringify(stat, null, 2);
  if (stat.workloads.length === 0) return `No workload had traffic in the last ${stat.window}. Are proxies or SDKs sending OTLP to the collector?`;
  return renderTable(
    ['NAME', 'NAMESPACE', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN'],
    stat.workloads.map((w) => [
      w.name,
      w.namespace,
      w.meshed ? 'yes' : 'no',
      formatPercent(w.success_rate),
      formatRps(w.rps),
      formatMs(w.latency_ms.p50),
      formatMs(w.latency_ms.p95),
      formatMs(w.latency_ms.p99),
      w.tcp_connections === null ? '-' : String(w.tcp_connections),
    ]),
  );
}

/** `meshtel edges`: who calls whom, secured or not, like `linkerd viz edges`. */
export async function edgesCommand(flags: QueryFlags, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const format = outputFormat(flags);
  const base = adminUrl(flags.admin, env);
  const edges = await getJson<EdgesResponse>(base, `/api/v1/edges?${query(flags)}`);
  if (format === 'json') return JSON.stringify(edges, null, 2);
  if (edges.edges.length === 0) return `No edge had traffic in the last ${edges.window}. Edges need client and server spans, or proxy metrics with a destination.`;
  const name = (n: Node) => (n.virtual ? `${n.name} (virtual)` : n.name);
  return renderTable(
    ['SRC', 'DST', 'SRC_NS', 'DST_NS', 'SECURED', 'RPS', 'SUCCESS'],
    edges.edges.map((e) => [
      name(e.src),
      name(e.dst),
      e.src.namespace || '-',
      e.dst.namespace || '-',
      e.secured ? 'yes' : 'no',
      formatRps(e.rps),
      formatPercent(e.success_rate),
    ]),
  );
}
