/**
 * Floods for the burst and memory tests: sources of spans made by the official OpenTelemetry JS
 * SDK and exporter (each its own TracerProvider and service.name), a tap on the wire that counts
 * what the clients send and what they are answered (independently of the collector's own
 * counters), and readers of the collector's /metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, trace as traceApi, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { stringAttribute } from '../../collector/model/common.js';
import { encodeOfficial } from './decode-helpers.js';
import { officialOtlp, officialTraces, pbBigInt } from './otel-fixtures.js';

// ---------------------------------------------------------------------------------------------
// The wire tap

/** What one source sent through the tap, and how it was answered. */
export interface Tally {
  requests: number;
  /** Spans in every request body, resends included. */
  spans: number;
  /** Spans by the HTTP status of the answer to their request. */
  byStatus: Record<number, number>;
  /** Spans named as rejected by partial successes (attributed to a request's only source). */
  rejected: number;
  /** Retry-After of every 429 and 503 answer, in seconds (NaN when absent or not a number). */
  retryAfter: number[];
}

const emptyTally = (): Tally => ({ requests: 0, spans: 0, byStatus: {}, rejected: 0, retryAfter: [] });

/**
 * A pass-through HTTP proxy between OTLP clients and the collector: it decodes every request
 * with the official OTLP decoder (the OTel JS project's protobufjs code), counts its spans per
 * `service.name`, forwards it unchanged, and counts the answer (status, Retry-After, partial
 * success) before handing it back unchanged. Requests with several sources and a partial
 * success are tallied under `*` for their rejections.
 */
export class WireTap {
  readonly bySource = new Map<string, Tally>();
  /** Rejections in answers to requests that carried several sources. */
  rejectedMixed = 0;
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(
    private readonly server: http.Server,
    private readonly target: string,
  ) {}

  static async start(target: string): Promise<WireTap> {
    const server = http.createServer();
    const tap = new WireTap(server, target);
    server.on('request', (req, res) => tap.forward(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return tap;
  }

  /** `http://host:port` of the tap (append /v1/traces). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  tally(source: string): Tally {
    let t = this.bySource.get(source);
    if (t === undefined) this.bySource.set(source, (t = emptyTally()));
    return t;
  }

  /** Every source's tally summed. */
  total(): Tally {
    const sum = emptyTally();
    for (const t of this.bySource.values()) {
      sum.requests += t.requests;
      sum.spans += t.spans;
      sum.rejected += t.rejected;
      sum.retryAfter.push(...t.retryAfter);
      for (const [status, n] of Object.entries(t.byStatus)) sum.byStatus[Number(status)] = (sum.byStatus[Number(status)] ?? 0) + n;
    }
    sum.rejected += this.rejectedMixed;
    return sum;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const perSource = new Map<string, number>();
      if (req.url === '/v1/traces') {
        for (const rs of officialTraces(body).resourceSpans) {
          const name = stringAttribute(rs.resource.attributes, 'service.name') ?? '';
          perSource.set(name, (perSource.get(name) ?? 0) + rs.scopeSpans.reduce((n, ss) => n + ss.spans.length, 0));
        }
      }
      // Forwarded as sent: with its Content-Length, or chunked without one (as the OTel JS
      // exporters send), since the collector treats the two differently.
      const headers: http.OutgoingHttpHeaders = { 'content-type': req.headers['content-type'] };
      if (req.headers['content-length'] !== undefined) headers['content-length'] = body.length;
      else headers['transfer-encoding'] = 'chunked';
      const upstream = http.request(`${this.target}${req.url}`, { method: req.method, headers, agent: this.agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const status = answer.statusCode ?? 0;
          const reply = Buffer.concat(parts);
          this.count(perSource, status, answer.headers['retry-after'], status === 200 ? rejectedIn(reply) : 0);
          const back: http.OutgoingHttpHeaders = { 'content-type': answer.headers['content-type'], 'content-length': reply.length };
          if (answer.headers['retry-after'] !== undefined) back['retry-after'] = answer.headers['retry-after'];
          res.writeHead(status, back).end(reply);
        });
      });
      // The collector unreachable: the client sees its connection reset, as it would without us.
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  }

  private count(perSource: Map<string, number>, status: number, retryAfter: string | undefined, rejected: number): void {
    for (const [source, spans] of perSource) {
      const t = this.tally(source);
      t.requests++;
      t.spans += spans;
      t.byStatus[status] = (t.byStatus[status] ?? 0) + spans;
      if (status === 429 || status === 503) t.retryAfter.push(retryAfter === undefined || !/^\d+$/.test(retryAfter) ? NaN : Number(retryAfter));
    }
    if (rejected > 0) {
      if (perSource.size === 1) this.tally([...perSource.keys()][0]!).rejected += rejected;
      else this.rejectedMixed += rejected;
    }
  }
}

/** `partial_success.rejected_spans` of an ExportTraceServiceResponse, by the official decoder. */
export function rejectedIn(body: Uint8Array): number {
  if (body.length === 0) return 0;
  return Number(pbBigInt(officialOtlp().ExportTraceServiceResponse.decode(body).partialSuccess?.rejectedSpans, false));
}

// ---------------------------------------------------------------------------------------------
// SDK sources

