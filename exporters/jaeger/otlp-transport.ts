import http from 'node:http';
import https from 'node:https';
import type { TracesData } from '../../collector/model/traces.js';
import { encodeTracesProto } from '../../collector/otlp/encode-traces-proto.js';
import { ProtobufReader, WireType } from '../../collector/otlp/protobuf-reader.js';
import type { TraceExporterConfig } from './config.js';
import { connectionPool } from './connection-pool.js';
import { parseRetryAfter, retryableStatus, type SendResult, type SpanTransport } from './transport.js';

/**
 * OTLP/HTTP protobuf to `/v1/traces`: what Jaeger 1.35+ and v2 take on port 4318 (and any OTLP
 * backend). Keep-alive connections, the configured headers and TLS.
 */
export class OtlpHttpTransport implements SpanTransport {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly config: Pick<TraceExporterConfig, 'endpoint' | 'headers' | 'tls' | 'timeout'>) {
    this.url = new URL(config.endpoint.url);
    this.agent = connectionPool(this.url, config.tls);
  }

  send(data: TracesData, _spans: number, signal: AbortSignal): Promise<SendResult> {
    const body = encodeTracesProto(data);
    const request = this.url.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          timeout: this.config.timeout,
          headers: { ...this.config.headers, 'content-type': 'application/x-protobuf', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => resolve({ kind: 'retryable', error: `reading the response: ${e.message}` }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve({ kind: 'success', rejected: rejectedSpans(Buffer.concat(chunks)) });
            const error = `${this.url.host} answered ${status}`;
            if (retryableStatus(status)) resolve({ kind: 'retryable', error, retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
            else resolve({ kind: 'failure', error });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.config.timeout} ms`)));
      // Connection problems (refused, reset, DNS, timeout) are worth retrying.
      req.on('error', (e) => resolve({ kind: 'retryable', error: `${this.url.host}: ${e.message}` }));
      req.end(body);
    });
  }

  shutdown(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}

/** `ExportTraceServiceResponse.partial_success.rejected_spans`, 0 when absent or unreadable. */
function rejectedSpans(body: Buffer): number {
  try {
    const r = new ProtobufReader(body);
    while (r.pos < r.limit) {
      const tag = r.tag();
      if (tag >>> 3 === 1 && (tag & 7) === WireType.LEN) {
        const end = r.message();
        while (r.more(end)) {
          const t = r.tag();
          if (t >>> 3 === 1 && (t & 7) === WireType.VARINT) return r.uint64Number();
          r.skip(t & 7);
        }
      } else r.skip(tag & 7);
    }
  } catch {
    // Not an OTLP response: nothing to say about rejections.
  }
  return 0;
}
