import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders as H2Headers, ServerHttp2Stream } from 'node:http2';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';

/**
 * The two sides of a proxied request, whatever the protocol on each: HTTP/1.1 from applications
 * and unmeshed clients, HTTP/2 (TLS between proxies, cleartext for gRPC applications).
 */

export type Headers = Record<string, string | string[]>;

/** A request as the proxy received it. */
export interface Downstream {
  method: string;
  path: string;
  authority: string;
  /** Lowercase, without pseudo-headers and without HTTP/1.1 connection headers. */
  headers: Headers;
  body: Readable;
  grpc: boolean;
  /** Sends `response` back; resolves with its status and gRPC status once fully written. */
  respond(response: UpstreamResponse): Promise<Outcome>;
  /** Answers with an error of the proxy's own (the upstream could not be reached). */
  fail(status: number, grpcStatus: number, message: string): Outcome;
}

/** What came back from upstream. */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: Readable;
  /** Resolves with the HTTP/2 trailers (gRPC status) once the body has ended. */
  trailers: Promise<Headers | undefined>;
}

export interface Outcome {
  status: number;
  /** The gRPC status, when the exchange was gRPC. */
  grpcStatus: number | undefined;
}

/** Headers that belong to one HTTP/1.1 connection and must not travel further (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

function plainHeaders(raw: IncomingMessage['headers'] | H2Headers): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || k.startsWith(':') || HOP_BY_HOP.has(k)) continue;
    if (k === 'te' && v !== 'trailers') continue;
    out[k] = v;
  }
  return out;
}

function grpcStatusOf(headers: Headers | undefined): number | undefined {
  const v = headers?.['grpc-status'];
  return v === undefined ? undefined : Number(Array.isArray(v) ? v[0] : v);
}

/** A request from an HTTP/1.1 connection. */
export function fromHttp1(req: IncomingMessage, res: ServerResponse): Downstream {
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    authority: req.headers.host ?? '',
    headers: plainHeaders(req.headers),
    body: req,
    grpc: false,
    respond: (up) =>
      new Promise((resolve) => {
        res.writeHead(up.status, up.headers);
        pipeline(up.body, res, () => resolve({ status: up.status, grpcStatus: undefined }));
      }),
    fail: (status, _grpc, message) => {
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${message}\n`);
      return { status, grpcStatus: undefined };
    },
  };
}

/** A request from an HTTP/2 stream (TLS from another proxy, or cleartext from a gRPC application). */
export function fromHttp2(stream: ServerHttp2Stream, headers: H2Headers): Downstream {
  const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
  return {
    method: String(headers[':method'] ?? 'GET'),
    path: String(headers[':path'] ?? '/'),
    authority: String(headers[':authority'] ?? ''),
    headers: plainHeaders(headers),
    body: stream,
    grpc,
    respond: async (up) => {
      // A gRPC error may come as headers only ("trailers-only"); otherwise its status is in trailers.
      const headerStatus = grpcStatusOf(up.headers);
      const waitForTrailers = grpc && headerStatus === undefined;
      if (!stream.destroyed) {
        stream.respond({ ':status': up.status, ...up.headers }, { waitForTrailers });
        if (waitForTrailers) {
          stream.once('wantTrailers', () => {
            void up.trailers.then((t) => {
              if (!stream.destroyed) stream.sendTrailers(t ?? { 'grpc-status': '13', 'grpc-message': 'upstream sent no trailers' });
            });
          });
        }
        await pipelineAsync(up.body, stream).catch(() => {});
      }
      const trailers = await up.trailers;
      return { status: up.status, grpcStatus: headerStatus ?? (grpc ? (grpcStatusOf(trailers) ?? 13) : undefined) };
    },
    fail: (status, grpcStatus, message) => {
      if (!stream.destroyed && !stream.headersSent) {
        if (grpc) stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
        else stream.respond({ ':status': status, 'content-type': 'text/plain' }, { endStream: false });
      }
      if (!grpc && !stream.destroyed) stream.end(`${message}\n`);
      return grpc ? { status: 200, grpcStatus } : { status, grpcStatus: undefined };
    },
  };
}

/** Sends a request to an HTTP/1.1 server (a local application). */
export function sendHttp1(port: number, down: Downstream, headers: Headers, agent: http.Agent): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: down.method, path: down.path, headers: { ...headers, host: down.authority }, agent }, (res) => {
      resolve({ status: res.statusCode ?? 502, headers: plainHeaders(res.headers), body: res, trailers: Promise.resolve(undefined) });
    });
    req.once('error', reject);
    pipeline(down.body, req, () => {});
  });
}

/** Sends a request on an HTTP/2 session (another proxy over TLS, or a local gRPC application). */
export function sendHttp2(session: ClientHttp2Session, down: Downstream, headers: Headers): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({ ':method': down.method, ':path': down.path, ':authority': down.authority, ...headers });
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const trailers = new Promise<Headers | undefined>((resolveTrailers) => {
      stream.once('trailers', (t: H2Headers) => resolveTrailers(plainHeaders(t)));
      stream.once('close', () => resolveTrailers(undefined));
    });
    stream.once('response', (h) => resolve({ status: Number(h[':status'] ?? 502), headers: plainHeaders(h), body: stream, trailers }));
    stream.once('error', reject);
    // A stream reset with CANCEL (its session's connection went away, as when the peer proxy is
    // stopped) closes without an 'error': without this the request would wait forever.
    stream.once('close', () => reject(new Error(`stream closed before a response (HTTP/2 code ${stream.rstCode})`)));
    pipeline(down.body, stream, () => {});
  });
}
