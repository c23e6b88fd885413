import { join } from 'node:path';
import pino from 'pino';
import type { EdgesResponse, StatResponse } from '../../collector/api/views.js';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import type { Truth } from '../../demo/truth.js';
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
    ];
    const p = await startProcess(process.execPath, args, { readyPattern: /control: (http:\/\/\S+)/, env: cleanEnv(), timeoutMs: 60_000 });
    return new RunningMesh(p, p.ready[1]!);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.control}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  truth(): Promise<Truth> {
    return this.call<Truth>('GET', '/truth');
  }

  /** Waits until the load generator has had `n` answers. */
  async waitForAnswers(n: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${n} answers to the load generator`, async () => ((await this.truth()).load.completed >= n ? true : undefined), timeoutMs, 200);
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
  return (await fetch(`http://${collector.adminAddress}/api/v1/stat?window=${window}`)).json() as Promise<StatResponse>;
}

export async function edges(collector: Collector, window = '15m'): Promise<EdgesResponse> {
  return (await fetch(`http://${collector.adminAddress}/api/v1/edges?window=${window}`)).json() as Promise<EdgesResponse>;
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
