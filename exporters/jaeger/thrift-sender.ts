import type dgram from 'node:dgram';
import type http from 'node:http';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { InstrumentationScope } from '../../collector/model/common.js';
import type { Span } from '../../collector/model/traces.js';
import { refineThriftSpan, type ThriftProcess, type ThriftSpan } from './thrift-span.js';

/** jaeger-client's sender callback: spans flushed, and an error text. */
export type SenderCallback = (numSpans: number, err?: string) => void;

/** The sender protocol JaegerExporter drives (jaeger-client's HTTPSender and UDPSender). */
export interface JaegerSender {
  setProcess(process: ThriftProcess): void;
  append(span: ThriftSpan, callback: SenderCallback): void;
  flush(callback: SenderCallback): void;
  close(): void;
}

/**
 * The parts of jaeger-client 3.19 (the last release; the project is archived) that meshtel relies
 * on beyond the sender protocol, each pinned by test/unit/exporters/thrift-internals.test.ts.
 */
interface HttpSenderInternals extends JaegerSender {
  /** The pool every request goes through (`http.request(this._httpOptions)`), and the one close() destroys. */
  _httpOptions: { agent: http.Agent };
  _httpAgent: http.Agent;
}

interface UdpSenderInternals extends JaegerSender {
  _client: dgram.Socket;
  /** Bytes of one span in the packet, and the most a span may take (packet size less the batch's overhead). */
  _calcSpanSize(span: ThriftSpan): { err?: unknown; length: number };
  _maxSpanBytes: number;
}

interface SenderLogger {
  info(msg: string): void;
  error(msg: string): void;
}

interface JaegerClientSenders {
  HTTPSender: new (options: {
    endpoint: string;
    username?: string;
    password?: string;
    timeoutMs: number;
    maxSpanBatchSize: number;
    logger: SenderLogger;
  }) => HttpSenderInternals;
  UDPSender: new (options: { host: string; port: number; socketType: 'udp4' | 'udp6'; maxPacketSize?: number; logger: SenderLogger }) => UdpSenderInternals;
}

// exporter-jaeger re-exports jaeger-client's senders from its types module (no package "exports"
// map, so the path is public in practice); through it they resolve as exporter-jaeger's own.
const senders = createRequire(import.meta.url)('@opentelemetry/exporter-jaeger/build/src/types.js') as JaegerClientSenders;

function senderLogger(logger: Logger | undefined): SenderLogger {
  return { info: (msg) => logger?.debug(msg), error: (msg) => logger?.debug(msg) };
}

/**
 * jaeger-client's HTTPSender to `url`, its requests through `agent`. Its batch limit is lifted
 * so that one export is one request: with the default (100 spans) it would send in chunks
 * within one export and stop at the first failed chunk, so that a retry would resend the chunks
 * that got through.
 */
export function httpSender(url: URL, agent: http.Agent, timeoutMs: number, logger?: Logger): JaegerSender {
  const sender = new senders.HTTPSender({
    endpoint: url.toString(),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    timeoutMs,
    maxSpanBatchSize: Number.MAX_SAFE_INTEGER,
    logger: senderLogger(logger),
  });
  sender._httpAgent.destroy();
  sender._httpAgent = agent;
  sender._httpOptions.agent = agent;
  return sender;
}

/** A UDP sender to a Jaeger agent, and how to tell whether a span fits in one of its packets. */
export interface UdpSender {
  sender: JaegerSender;
  fits: (span: ThriftSpan) => boolean;
}

/**
 * jaeger-client's UDPSender to a Jaeger agent: `emitBatch` in the Thrift *binary* protocol, in
 * packets of at most 65,000 bytes (the agent's port 6832; compact Thrift, port 6831, is what
 * other clients use, not this one). Its socket does not keep the process alive.
 */
export function udpSender(url: URL, logger?: Logger): UdpSender {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const sender = new senders.UDPSender({ host, port: Number(url.port), socketType: isIPv6(host) ? 'udp6' : 'udp4', logger: senderLogger(logger) });
  sender._client.unref();
  return {
    sender,
    fits: (span) => {
      const { err, length } = sender._calcSpanSize(span);
      return err === undefined || err === null ? length <= sender._maxSpanBytes : false;
    },
  };
}

/** One span of a resource's group, with its scope. */
export interface ScopedSpan {
  span: Span;
  scope: InstrumentationScope;
}

/**
 * Stands in JaegerExporter for its sender (JaegerExporter uses a sender already set instead of
 * making its own): it takes each span the exporter's transform made, completes it from the span
 * of our model it came from (refineThriftSpan: typed tags, exact times...), and passes it on to
 * the real sender. `begin()` sets the Jaeger process and the spans of one export, in the order
 * the exporter appends them; spans too large for a UDP packet are left out and counted
 * (`rejected`) instead of failing the export halfway.
 */
export class AlignedSender implements JaegerSender {
  private spans: readonly ScopedSpan[] = [];
  private next = 0;
  /** Spans of the current export that were left out. */
  rejected = 0;
  /** The last error text of the real sender in the current export. */
  lastError: string | undefined;

  constructor(
    private readonly inner: JaegerSender,
    private readonly fits: (span: ThriftSpan) => boolean = () => true,
  ) {}

  begin(process: ThriftProcess, spans: readonly ScopedSpan[]): void {
    this.inner.setProcess(process);
    this.spans = spans;
    this.next = 0;
    this.rejected = 0;
    this.lastError = undefined;
  }

  setProcess(process: ThriftProcess): void {
    this.inner.setProcess(process);
  }

  append(out: ThriftSpan, callback: SenderCallback): void {
    const source = this.spans[this.next++];
    if (source === undefined || out.spanId.toString('hex') !== source.span.spanId) {
      callback(0, `the Thrift span ${out.spanId.toString('hex')} is not the one expected: JaegerExporter's order changed`);
      return;
    }
    refineThriftSpan(out, source.span, source.scope.version);
    if (!this.fits(out)) {
      this.rejected++;
      callback(0);
      return;
    }
    this.inner.append(out, (n, err) => {
      if (err !== undefined) this.lastError = err;
      callback(n, err);
    });
  }

  flush(callback: SenderCallback): void {
    this.inner.flush((n, err) => {
      if (err !== undefined) this.lastError = err;
      callback(n, err);
    });
  }

  close(): void {
    this.inner.close();
  }
}
