import * as grpc from '@grpc/grpc-js';
import type { ServiceName } from '../topology.js';
import { serviceHost } from '../topology.js';
import { injectFault, type Fault } from './faults.js';
import { callService, json, readBody, serveHttp, traceHeaders, type App } from './http-app.js';
import { scoreClient, scoreService, type SetReply, type SetRequest } from './score-grpc.js';

/** What an application needs to call other services: its proxy's outbound ports. */
export interface Outbound {
  http: number;
  grpc: number;
}

/** The application of one service. It reads its fault from `fault()` on every request. */
export function startApp(name: ServiceName, outbound: () => Outbound, fault: () => Fault | undefined): Promise<App> {
  switch (name) {
    case 'student':
      return student(outbound, fault);
    case 'auth':
      return auth(fault);
    case 'number':
      return number(outbound, fault);
    case 'score':
      return score(fault);
  }
}

/** GET /v1/student/{id}: authenticate with auth, then set a number with number. */
function student(outbound: () => Outbound, fault: () => Fault | undefined): Promise<App> {
  return serveHttp(async (req, res) => {
    const id = Number(/^\/v1\/student\/(\d+)/.exec(req.url ?? '')?.[1] ?? NaN);
    if (!Number.isInteger(id)) return json(res, 404, { error: 'GET /v1/student/{id}' });
    if (await injectFault(fault())) return json(res, 500, { error: 'injected fault' });
    const trace = traceHeaders(req);
    const login = await callService(outbound().http, 'auth', 'GET', `/v1/auth/${id}`, trace);
    if (login.status >= 500) return json(res, 503, { error: 'auth unavailable' });
    if (login.status !== 200) return json(res, 401, { error: 'not authenticated' });
    const set = await callService(outbound().http, 'number', 'POST', '/v1/number', trace, { id, number: id % 100 });
    if (set.status !== 200) return json(res, 502, { error: 'number unavailable' });
    json(res, 200, { id, ...(JSON.parse(set.body) as object) });
  });
}

/** GET /v1/auth/{id}: every 97th student is refused (403, a client error, not a failure). */
function auth(fault: () => Fault | undefined): Promise<App> {
  return serveHttp(async (req, res) => {
    const id = Number(/^\/v1\/auth\/(\d+)/.exec(req.url ?? '')?.[1] ?? NaN);
    if (!Number.isInteger(id)) return json(res, 404, { error: 'GET /v1/auth/{id}' });
    if (await injectFault(fault())) return json(res, 500, { error: 'injected fault' });
    if (id % 97 === 0) return json(res, 403, { authenticated: false });
    json(res, 200, { authenticated: true });
  });
}

/** POST /v1/number {id, number}: records it with score over gRPC. */
function number(outbound: () => Outbound, fault: () => Fault | undefined): Promise<App> {
  let client: ReturnType<typeof scoreClient> | undefined;
  let clientPort = -1;
  return serveHttp(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/number') return json(res, 404, { error: 'POST /v1/number' });
    const body = JSON.parse((await readBody(req)) || '{}') as Partial<SetRequest>;
    if (await injectFault(fault())) return json(res, 500, { error: 'injected fault' });
    // The proxy's port changes if the proxy restarts; so does the client then.
    if (client === undefined || clientPort !== outbound().grpc) {
      client?.close();
      clientPort = outbound().grpc;
      client = scoreClient(`127.0.0.1:${clientPort}`, serviceHost('score'));
    }
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(traceHeaders(req))) metadata.set(k, v);
    const reply = await new Promise<SetReply | undefined>((resolve) =>
      client!.Set({ id: body.id ?? 0, number: body.number ?? 0 }, metadata, (err, r) => resolve(err ? undefined : r)),
    );
    if (reply === undefined) return json(res, 502, { error: 'score unavailable' });
    json(res, 200, { score: reply.score });
  });
}

/** score.v1.Score/Set over gRPC (cleartext HTTP/2 behind its proxy). */
function score(fault: () => Fault | undefined): Promise<App> {
  const server = new grpc.Server();
  server.addService(scoreService, {
    Set: (call: grpc.ServerUnaryCall<SetRequest, SetReply>, callback: grpc.sendUnaryData<SetReply>) => {
      void injectFault(fault()).then((fail) => {
        if (fail) callback({ code: grpc.status.UNAVAILABLE, details: 'injected fault' });
        else callback(null, { score: (call.request.number * 3) % 101 });
      });
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({
        port,
        close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
      });
    }),
  );
}
