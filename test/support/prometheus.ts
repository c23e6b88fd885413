import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, waitFor, type StartedProcess } from './processes.js';
import { requireProgram } from './system-packages.js';

export interface PrometheusOptions {
  /** `host:port` targets to scrape, each under its own job name. */
  targets: Record<string, string>;
  scrapeInterval?: string;
  ruleFiles?: string[];
  evaluationInterval?: string;
  /** Alertmanager `host:port` to send alerts to. */
  alertmanager?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A real Prometheus (Debian package `prometheus`) on a free loopback port, with a temp TSDB. */
export class Prometheus {
  private constructor(
    private readonly process: StartedProcess,
    readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(options: PrometheusOptions): Promise<Prometheus> {
    requireProgram('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'meshtel-prometheus-'));
    const config = {
      global: { scrape_interval: options.scrapeInterval ?? '1s', evaluation_interval: options.evaluationInterval ?? '1s' },
      rule_files: options.ruleFiles ?? [],
      alerting: options.alertmanager ? { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } : undefined,
      scrape_configs: Object.entries(options.targets).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: [target] }] })),
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
    const p = await startProcess(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:0',
        '--web.enable-lifecycle',
      ],
      { readyPattern: /msg="Listening on" address=([\d.:]+)/ },
    );
    return new Prometheus(p, `http://${p.ready[1]}`, dir);
  }

  /** Runs an instant query; throws with Prometheus' error message when the query is invalid. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`);
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
    await waitFor('all scrape targets up', async () => {
      const res = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
      const targets = res.data.activeTargets;
      return targets.length > 0 && targets.every((t) => t.health === 'up') ? true : undefined;
    }, timeoutMs, 250);
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
