import type { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Admission } from '../../admission/admission.js';
import { CONTENT_TYPE, exportResponse, statusResponse, type Encoding, type Signal } from '../../otlp/responses.js';
import type { Lifecycle, MetricsConsumer, TracesConsumer } from '../../pipeline/consumer.js';
import { createHttpApp, listen } from '../../server/http-app.js';
import { Intake } from '../intake.js';
import { ReceiverMetrics } from '../receiver-metrics.js';
import { BodyError, decompressBody, mediaType } from './body.js';
import { BodyPool } from './body-pool.js';
import type { OtlpHttpConfig } from './config.js';

export const RECEIVER_NAME = 'otlp_http';

/** Request-body buffers kept for reuse between requests (see BodyPool). */
const POOLED_BODY_BYTES = 16 * 1024 * 1024;

const MEDIA_TYPES: Record<string, Encoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

export interface OtlpHttpReceiverDeps {
  traces: TracesConsumer;
  metrics: MetricsConsumer;
  registry: Registry;
  logger: Logger;
  /** Rate and memory limits; none means everything decodable is taken. */
  admission?: Admission | undefined;
}

/**
 * The OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): `POST /v1/traces`
 * and `POST /v1/metrics`, protobuf or JSON, optionally gzip. It answers only 200 (possibly with
 * partial success), 400 (undecodable), 413 (too large after decompression), 415 (unsupported
 * content type or encoding), and 429/503 with Retry-After (refused for load, retry later).
 */
export class OtlpHttpReceiver implements Lifecycle {
  /** The fastify app, built eagerly so tests can `inject()` without listening. */
  readonly app: FastifyInstance;
  private readonly metrics: ReceiverMetrics;
  private readonly intake: Intake;
  private readonly bodies = new BodyPool(POOLED_BODY_BYTES);
  private boundAddress = '';

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly deps: OtlpHttpReceiverDeps,
  ) {
    this.metrics = ReceiverMetrics.for(deps.registry);
    this.intake = new Intake(RECEIVER_NAME, { traces: deps.traces, metrics: deps.metrics, admission: deps.admission, metricsOf: this.metrics });
    this.app = this.build();
  }

  /** `host:port` actually bound (the port differs from the configured one when that was 0). */
  get address(): string {
    return this.boundAddress;
  }

  async start(): Promise<void> {
    this.boundAddress = await listen(this.app, this.config.endpoint, 'OTLP/HTTP receiver (POST /v1/traces, /v1/metrics)');
  }

  /** Stops accepting connections and waits for in-flight requests to be answered. */
  async shutdown(): Promise<void> {
    await this.app.close();
  }

  private build(): FastifyInstance {
    const app = createHttpApp(this.deps.logger, { component: 'receiver', receiver: RECEIVER_NAME }, { return503OnClosing: true });
    app.removeAllContentTypeParsers();
    // Bodies are read into pooled buffers, given back once answered (see `handle`).
    app.addContentTypeParser(Object.keys(MEDIA_TYPES), async (request: FastifyRequest, payload: Readable) => {
      const length = request.headers['content-length'];
      return this.bodies.readBody(payload, length === undefined ? undefined : Number(length), this.config.max_body_size);
    });

    // A body the heap could not hold is refused before it is read (its items are never known).
    // Only when its size is declared: a chunked body (the OTel JS exporters send them) reckoned
    // at the largest allowed size would be refused whenever the heap has less than 8 x
    // max_body_size to spare, healthy or not. The body limit bounds what is read, and admission
    // checks the decoded size against the hard limit once the size is known, before decoding.
    const admission = this.deps.admission;
    if (admission !== undefined) {
      app.addHook('onRequest', async (request, reply) => {
        if (request.method !== 'POST' || request.headers['content-length'] === undefined) return;
        const length = Number(request.headers['content-length']);
        const refusal = admission.beforeBody(Number.isFinite(length) ? length : this.config.max_body_size);
        if (refusal?.kind !== 'refuse') return;
        this.metrics.request(RECEIVER_NAME, signalOf(request), 'refused');
        reply.header('retry-after', String(refusal.retryAfterSeconds));
        return sendStatus(reply, refusal.status, encodingOf(request), refusal.message);
      });
    }

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const encoding = encodingOf(request);
      const signal = signalOf(request);
      if (error instanceof BodyError) {
        this.metrics.request(RECEIVER_NAME, signal, outcomeOf(error));
        return sendStatus(reply, error.status, encoding, error.message);
      }
      switch (error.code) {
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        case 'FST_ERR_CTP_INVALID_TYPE':
          this.metrics.request(RECEIVER_NAME, signal, 'unsupported');
          return sendStatus(reply, 415, encoding, `unsupported Content-Type "${mediaType(request.headers['content-type']).slice(0, 64)}": send application/x-protobuf or application/json`);
        default:
          if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
            this.metrics.request(RECEIVER_NAME, signal, 'invalid');
            return sendStatus(reply, 400, encoding, error.message);
          }
          // Never a 500: an unexpected failure is reported as retryable so the client keeps the data.
          request.log.error({ err: error }, 'unexpected error while handling an export request');
          reply.header('retry-after', '1');
          return sendStatus(reply, 503, encoding, 'internal error; retry later');
      }
    });

    app.post('/v1/traces', (request, reply) => this.handle('traces', request, reply));
    app.post('/v1/metrics', (request, reply) => this.handle('metrics', request, reply));
    return app;
  }

  private async handle(signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const encoding = encodingOf(request);
    const raw = request.body as Buffer;
    try {
      let body: Buffer;
      try {
        body = await decompressBody(raw, header(request.headers['content-encoding']), this.config.max_body_size);
      } catch (e) {
        if (!(e instanceof BodyError)) throw e;
        this.metrics.request(RECEIVER_NAME, signal, outcomeOf(e));
        return sendStatus(reply, e.status, encoding, e.message);
      }
      const tenant = this.config.tenant_header ? header(request.headers[this.config.tenant_header]) : undefined;
      const outcome = await this.intake.accept(signal, encoding, body, raw.length, tenant);
      switch (outcome.kind) {
        case 'invalid':
          return sendStatus(reply, 400, encoding, outcome.message);
        case 'refused':
          reply.header('retry-after', String(outcome.retryAfterSeconds));
          return sendStatus(reply, outcome.status, encoding, outcome.message);
        case 'taken':
          return send(reply, 200, encoding, exportResponse(signal, encoding, outcome.rejected, outcome.message));
      }
    } finally {
      // Decoding copies what it keeps (strings, bytes), so nothing refers to the body any more.
      this.bodies.give(raw);
    }
  }
}

function outcomeOf(e: BodyError): 'too_large' | 'unsupported' | 'invalid' {
  return e.status === 413 ? 'too_large' : e.status === 415 ? 'unsupported' : 'invalid';
}

function encodingOf(request: FastifyRequest): Encoding {
  return MEDIA_TYPES[mediaType(request.headers['content-type'])] ?? 'json';
}

function signalOf(request: FastifyRequest): Signal {
  return request.url.startsWith('/v1/metrics') ? 'metrics' : 'traces';
}

function send(reply: FastifyReply, status: number, encoding: Encoding, body: Buffer): FastifyReply {
  return reply.code(status).type(CONTENT_TYPE[encoding]).send(body);
}

function sendStatus(reply: FastifyReply, status: number, encoding: Encoding, message: string): FastifyReply {
  return send(reply, status, encoding, statusResponse(status, encoding, message));
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
