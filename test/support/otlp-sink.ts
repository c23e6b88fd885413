import http from 'node:http';
import type { TracesData } from '../../collector/model/traces.js';
import { officialTraces } from './otel-fixtures.js';

/** How the sink answers one request, chosen per request by the test. */
export interface SinkAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Milliseconds before answering (a slow backend). */
  delayMs?: number;
}

/**
 * A stand-in OTLP/HTTP trace backend (what Jaeger v2 is on port 4318): it decodes every request
 * with the official OTLP decoder (the OTel JS project's protobufjs code generated from the
 * official protos) and keeps what it accepted. Tests script its answers, slow it down, and take
 * it down and up again on the same port.
 */
export class OtlpSink {
  /** Every request the sink accepted (answered 2xx), decoded. */
  readonly accepted: TracesData[] = [];
  requests = 0;
  answer: (request: number) => SinkAnswer = () => ({ status: 200 });
  private server: http.Server | undefined;
  private port = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Spans accepted so far. */
  get spans(): number {
    let n = 0;
    for (const d of this.accepted) for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
    return n;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = ++this.requests;
        const a = this.answer(n);
        const reply = () => {
          if (a.status >= 200 && a.status < 300) this.accepted.push(officialTraces(Buffer.concat(chunks)));
          res.writeHead(a.status, { 'content-type': 'application/x-protobuf', ...a.headers });
          res.end();
        };
        if (a.delayMs) setTimeout(reply, a.delayMs);
        else reply();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Takes the backend down: new connections are refused until `start()` again (same port). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