/** Records the id of every span the SDK ended: the ground truth of what a source created. */
class EndedSpans implements SpanProcessor {
  constructor(private readonly ids: Set<string>) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.ids.add(span.spanContext().spanId);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface SourceOptions {
  /** OTLP/HTTP base URL (`/v1/traces` is appended). */
  endpoint: string;
  /** BatchSpanProcessor settings. */
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  /** The exporter's timeoutMillis: the time one export (with all its retries) may take. */
  timeoutMillis: number;
}

/**
 * One instrumented service: its own TracerProvider (resource `service.name`), a
 * BatchSpanProcessor with the official OTLP/protobuf exporter, and a record of every span ended.
 */
export class SdkSource {
  readonly ended = new Set<string>();
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;

  constructor(
    readonly name: string,
    options: SourceOptions,
  ) {
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces`, timeoutMillis: options.timeoutMillis });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': name }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          maxQueueSize: options.maxQueueSize,
          maxExportBatchSize: options.maxExportBatchSize,
          scheduledDelayMillis: options.scheduledDelayMillis,
          // The processor's own wait for one export: longer than the exporter's, so that it
          // never starts a second export beside one still retrying.
          exportTimeoutMillis: options.timeoutMillis + 5_000,
        }),
        new EndedSpans(this.ended),
      ],
    });
    this.tracer = this.provider.getTracer('meshtel-flood');
  }

  /** One trace of two spans: a SERVER span and a CLIENT span under it. */
  private traceOnce(): void {
    const root = this.tracer.startSpan('GET /items', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 200 } });
    this.tracer.startSpan('SELECT items', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql' } }, traceApi.setSpan(ROOT_CONTEXT, root)).end();
    root.end();
  }

  /**
   * Creates spans at `rate` per second (whole traces of two) for `durationMs`, and on until
   * `until` resolves when one is given (load that must outlast a step of the test), on a 10 ms
   * tick that catches up with the wall clock: this is load generation, not synchronisation.
   */
  async send(rate: number, durationMs: number, until?: Promise<unknown>): Promise<void> {
    let released = until === undefined;
    void until?.then(() => (released = true));
    const started = performance.now();
    let created = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        // Without `until`, exactly rate x duration spans; with it, the load goes on at the rate.
        const elapsed = until === undefined ? Math.min(performance.now() - started, durationMs) : performance.now() - started;
        const due = Math.floor((rate * elapsed) / 1000);
        while (created + 2 <= due) {
          this.traceOnce();
          created += 2;
        }
        if (released && elapsed >= durationMs) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, 10);
    });
  }

  /** Shuts the provider down (what is still queued is exported first). */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------
// The collector's /metrics

/** Samples of a Prometheus text exposition: `name{labels}` -> value. */
export type Samples = Map<string, number>;

/** Every sample of a text exposition, by series (`name{labels}`). */
export function parseExposition(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** A collector's /metrics, parsed. */
export async function scrape(admin: string): Promise<Samples> {
  return parseExposition(await (await fetch(`http://${admin}/metrics`)).text());
}

/**
 * Watches a collector while it is under load: every `periodMs` a scrape of /metrics (kept in
 * `samples`) and the status of /healthz and /readyz (in `health`, 0 when there was no answer).
 */
export class Watcher {
  readonly samples: Samples[] = [];
  readonly health: number[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(admin: string, periodMs: number) {
    this.loop = (async () => {
      while (this.running) {
        try {
          this.samples.push(await scrape(admin));
          for (const path of ['/healthz', '/readyz']) this.health.push((await fetch(`http://${admin}${path}`)).status);
        } catch {
          this.health.push(0);
        }
        await new Promise((r) => setTimeout(r, periodMs)); // the sampling period, not a synchronisation
      }
    })();
  }

  /** The highest value `name` had in any sample. */
  peak(name: string, labels: Record<string, string> = {}): number {
    return Math.max(...this.samples.map((s) => sum(s, name, labels)));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** The sum of every series of `name` whose labels include `labels` (all of them when none). */
export function sum(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const [series, value] of samples) {
    const brace = series.indexOf('{');
    if ((brace === -1 ? series : series.slice(0, brace)) !== name) continue;
    if (wanted.every((w) => series.includes(w))) total += value;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Hand-made requests

/**
 * An ExportTraceServiceRequest encoded by the official generated code: one resource per entry,
 * `spans` root spans each (`attributes` string attributes on each, the first `invalid` of them
 * with an all-zero trace id); returns the body and the span ids (hex) per source.
 */
export function tracesRequest(resources: { service: string; spans: number; attributes?: number; invalid?: number }[]): { body: Uint8Array; spanIds: Map<string, string[]> } {
  const spanIds = new Map<string, string[]>();
  const now = BigInt(Date.now()) * 1_000_000n;
  const resourceSpans = resources.map(({ service, spans, attributes = 0, invalid = 0 }) => {
    const ids: string[] = [];
    spanIds.set(service, ids);
    return {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: 'meshtel-flood' },
          spans: Array.from({ length: spans }, (_, i) => {
            const spanId = randomBytes(8);
            ids.push(spanId.toString('hex'));
            return {
              // The first `invalid` spans have an all-zero trace id, which OTLP does not allow.
              traceId: i < invalid ? Buffer.alloc(16) : randomBytes(16),
              spanId,
              name: 'GET /items',
              kind: 2,
              startTimeUnixNano: String(now),
              endTimeUnixNano: String(now + 3_000_000n),
              attributes: Array.from({ length: attributes }, (_, i) => ({ key: `app.attribute_${i}`, value: { stringValue: `value ${i} ${spanId.toString('hex')}` } })),
            };
          }),
        },
      ],
    };
  });
  return { body: encodeOfficial(officialOtlp().ExportTraceServiceRequest, { resourceSpans }), spanIds };
}
