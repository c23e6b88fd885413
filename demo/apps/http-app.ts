import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { serviceHost } from '../topology.js';

/** A running application: where it listens and how to stop it. */
export interface App {
  port: number;
  close(): Promise<void>;
}

/** The W3C trace context of an incoming request, to pass on with the requests it causes. */
export function traceHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of ['traceparent', 'tracestate']) {
    const v = req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

export interface Reply {
  status: number;
  body: string;
}

const agent = new http.Agent({ keepAlive: true });

/** Calls another service through the local proxy's outbound port (never directly). */
export function callService(proxyPort: number, service: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method,
        path,
        agent,
        headers: { ...headers, host: serviceHost(service), ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: text }));
        res.on('error', () => resolve({ status: 502, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 502, body: '' }));
    req.end(payload);
  });
}

/** Starts an HTTP/1.1 application on a free loopback port. */
export function serveHttp(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<App> {
  const server = http.createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          server.closeAllConnections();
          return new Promise<void>((r) => server.close(() => r()));
        },
      }),
    ),
  );
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  req.setEncoding('utf8');
  for await (const chunk of req) text += chunk as string;
  return text;
}
