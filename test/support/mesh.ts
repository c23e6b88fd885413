import { join } from 'node:path';
import pino from 'pino';
import type { EdgesResponse, StatResponse } from '../../collector/api/views.js';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import type { ClosedConnections, Truth } from '../../demo/truth.js';
import { parseSeries } from '../golden/exposition.js';
import { ROOT, cleanEnv, ensureBuilt } from './collector-process.js';
import { startProcess, waitFor, type StartedProcess } from './processes.js';

const DEMO_CLI = join(ROOT, 'dist', 'demo', 'cli.js');

/** A collector in this process on free ports, with a short service-graph TTL for quick tests. */
export async function startCollector(otlpPort = 0): Promise<Collector> {
  const collector = new Collector(
    configSchema.parse({
      receivers: { otlp: { endpoint: `127.0.0.1:${otlpPort}` } },
      admin: { endpoint: '127.0.0.1:0' },
      aggregation: { service_graph: { store_ttl: '1s' } },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  return collector;
}

export interface MeshOptions {
  mode?: 'sidecar' | 'node';
  rate?: number;
  sampling?: number;
  faults?: string[];
  /** How long workload identity certificates are valid, like `2h` (`--cert-validity`). */
  certValidity?: string;
}

/** The example mesh, run as `meshtel-demo run` would run it, pointed at `collector`. */
export class RunningMesh {
  private constructor(
    readonly process: StartedProcess,
    readonly control: string,
  ) {}

  static async start(collectorOtlp: string, options: MeshOptions = {}): Promise<RunningMesh> {
    ensureBuilt();
    const args = [
      DEMO_CLI,
      'run',
      '--collector',
      `http://${collectorOtlp}`,
      '--control',
      '127.0.0.1:0',
      '--proxy-mode',
      options.mode ?? 'sidecar',
      '--rate',
      String(options.rate ?? 50),
      '--sampling',
      String(options.sampling ?? 1),
      '--export-interval',
      '500ms',
      ...(options.faults ?? []).flatMap((f) => ['--fault', f]),
      ...(options.certValidity === undefined ? [] : ['--cert-validity', options.certValidity]),
    ];
    const p = await startProcess(process.execPath, args, { readyPattern: /control: (http:\/\/\S+)/, env: cleanEnv(), timeoutMs: 60_000 });
    return new RunningMesh(p, p.ready[1]!);
  }

  /**
   * Calls the control API; fails after `timeoutMs` without an answer (longer than the mesh's own
   * deadlines for its pods and in-flight requests, so that theirs say what they waited for).
   */
  async call<T>(method: string, path: string, body?: unknown, timeoutMs = 45_000): Promise<T> {
    let text: string;
    let res: Response;
    try {
      res = await fetch(`${this.control}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new Error(`${method} ${path}: ${timedOut ? `no answer within ${timeoutMs}ms` : (e as Error).message}`, { cause: e });
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  truth(): Promise<Truth> {
    return this.call<Truth>('GET', '/truth');
  }

  /** Waits until the load generator has had `n` answers; the error says how many it had. */
  async waitForAnswers(n: number, timeoutMs = 60_000): Promise<void> {
    let last: Truth['load'] | undefined;
    try {
      await waitFor(
        `${n} answers to the load generator`,
        async () => {
          last = (await this.call<Truth>('GET', '/truth', undefined, 10_000)).load;
          return last.completed >= n ? true : undefined;
        },
        timeoutMs,
        200,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; the load generator had last: ${JSON.stringify(last)}`, { cause: e });
    }
  }

  /** Stops the load, lets in-flight requests finish, and has every proxy export what it holds. */
  async quiesce(): Promise<Truth> {
    await this.call('POST', '/load/stop');
    await this.call('POST', '/flush');
    return this.truth();
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGINT', 15_000);
  }
}

export async function stat(collector: Collector, window = '15m'): Promise<StatResponse> {
  return (await fetch(`http://${collector.adminAddress}/api/v1/stat?window=${window}`, { signal: AbortSignal.timeout(10_000) })).json() as Promise<StatResponse>;
}

export async function edges(collector: Collector, window = '15m'): Promise<EdgesResponse> {
  return (await fetch(`http://${collector.adminAddress}/api/v1/edges?window=${window}`, { signal: AbortSignal.timeout(10_000) })).json() as Promise<EdgesResponse>;
}

/** The collector's `/metrics`, as series keyed by name and sorted labels. */
export async function exposition(collector: Collector): Promise<Map<string, number>> {
  return parseSeries(await (await fetch(`http://${collector.adminAddress}/metrics`, { signal: AbortSignal.timeout(10_000) })).text());
}

/** The closed TCP connections meshtel exports for a workload (`dst` undefined) or an edge, 0 for absent series. */
export function closedConnections(series: Map<string, number>, src: string, dst?: string): ClosedConnections {
  const at = (outcome: string) =>
    series.get(
      dst === undefined
        ? `meshtel_workload_tcp_closed_connections_total{namespace="default",outcome="${outcome}",workload="${src}"}`
        : `meshtel_edge_tcp_closed_connections_total{dst_namespace="default",dst_workload="${dst}",outcome="${outcome}",src_namespace="default",src_workload="${src}"}`,
    ) ?? 0;
  return { ok: at('ok'), error: at('error') };
}

/**
 * The truth and meshtel's exposition once `ready(truth)` holds and meshtel's closed TCP
 * connections agree with the truth for every workload and edge: connections go on closing after
 * the load stops (idle keep-alive ones time out), so each try has the proxies export first.
 * After 20 s, the last of both, for the caller's assertions to show the difference.
 */
export async function settledClosures(collector: Collector, mesh: RunningMesh, ready: (truth: Truth) => boolean): Promise<{ truth: Truth; series: Map<string, number> }> {
  let last: { truth: Truth; series: Map<string, number> } | undefined;
  const agrees = ({ truth, series }: { truth: Truth; series: Map<string, number> }) =>
    truth.workloads.every((w) => sameClosed(closedConnections(series, w.name), w.tcp_closed)) &&
    truth.edges.every((e) => sameClosed(closedConnections(series, e.src.name, e.dst.name), e.tcp_closed));
  try {
    return await waitFor(
      'meshtel to report the TCP connections the mesh closed',
      async () => {
        await mesh.call('POST', '/flush');
        const truth = await mesh.truth();
        last = { truth, series: await exposition(collector) };
        return ready(truth) && agrees(last) ? last : undefined;
      },
      20_000,
      250,
    );
  } catch {
    return last ?? { truth: await mesh.truth(), series: await exposition(collector) };
  }
}

function sameClosed(a: ClosedConnections, b: ClosedConnections): boolean {
  return a.ok === b.ok && a.error === b.error;
}

/**
 * What the collector reports once its per-workload and per-edge request counts have caught up
 * with the truth (the last exports are in flight after a flush); after 20 s, what it reports
 * then, for the caller's assertions to show the difference.
 */
export async function settled(collector: Collector, truth: Truth): Promise<{ stat: StatResponse; edges: EdgesResponse }> {
  let last: { stat: StatResponse; edges: EdgesResponse } | undefined;
  try {
    return await waitFor(
      'meshtel to report the requests the mesh made',
      async () => {
        last = { stat: await stat(collector), edges: await edges(collector) };
        const workloadsMatch = truth.workloads.every((w) => last!.stat.workloads.find((x) => x.name === w.name)?.requests === w.requests);
        const edgesMatch = truth.edges.every((t) => last!.edges.edges.find((x) => x.src.name === t.src.name && x.dst.name === t.dst.name)?.requests === t.requests);
        return workloadsMatch && edgesMatch ? last : undefined;
      },
      20_000,
      250,
    );
  } catch {
    return last ?? { stat: await stat(collector), edges: await edges(collector) };
  }
}
