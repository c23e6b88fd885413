import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../collector/version.js';
import { startAlertmanager, startPrometheus, type RunningServer } from './monitoring.js';
import { installed, startUntilReady, type Started } from './processes.js';

const DEMO_CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** How to run the example mesh of the stack; unset options keep `meshtel-demo run`'s defaults. */
export interface DemoStackOptions {
  /** How long workload identity certificates are valid, a duration like `2h` (`--cert-validity`). */
  certValidity?: string | undefined;
}

export interface DemoStack {
  /** What is running where, and what to try next: printed once everything is up. */
  banner: string;
  /** Stops the mesh (flushing its telemetry), then Prometheus and Alertmanager. */
  stop(): Promise<void>;
}

/**
 * What `npm start` (`meshtel run --demo`) runs beside the collector: the example mesh sending
 * to it, and, when Debian's prometheus and prometheus-alertmanager are installed, a Prometheus
 * scraping the collector with the shipped alert rules and an Alertmanager receiving them.
 *
 * With `wellKnownPorts` they take their usual ports (control API 9470, Prometheus 9090,
 * Alertmanager 9093) when free; otherwise, as when the collector was given port 0, free ones.
 */
export async function startDemoStack(collector: { otlp: string; admin: string }, wellKnownPorts: boolean, options: DemoStackOptions = {}): Promise<DemoStack> {
  const port = async (usual: number) => (wellKnownPorts && (await isFree(usual)) ? `127.0.0.1:${usual}` : '127.0.0.1:0');
  const started: { stop(): Promise<unknown> }[] = [];
  try {
    const control = await port(9470);
    const meshArgs = [DEMO_CLI, 'run', '--collector', `http://${collector.otlp}`, '--control', control];
    if (options.certValidity !== undefined) meshArgs.push('--cert-validity', options.certValidity);
    const mesh = await startUntilReady(process.execPath, meshArgs, /control: (http:\/\/\S+)/, {
      timeoutMs: 60_000,
    });
    started.push({ stop: () => mesh.stop('SIGINT', 15_000) });
    const meshLine = /example mesh running: (.*)/.exec(mesh.output())?.[1] ?? 'running';

    let alertmanager: RunningServer | undefined;
    let prometheus: RunningServer | undefined;
    if (installed('prometheus-alertmanager')) {
      alertmanager = await startAlertmanager({ route: { receiver: 'none' }, receivers: [{ name: 'none' }] }, await port(9093));
      started.push(alertmanager);
    }
    if (installed('prometheus')) {
      prometheus = await startPrometheus({
        targets: { meshtel: collector.admin },
        scrapeInterval: '5s',
        ruleFiles: shippedRules(),
        alertmanager: alertmanager?.url.replace(/^http:\/\//, ''),
        listen: await port(9090),
      });
      started.push(prometheus);
    }
    return { banner: banner(collector, mesh, meshLine, prometheus, alertmanager), stop: () => stopAll(started) };
  } catch (e) {
    await stopAll(started);
    throw e;
  }
}

function banner(collector: { otlp: string; admin: string }, mesh: Started, meshLine: string, prometheus?: RunningServer, alertmanager?: RunningServer): string {
  const control = mesh.ready[1]!;
  const admin = collector.admin === '127.0.0.1:9464' ? '' : ` --admin ${collector.admin}`;
  const demoControl = control === 'http://127.0.0.1:9470' ? '' : ` --control ${control}`;
  const missing = !prometheus || !alertmanager;
  const rules = shippedRules().length;
  return [
    '',
    'meshtel is running with the example mesh (Ctrl-C stops everything):',
    `  OTLP receiver   http://${collector.otlp}  (POST /v1/traces, /v1/metrics)`,
    `  metrics         http://${collector.admin}/metrics`,
    `  example mesh    ${meshLine}`,
    `  Prometheus      ${prometheus ? `${prometheus.url}  (scraping the collector${rules > 0 ? `, with meshtel's ${rules} alert rule files` : ''})` : 'not installed'}`,
    `  Alertmanager    ${alertmanager ? alertmanager.url : 'not installed'}`,
    ...(missing ? ['  (to get both: sudo apt-get install prometheus prometheus-alertmanager, then npm start again)'] : []),
    '',
    'Next, in another terminal:',
    `  npx meshtel stat${admin}                                golden metrics per workload`,
    `  npx meshtel edges${admin}                               who calls whom, and whether it is mTLS`,
    `  npx meshtel-demo fault auth --error-rate 0.3${demoControl}   make auth fail 30% of requests`,
    `  npx meshtel-demo fault auth --error-rate 0${demoControl}     and heal it`,
    `  npx meshtel-demo truth${demoControl}                         what the mesh really did, to compare`,
    '',
  ].join('\n');
}

/** The shipped alert rule files (alerts/*.rules.yml), when there are any. */
function shippedRules(): string[] {
  const dir = join(PACKAGE_ROOT, 'alerts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rules.yml'))
    .map((f) => join(dir, f));
}

async function stopAll(started: { stop(): Promise<unknown> }[]): Promise<void> {
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
