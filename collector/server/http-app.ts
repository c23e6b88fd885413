import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { boundAddress, type Endpoint } from '../config/units.js';

/**
 * A fastify app for one of the collector's servers: logs through the collector's logger under
 * `component`, without per-request log lines (a telemetry pipeline would log its own traffic),
 * and closing idle keep-alive connections on shutdown so that `close()` returns promptly.
 */
export function createHttpApp(logger: Logger, component: Record<string, string>, options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child(component),
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    ...options,
  });
  // 'idle' closes only the connections idle when close() starts; a keep-alive connection whose
  // request is still in flight would stay open for keepAliveTimeout (5s) after its answer and hold
  // close() up that long. Answering in-flight requests with `Connection: close` ends them at once.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  return app;
}

/** Listens on `endpoint`, logs `what listening on http://ADDRESS`, and returns `host:port` bound. */
export async function listen(app: FastifyInstance, endpoint: Endpoint, what: string): Promise<string> {
  await app.listen({ host: endpoint.host, port: endpoint.port, listenTextResolver: (url) => `${what} listening on ${url}` });
  return boundAddress(app.server);
}
