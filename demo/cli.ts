#!/usr/bin/env node
/**
 * `meshtel-demo`: the example mesh (demo/README in the main README).
 *
 *   meshtel-demo run [--collector URL] [--proxy-mode sidecar|node] [--rate 20] [--sampling 1]
 *                    [--fault SERVICE:error=0.1,latency=50ms ...] [--control HOST:PORT]
 *                    [--export-interval 2s] [--cert-validity 24h]
 *   meshtel-demo truth | status              [--control URL]
 *   meshtel-demo fault SERVICE [--error-rate R] [--latency MS]     (zeros clear it)
 *   meshtel-demo load --rate N                                     (0 pauses)
 *   meshtel-demo proxy stop|start POD
 */
import { parseArgs } from 'node:util';
import { stdoutLogger } from '../collector/cli/stdout-logger.js';
import { parseDuration } from '../collector/config/units.js';
import { parseFault, type Fault } from './apps/faults.js';
import { startControl } from './launcher/control-server.js';
import { Mesh } from './launcher/mesh.js';
import { DEFAULT_CERT_VALIDITY_MS } from './pki.js';

export const DEFAULT_CONTROL = '127.0.0.1:9470';
const CONTROL_ENV = 'MESHTEL_DEMO_CONTROL';

const USAGE = `meshtel-demo: the example mesh (student -> auth, student -> number -> score over gRPC)

  meshtel-demo run [--collector http://127.0.0.1:4318] [--proxy-mode sidecar|node] [--rate 20]
                   [--sampling 1] [--fault SERVICE:error=0.1,latency=50ms ...]
                   [--control ${DEFAULT_CONTROL}] [--export-interval 2s]
                   [--cert-validity 24h]   (how long workload certificates are valid)
  meshtel-demo truth                          what the mesh really did (JSON)
  meshtel-demo status                         pods, processes and ports
  meshtel-demo fault SERVICE [--error-rate 0.2] [--latency 50]    (0 and 0 clear it)
  meshtel-demo load --rate N                  change the load (0 pauses)
  meshtel-demo proxy stop|start POD           take one pod's proxy down, or back up

The control commands find the mesh at --control URL, ${CONTROL_ENV}, or http://${DEFAULT_CONTROL}.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || rest.includes('--help') || command === '--help') {
    console.log(USAGE);
    return;
  }
  if (command === 'run') return run(rest);
  const { values, positionals } = usage(() =>
    parseArgs({
      args: rest,
      allowPositionals: true,
      options: { control: { type: 'string' }, 'error-rate': { type: 'string' }, latency: { type: 'string' }, rate: { type: 'string' } },
    }),
  );
  const control = controlUrl(values.control);
  switch (command) {
    case 'truth':
      return print(await call(control, 'GET', '/truth'));
    case 'status':
      return print(await call(control, 'GET', '/status'));
    case 'fault': {
      const service = positionals[0];
      if (service === undefined) throw new UsageError('usage: meshtel-demo fault SERVICE [--error-rate R] [--latency MS]');
      return print(await call(control, 'PUT', `/faults/${service}`, { error_rate: Number(values['error-rate'] ?? 0), latency_ms: Number(values.latency ?? 0) }));
    }
    case 'load':
      return print(await call(control, 'POST', '/load', { rate: Number(values.rate) }));
    case 'proxy': {
      const [action, pod] = positionals;
      if ((action !== 'stop' && action !== 'start') || pod === undefined) throw new UsageError('usage: meshtel-demo proxy stop|start POD');
      return print(await call(control, 'POST', `/proxies/${pod}/${action}`));
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

async function run(args: string[]): Promise<void> {
  const { values } = usage(() =>
    parseArgs({
      args,
      options: {
        collector: { type: 'string', default: 'http://127.0.0.1:4318' },
        'proxy-mode': { type: 'string', default: 'sidecar' },
        rate: { type: 'string', default: '20' },
        sampling: { type: 'string', default: '1' },
        fault: { type: 'string', multiple: true, default: [] },
        control: { type: 'string', default: DEFAULT_CONTROL },
        'export-interval': { type: 'string', default: '2s' },
        'cert-validity': { type: 'string' },
      },
    }),
  );
  const mode = values['proxy-mode'];
  if (mode !== 'sidecar' && mode !== 'node') throw new UsageError(`--proxy-mode must be sidecar or node (got "${mode}")`);
  const rate = Number(values.rate);
  if (!(rate >= 0)) throw new UsageError(`--rate must be a number of requests per second (got "${values.rate}")`);
  const sampling = Number(values.sampling);
  if (!(sampling > 0 && sampling <= 1)) throw new UsageError(`--sampling must be in (0, 1] (got "${values.sampling}")`);
  const exportIntervalMs = parseDuration(values['export-interval']);
  if (exportIntervalMs === undefined || exportIntervalMs < 100) throw new UsageError('--export-interval must be a duration of at least 100ms, like 2s');
  const certValidityMs = values['cert-validity'] === undefined ? DEFAULT_CERT_VALIDITY_MS : parseDuration(values['cert-validity']);
  if (certValidityMs === undefined || certValidityMs < 60_000) throw new UsageError('--cert-validity must be a duration of at least 1m, like 2h');
  const faults: Record<string, Fault> = Object.fromEntries(values.fault.map((f) => usage(() => parseFault(f))));
  const collector = values.collector.replace(/\/+$/, '');

  const logger = stdoutLogger('info', 'meshtel-demo');
  const mesh = await Mesh.start({ collector, sampling, exportIntervalMs, proxyMode: mode, rate, faults, certValidityMs });
  const control = await startControl(mesh, values.control, logger).catch(async (e: unknown) => {
    await mesh.shutdown();
    throw e;
  });
  // Handlers before the banner that says it runs: a signal sent on seeing it must find one.
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void control
      .close()
      .then(() => mesh.shutdown())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const pods = mesh.status().flatMap((p) => p.pods);
  console.log(
    [
      `example mesh running: ${pods.length} pods (${pods.join(', ')}), ${mode} proxies, mutual TLS between them`,
      `  load: ${rate} requests/s to student; traces sampled at ${sampling}; telemetry to ${collector}`,
      `  control: ${control.url}  (meshtel-demo truth | fault SERVICE --error-rate 0.2 | proxy stop POD)`,
    ].join('\n'),
  );
}

/** Runs `parse`, turning its errors (bad flags) into usage errors (exit 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function controlUrl(flag: string | undefined): string {
  const raw = flag ?? process.env[CONTROL_ENV] ?? DEFAULT_CONTROL;
  return (/^https?:\/\//.test(raw) ? raw : `http://${raw}`).replace(/\/+$/, '');
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch {
    throw new Error(`cannot reach the example mesh at ${base}: is it running? (npm start, or meshtel-demo run; --control or ${CONTROL_ENV} to point elsewhere)`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`meshtel-demo: ${(e as Error).message}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
