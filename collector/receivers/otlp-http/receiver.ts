import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DecodeError } from '../../otlp/decode-error.js';
import { decodeMetricsJson } from '../../otlp/decode-metrics-json.js';
import { decodeMetricsProto } from '../../otlp/decode-metrics-proto.js';
import { decodeTracesJson } from '../../otlp/decode-traces-json.js';
import { decodeTracesProto } from '../../otlp/decode-traces-proto.js';
import { CONTENT_TYPE, exportResponse, statusResponse, type Encoding, type Signal } from '../../otlp/responses.js';
import { countPoints } from '../../model/metrics.js';
import { countSpans } from '../../model/traces.js';
import type { ConsumeResult, Lifecycle, MetricsConsumer, Source, TracesConsumer } from '../../pipeline/consumer.js';
import { ReceiverMetrics } from '../receiver-metrics.js';
import { createHttpApp, listen } from '../../server/http-app.js';
import { removeInvalidPoints, removeInvalidSpans, type Validation } from '../validate.js';
import { BodyError, decompressBody, mediaType } from './body.js';
import type { OtlpHttpConfig } from './config.js';

export const RECEIVER_NAME = 'otlp_http';

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
  private boundAddress = '';

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly deps: OtlpHttpReceiverDeps,
  ) {
    this.metrics = ReceiverMetrics.for(deps.registry);
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
    const app = createHttpApp(this.deps.logger, { component: 'receiver', receiver: RECEIVER_NAME }, {
      bodyLimit: this.config.max_body_size,
      return503OnClosing: true,
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(Object.keys(MEDIA_TYPES), { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const encoding = MEDIA_TYPES[mediaType(request.headers['content-type'])] ?? 'json';
      const signal: Signal = request.url.startsWith('/v1/metrics') ? 'metrics' : 'traces';
      switch (error.code) {
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        case 'FST_ERR_CTP_INVALID_TYPE':
          this.metrics.recordUndecoded(RECEIVER_NAME, signal, 'unsupported');
          return sendStatus(reply, 415, encoding, `unsupported Content-Type "${mediaType(request.headers['content-type']).slice(0, 64)}": send application/x-protobuf or application/json`);
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          this.metrics.recordUndecoded(RECEIVER_NAME, signal, 'too_large');
          return sendStatus(reply, 413, encoding, `body exceeds ${this.config.max_body_size} bytes`);
        default:
          if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
            this.metrics.recordUndecoded(RECEIVER_NAME, signal, 'invalid');
            return sendStatus(reply, 400, encoding, error.message);
          }
          // Never a 500: an unexpected failure is reported as retryable so the client keeps the data.
          request.log.error({ err: error }, 'unexpected error while handling an export request');
          reply.header('retry-after', '1');
          return sendStatus(reply, 503, encoding, 'internal error; retry later');
      }
    });

    app.post('/v1/traces', async (request, reply) => {
      const encoding = MEDIA_TYPES[mediaType(request.headers['content-type'])]!;
      return this.handle('traces', encoding, request.body as Buffer, request.headers, reply);
    });
    app.post('/v1/metrics', async (request, reply) => {
      const encoding = MEDIA_TYPES[mediaType(request.headers['content-type'])]!;
      return this.handle('metrics', encoding, request.body as Buffer, request.headers, reply);
    });
    return app;
  }

  private async handle(
    signal: Signal,
    encoding: Encoding,
    raw: Buffer,
    headers: Record<string, string | string[] | undefined>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    let body: Buffer;
    try {
      body = await decompressBody(raw, header(headers['content-encoding']), this.config.max_body_size);
    } catch (e) {
      if (!(e instanceof BodyError)) throw e;
      this.metrics.recordUndecoded(RECEIVER_NAME, signal, e.status === 413 ? 'too_large' : e.status === 415 ? 'unsupported' : 'invalid');
      return sendStatus(reply, e.status, encoding, e.message);
    }

    const source: Source = { receiver: RECEIVER_NAME, tenant: this.config.tenant_header ? header(headers[this.config.tenant_header]) : undefined };
    let items: number;
    let validation: Validation;
    let result: ConsumeResult;
    try {
      if (signal === 'traces') {
        const data = encoding === 'protobuf' ? decodeTracesProto(body) : decodeTracesJson(body);
        validation = removeInvalidSpans(data);
        items = countSpans(data);
        result = items === 0 ? { kind: 'accepted' } : await this.consume(() => this.deps.traces.consumeTraces({ data, items, source }));
      } else {
        const data = encoding === 'protobuf' ? decodeMetricsProto(body) : decodeMetricsJson(body);
        validation = removeInvalidPoints(data);
        items = countPoints(data);
        result = items === 0 ? { kind: 'accepted' } : await this.consume(() => this.deps.metrics.consumeMetrics({ data, items, source }));
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.metrics.recordUndecoded(RECEIVER_NAME, signal, 'invalid');
      return sendStatus(reply, 400, encoding, `cannot decode ${encoding === 'json' ? 'OTLP/JSON' : 'OTLP/protobuf'} ${signal}: ${e.message}`);
    }

    this.metrics.recordResult(RECEIVER_NAME, signal, items, validation.invalid, result);
    switch (result.kind) {
      case 'accepted':
        return send(reply, 200, encoding, exportResponse(signal, encoding, validation.invalid, validation.message));
      case 'partial': {
        const message = [validation.message, result.message].filter((m) => m !== '').join('; ');
        return send(reply, 200, encoding, exportResponse(signal, encoding, validation.invalid + result.rejected, message));
      }
      case 'refused':
        reply.header('retry-after', String(retryAfter(result.retryAfterSeconds)));
        return sendStatus(reply, result.status, encoding, result.message);
    }
  }

  /**
   * Hands a batch to the next consumer. A consumer that throws or rejects (with anything, even
   * `undefined`) or answers something that is not a ConsumeResult has not taken the batch: that
   * is a retryable refusal, answered 503 and counted like one. Its error never reaches the error
   * handler, where a `statusCode` or `code` property it happened to carry would be mistaken for a
   * request problem (a 4xx tells the client to drop the data) or crash the handler (a 500).
   */
  private async consume(next: () => ConsumeResult | Promise<ConsumeResult>): Promise<ConsumeResult> {
    try {
      const result = await next();
      if (result?.kind === 'accepted' || result?.kind === 'partial' || result?.kind === 'refused') return result;
      this.deps.logger.error({ result }, 'a consumer answered something that is not a ConsumeResult');
    } catch (err) {
      this.deps.logger.error({ err }, 'a consumer failed while handling an export request');
    }
    return CONSUMER_FAILED;
  }
}

const CONSUMER_FAILED: ConsumeResult = Object.freeze({
  kind: 'refused',
  status: 503,
  reason: 'internal_error',
  retryAfterSeconds: 1,
  message: 'internal error; retry later',
});

/** Whole seconds, at least 1, for the Retry-After header, whatever number the consumer gave. */
function retryAfter(seconds: number): number {
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 1;
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
