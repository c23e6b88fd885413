import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createHttpApp, listen } from '../../collector/server/http-app.js';
import { parseEndpoint } from '../../collector/config/units.js';
import type { Mesh } from './mesh.js';

/**
 * The example mesh's control API, what `meshtel-demo` and the tests talk to:
 *   GET  /truth                       the ground truth (demo/truth.ts)
 *   GET  /status                      pods, processes and proxy ports
 *   GET  /faults                      current faults
 *   PUT  /faults/:service             {"error_rate": 0.2, "latency_ms": 50}; zeros clear it
 *   POST /load                        {"rate": 20}; 0 pauses
 *   POST /load/stop                   stops the load, answers once in-flight requests are done
 *   POST /proxies/:pod/stop|start     takes one pod's proxy down, or back up
 *   POST /flush                       exports every span and metric the proxies hold
 */
export function controlApp(mesh: Mesh, logger: Logger): FastifyInstance {
  const app = createHttpApp(logger, { component: 'demo-control' });
  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => reply.code(error.statusCode ?? 400).send({ error: error.message }));

  app.get('/truth', async () => mesh.truth());
  app.get('/status', (_req, reply) => reply.send({ proxy_mode: mesh.proxyMode, processes: mesh.status() }));
  app.get('/faults', (_req, reply) => reply.send(mesh.faultsNow()));
  app.put<{ Params: { service: string }; Body: { error_rate?: number; latency_ms?: number } }>('/faults/:service', async (req) => {
    const body = req.body ?? {};
    await mesh.setFault(req.params.service, { errorRate: Number(body.error_rate ?? 0), latencyMs: Number(body.latency_ms ?? 0) });
    return mesh.faultsNow();
  });
  app.post<{ Body: { rate?: number } }>('/load', (req, reply) => {
    const rate = Number(req.body?.rate);
    if (!(rate >= 0 && rate <= 10_000)) return reply.code(400).send({ error: 'rate must be a number of requests per second, 0 to 10000' });
    mesh.setRate(rate);
    return reply.send({ rate });
  });
  app.post('/load/stop', async () => {
    await mesh.stopLoad();
    return { stopped: true };
  });
  app.post<{ Params: { pod: string; action: string } }>('/proxies/:pod/:action', async (req, reply) => {
    const action = req.params.action;
    if (action !== 'stop' && action !== 'start') return reply.code(404).send({ error: 'POST /proxies/POD/stop or /proxies/POD/start' });
    await mesh.proxy(req.params.pod, action);
    return { pod: req.params.pod, proxy: action === 'stop' ? 'stopped' : 'running' };
  });
  app.post('/flush', async () => {
    await mesh.flush();
    return { flushed: true };
  });
  return app;
}

/** Starts the control API on `endpoint` (`HOST:PORT`, port 0 for a free one); returns its URL. */
export async function startControl(mesh: Mesh, endpoint: string, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const ep = parseEndpoint(endpoint);
  if (ep === undefined) throw new Error(`--control must be HOST:PORT (got "${endpoint}")`);
  const app = controlApp(mesh, logger);
  const address = await listen(app, ep, 'example mesh control API');
  return { url: `http://${address}`, close: () => app.close() };
}
