import { Collector } from '../collector.js';
import { loadConfig } from '../config/load.js';
import { stdoutLogger } from './stdout-logger.js';

export interface RunFlags {
  config?: string | undefined;
  /** Also run the example mesh (and Prometheus and Alertmanager when installed): `npm start`. */
  demo?: boolean | undefined;
  [flag: string]: string | boolean | undefined;
}

/**
 * `meshtel run`: starts the collector and keeps it running until SIGTERM or SIGINT, then shuts
 * down gracefully (stop accepting, answer in-flight requests, flush) and exits 0; a signal that
 * comes while it starts does the same once it has started. A second signal, or a shutdown longer
 * than `shutdown_timeout`, exits 1 at once.
 */
export async function runCommand(flags: RunFlags, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const overrides = Object.fromEntries(Object.entries(flags).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const config = loadConfig({ file: flags.config, flags: overrides, env });
  if (flags.demo === true && config.mode !== 'all') throw new Error(`--demo runs the example mesh against one collector: it needs --mode all, not ${config.mode}`);
  const logger = stdoutLogger(config.log.level, 'meshtel');
  const collector = new Collector(config, { logger });
  let demo: { stop(): Promise<void> } | undefined;

  const start = async (): Promise<void> => {
    try {
      await collector.start();
    } catch (e) {
      throw new Error(describeStartError(e, config.receivers.otlp.endpoint, config.admin.endpoint), { cause: e });
    }
    if (flags.demo !== true) return;
    const { startDemoStack } = await import('../../demo/launcher/stack.js');
    try {
      const wellKnownPorts = config.receivers.otlp.endpoint.port !== 0 && config.admin.endpoint.port !== 0;
      const stack = await startDemoStack({ otlp: collector.otlpAddress, admin: collector.adminAddress }, wellKnownPorts);
      demo = stack;
      console.log(stack.banner);
    } catch (e) {
      await collector.shutdown();
      throw new Error(`cannot start the example mesh: ${(e as Error).message}`, { cause: e });
    }
  };

  const stop = () => {
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdown_timeout }, 'shutdown took longer than shutdown_timeout; exiting');
      process.exit(1);
    }, config.shutdown_timeout);
    deadline.unref();
    (demo?.stop() ?? Promise.resolve())
      .then(() => collector.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };

  // The handlers come first: until a process has one, SIGTERM kills it on the spot, and a signal
  // sent as soon as the collector says it started could beat a handler set after that. A signal
  // during the start is answered once the start is over.
  const startup = start();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down: no new data accepted, finishing in-flight requests');
    // A failed start is reported, and exits 1, where runCommand is awaited.
    startup.then(stop, () => undefined);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await startup;
}

function describeStartError(e: unknown, otlp: { host: string; port: number }, admin: { host: string; port: number }): string {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = err.port !== undefined ? `${err.address ?? ''}:${err.port}` : '';
  const flag = err.port === otlp.port ? '--otlp-endpoint' : err.port === admin.port ? '--admin-endpoint' : 'the endpoint flags';
  if (err.code === 'EADDRINUSE') {
    return `cannot listen on ${where}: the address is already in use. Is another collector running? Choose another port with ${flag} (port 0 picks a free one).`;
  }
  if (err.code === 'EACCES') return `cannot listen on ${where}: permission denied. Use a port above 1023 with ${flag}.`;
  if (err.code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address. Check ${flag}.`;
  return `cannot start: ${err.message}`;
}
