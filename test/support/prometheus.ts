import { startPrometheus, type PrometheusOptions, type RunningServer } from '../../demo/launcher/monitoring.js';
import { waitFor } from './processes.js';
import { requireProgram } from './system-packages.js';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus (Debian package `prometheus`) on a free loopback port, with query helpers. */
export class Prometheus {
  private constructor(private readonly server: RunningServer) {}

  static async start(options: PrometheusOptions): Promise<Prometheus> {
    requireProgram('prometheus');
    return new Prometheus(await startPrometheus({ scrapeInterval: '1s', evaluationInterval: '1s', ...options }));
  }

  get url(): string {
    return this.server.url;
  }

  /**
   * Runs an instant query, at `time` (seconds since the epoch) when given, else now; throws with
   * Prometheus' error message when the query is invalid.
   */
  async query(promql: string, time?: number): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: promql, ...(time === undefined ? {} : { time: String(time) }) });
    const res = await fetch(`${this.url}/api/v1/query?${params.toString()}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
    return body.data!.result;
  }

  /** Polls a query until `accept` returns a value for its result. */
  async waitForQuery<T>(promql: string, accept: (samples: PromSample[]) => T | undefined, timeoutMs = 30_000): Promise<T> {
    return waitFor(`Prometheus query ${promql}`, async () => accept(await this.query(promql)), timeoutMs, 250);
  }

  /** Waits until every scrape target is up. */
  async waitForTargetsUp(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'all scrape targets up',
      async () => {
        const res = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
        const targets = res.data.activeTargets;
        return targets.length > 0 && targets.every((t) => t.health === 'up') ? true : undefined;
      },
      timeoutMs,
      250,
    );
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}

/** One rule as Prometheus' `/api/v1/rules` reports it. */
export interface LoadedRule {
  group: string;
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  query: string;
}

/** Every rule Prometheus loaded, with its health after its last evaluation (`ok`, `err`, `unknown`). */
export async function loadedRules(prometheus: Prometheus): Promise<LoadedRule[]> {
  const res = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
    data: { groups: { name: string; rules: Omit<LoadedRule, 'group'>[] }[] };
  };
  return res.data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
}

/** Prometheus' own formatting of an expression (`/api/v1/format_query`): its parser's canonical text. */
export async function formatQuery(prometheus: Prometheus, promql: string): Promise<string> {
  const res = await fetch(`${prometheus.url}/api/v1/format_query`, { method: 'POST', body: new URLSearchParams({ query: promql }) });
  const body = (await res.json()) as { status: string; error?: string; data?: string };
  if (body.status !== 'success') throw new Error(`format_query ${promql} failed: ${body.error}`);
  return body.data!;
}
