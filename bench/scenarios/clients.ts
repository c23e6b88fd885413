import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Send } from '../measure/load.js';
import type { PayloadCycle } from '../mesh/payloads.js';

const PROTOBUF = { 'content-type': 'application/x-protobuf' };

/**
 * POSTs the next payload with fetch (Node's built-in undici client; keep-alive, so workers
 * reuse their connections) and reads the whole response.
 */
export function fetchSender(url: string, cycle: PayloadCycle): Send {
  return async () => {
    const payload = cycle.next();
    const response = await fetch(url, { method: 'POST', headers: PROTOBUF, body: payload.bytes });
    await response.arrayBuffer();
    return response.status === 200 ? payload.spans : 0;
  };
}

/** Sends the next payload through fastify's `inject()`: the whole handler, no socket, no HTTP parsing. */
export function injectSender(app: FastifyInstance, cycle: PayloadCycle): Send {
  return async () => {
    const payload = cycle.next();
    const response = await app.inject({ method: 'POST', url: '/v1/traces', headers: PROTOBUF, payload: payload.bytes });
    return response.statusCode === 200 ? payload.spans : 0;
  };
}

export interface Sink {
  url: string;
  close(): Promise<void>;
}

/** A bare node:http server that reads each body and answers 200 with an empty body. */
export async function startNodeSink(): Promise<Sink> {
  const server: Server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A fastify server that buffers each body as the receiver does and answers 200 with an empty
 * body: the receiver without decoding and aggregation.
 */
export async function startFastifySink(): Promise<Sink> {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const empty = Buffer.alloc(0);
  app.post('/v1/traces', (_req, reply) => reply.code(200).type('application/x-protobuf').send(empty));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, close: () => app.close() };
}
