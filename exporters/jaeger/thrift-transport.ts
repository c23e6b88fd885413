import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import type { Logger } from 'pino';
import type { ResourceSpans, Span, TracesData } from '../../collector/model/traces.js';
import type { TraceExporterConfig } from './config.js';
import { toReadableSpan, type JaegerInputSpan } from './readable-span.js';
import { ExchangeAgent, type Exchange } from './thrift-http-agent.js';
import { AlignedSender, httpSender, udpSender, type ScopedSpan } from './thrift-sender.js';
import { processOf } from './thrift-span.js';
import { parseRetryAfter, retryableStatus, type SendResult, type SpanTransport } from './transport.js';

/** ExportResultCode.SUCCESS of @opentelemetry/core. */
const EXPORT_SUCCESS = 0;

/** What one resource's group came to. */
type GroupOutcome =
  | { kind: 'sent'; rejected: number }
  | { kind: 'retryable'; error: string; retryAfterMs?: number | undefined }
  | { kind: 'failure'; error: string };

/** How far a batch got over its attempts (TraceExporter retries with the same TracesData). */
interface Progress {
  done: Set<ResourceSpans>;
  delivered: number;
  rejected: number;
  failure: string | undefined;
}

/**
 * One JaegerExporter with its sender: a send uses a lane alone, since the sender buffers the
 * spans of the export under way. HTTP lanes keep their connection pool across senders.
 */
class Lane {
  readonly agent: ExchangeAgent | undefined;
  exporter!: JaegerExporter;
  sender!: AlignedSender;
  private udp: { close(): void } | undefined;

  constructor(
    private readonly url: URL,
    private readonly config: TraceExporterConfig,
    private readonly logger: Logger | undefined,
  ) {
    if (config.endpoint.protocol === 'thrift_http') this.agent = new ExchangeAgent(url, config);
    this.renew();
  }

  /** A fresh exporter and sender (after a failed export, whatever the old sender still holds is dropped). */
  renew(): void {
    if (this.agent === undefined) {
      // A UDP sender owns its socket; an HTTP sender's pool is the lane's.
      this.udp?.close();
      const udp = udpSender(this.url, this.logger);
      this.udp = udp.sender;
      this.sender = new AlignedSender(udp.sender, udp.fits);
    } else {
      this.sender = new AlignedSender(httpSender(this.url, this.agent.agent, this.config.timeout, this.logger));
    }
    this.exporter = new JaegerExporter(this.agent === undefined ? { host: this.url.hostname, port: Number(this.url.port) } : { endpoint: this.url.toString() });
    // JaegerExporter makes its sender on the first span unless one is set (jaeger.js _getSender).
    (this.exporter as unknown as { _sender: AlignedSender })._sender = this.sender;
  }

  close(): void {
    this.udp?.close();
    this.agent?.destroy();
  }
}

/**
 * Thrift to Jaeger v1 through @opentelemetry/exporter-jaeger: HTTP `POST /api/traces` to a
 * collector (port 14268) or UDP `emitBatch` to an agent (port 6832, Thrift binary protocol).
 *
 * A batch goes as one Jaeger `Batch` per resource (a Batch has one Process: `service.name` and
 * the resource's other attributes), each span converted to the SDK's ReadableSpan, through
 * JaegerExporter's transform, completed from our model where the transform loses something (see
 * refineThriftSpan), and sent by jaeger-client's sender.
 *
 * Outcomes, per resource: over HTTP the status decides (429/502/503/504 retryable with their
 * Retry-After, any other failure permanent), connection errors and timeouts are retryable; over
 * UDP a socket error is retryable, and a lost datagram (an agent that is down) goes unnoticed,
 * as with any UDP sender. A retry of the same batch skips the resources already sent, so that a
 * batch of several resources arrives once even when the backend fails halfway. Spans a Thrift
 * Batch cannot hold (ids that are not 128/64-bit, a span over a UDP packet) are rejected and
 * counted, not sent.
 */
export class ThriftTransport implements SpanTransport {
  private readonly url: URL;
  private readonly lanes: Lane[] = [];
  private readonly idle: Lane[] = [];
  private readonly waiting: ((lane: Lane | undefined) => void)[] = [];
  private readonly progress = new WeakMap<TracesData, Progress>();
  private closed = false;

  constructor(
    private readonly config: TraceExporterConfig,
    private readonly logger?: Logger,
  ) {
    if (config.endpoint.protocol === 'otlp') throw new Error('ThriftTransport: the endpoint is OTLP');
    this.url = new URL(config.endpoint.url);
  }

