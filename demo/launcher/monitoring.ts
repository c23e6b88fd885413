import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUntilReady, type Started } from './processes.js';

/** Prometheus and Alertmanager (Debian's prometheus and prometheus-alertmanager) log where they listen. */
const LISTENING = /msg="Listening on" address=([\d.:[\]]+)/;

export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  process: Started;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `host:port` targets to scrape, by job name (several instances of one job: a list). */
  targets: Record<string, string | string[]>;
  scrapeInterval?: string;
  evaluationInterval?: string;
  ruleFiles?: string[];
  /** Alertmanager `host:port` to send alerts to. */
  alertmanager?: string;
  /** `host:port` to listen on; port 0 picks a free one (the default). */
  listen?: string;
  /** How long Prometheus waits before sending a firing alert again (its default: 1m). */
  alertResendDelay?: string;
}

/**
 * A real Prometheus with its TSDB in a temporary directory, removed when it stops. Exemplar
 * storage is on, so that latency panels can link to the traces meshtel's exemplars name.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meshtel-prometheus-'));
  const config = {
    global: { scrape_interval: options.scrapeInterval ?? '5s', evaluation_interval: options.evaluationInterval ?? options.scrapeInterval ?? '5s' },
    rule_files: options.ruleFiles ?? [],
    ...(options.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } } : {}),
    scrape_configs: Object.entries(options.targets).map(([job, target]) => ({ job_name: job, static_configs: [{ targets: typeof target === 'string' ? [target] : target }] })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  return serve(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${options.listen ?? '127.0.0.1:0'}`,
      '--web.enable-lifecycle',
      '--enable-feature=exemplar-storage',
      ...(options.alertResendDelay === undefined ? [] : [`--rules.alert.resend-delay=${options.alertResendDelay}`]),
    ],
    dir,
  );
}

/** A real Alertmanager with `config` (YAML or its JSON form), state in a temporary directory. */
export async function startAlertmanager(config: object | string, listen = '127.0.0.1:0'): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meshtel-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return serve(
    'prometheus-alertmanager',
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`, '--cluster.listen-address='],
    dir,
  );
}

async function serve(program: string, args: string[], dir: string): Promise<RunningServer> {
  try {
    const process = await startUntilReady(program, args, LISTENING);
    return {
      url: `http://${process.ready[1]}`,
      process,
      stop: async () => {
        await process.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