  async send(data: TracesData, _spans: number, signal: AbortSignal): Promise<SendResult> {
    let progress = this.progress.get(data);
    if (progress === undefined) {
      progress = { done: new Set(), delivered: 0, rejected: 0, failure: undefined };
      this.progress.set(data, progress);
    }
    for (const rs of data.resourceSpans) {
      if (progress.done.has(rs)) continue;
      const spans: ScopedSpan[] = [];
      let invalid = 0;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (thriftIds(span)) spans.push({ span, scope: ss.scope });
          else invalid++;
        }
      }
      const outcome = spans.length === 0 ? ({ kind: 'sent', rejected: 0 } as const) : await this.sendGroup(rs, spans, signal);
      if (outcome.kind === 'retryable') return { kind: 'retryable', error: outcome.error, retryAfterMs: outcome.retryAfterMs };
      progress.done.add(rs);
      if (outcome.kind === 'failure') {
        progress.rejected += spans.length + invalid;
        progress.failure = outcome.error;
      } else {
        progress.rejected += outcome.rejected + invalid;
        progress.delivered += spans.length - outcome.rejected;
      }
    }
    this.progress.delete(data);
    if (progress.delivered === 0 && progress.failure !== undefined) return { kind: 'failure', error: progress.failure };
    return { kind: 'success', rejected: progress.rejected };
  }

  /** One resource's spans as one Jaeger Batch, on a lane of its own. */
  private async sendGroup(rs: ResourceSpans, spans: ScopedSpan[], signal: AbortSignal): Promise<GroupOutcome> {
    const lane = await this.acquire(signal);
    if (lane === undefined) return { kind: 'retryable', error: 'shutting down' };
    try {
      lane.sender.begin(processOf(rs.resource), spans);
      const exchange = lane.agent?.expect(signal);
      // The process carries the resource: JaegerExporter would copy its attributes onto every span.
      const readable = spans.map((s) => toReadableSpan(s.span, s.scope, {}) as unknown as JaegerInputSpan);
      const result = await exportWithin(lane.exporter, readable, this.config.timeout + 1000);
      const outcome = result === undefined ? { kind: 'retryable' as const, error: `no answer within ${this.config.timeout} ms` } : this.outcome(result, lane, exchange);
      if (outcome.kind !== 'sent' && !this.closed) lane.renew();
      return outcome;
    } finally {
      this.release(lane);
    }
  }

  /** ExportResult to an outcome, the status and errors read from the exchange where there was one. */
  private outcome(result: { code: number; error?: Error }, lane: Lane, exchange: Exchange | undefined): GroupOutcome {
    if (result.code === EXPORT_SUCCESS) return { kind: 'sent', rejected: lane.sender.rejected };
    const where = this.url.host;
    if (exchange?.status !== undefined) {
      const error = `${where} answered ${exchange.status}`;
      if (retryableStatus(exchange.status)) return { kind: 'retryable', error, retryAfterMs: parseRetryAfter(exchange.retryAfter) };
      return { kind: 'failure', error };
    }
    if (exchange?.error !== undefined) return { kind: 'retryable', error: `${where}: ${exchange.error.message}` };
    const text = lane.sender.lastError ?? result.error?.message ?? 'export failed';
    // UDP: the socket refused the datagram (no route, name not resolved): worth retrying. Anything
    // else (a span that could not be encoded) would fail the same way again.
    if (this.agentless(text)) return { kind: 'retryable', error: `${where}: ${text}` };
    return { kind: 'failure', error: `${where}: ${text}` };
  }

  private agentless(text: string): boolean {
    return this.config.endpoint.protocol === 'thrift_udp' && text.startsWith('error sending spans over UDP');
  }

  private acquire(signal: AbortSignal): Promise<Lane | undefined> {
    if (this.closed || signal.aborted) return Promise.resolve(undefined);
    const free = this.idle.pop();
    if (free !== undefined) return Promise.resolve(free);
    if (this.lanes.length < this.config.sending_concurrency) {
      const lane = new Lane(this.url, this.config, this.logger);
      this.lanes.push(lane);
      return Promise.resolve(lane);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(lane: Lane): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(lane);
    else this.idle.push(lane);
  }

  shutdown(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
    for (const lane of this.lanes) lane.close();
    return Promise.resolve();
  }
}

/** Ids a Thrift span can carry: a 128-bit trace id, 64-bit span ids (parent and links too). */
function thriftIds(span: Span): boolean {
  if (!HEX32.test(span.traceId) || !HEX16.test(span.spanId)) return false;
  if (span.parentSpanId !== '' && !HEX16.test(span.parentSpanId)) return false;
  for (const l of span.links) if (!HEX32.test(l.traceId) || !HEX16.test(l.spanId)) return false;
  return true;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * JaegerExporter.export() as a promise, or undefined when it has not called back within
 * `timeoutMs` (it cannot be cancelled; the lane is then renewed).
 */
function exportWithin(exporter: JaegerExporter, spans: JaegerInputSpan[], timeoutMs: number): Promise<{ code: number; error?: Error } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    exporter.export(spans, (result) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}
