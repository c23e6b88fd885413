import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KafkaConfig } from '../../collector/kafka/config.js';
import type { KafkaClient, KafkaProducer, OutgoingMessage } from '../../collector/kafka/kafka-client.js';
import { KafkaMetrics } from '../../collector/kafka/kafka-metrics.js';
import { attributesKey } from '../../collector/model/common.js';
import { countPoints, type MetricsData } from '../../collector/model/metrics.js';
import type { ResourceSpans, ScopeSpans, TracesData } from '../../collector/model/traces.js';
import { encodeMetricsProto } from '../../collector/otlp/encode-metrics-proto.js';
import { encodeTracesProto } from '../../collector/otlp/encode-traces-proto.js';
import { ACCEPTED, type ConsumeResult, type Lifecycle, type MetricBatch, type MetricsConsumer, type TraceBatch, type TracesConsumer } from '../../collector/pipeline/consumer.js';

/**
 * The gateway's Kafka exporter. Each span goes into a message keyed by its trace id (one message
 * per trace per request), so that all of a trace's spans land in one partition and meet in one
 * aggregator; each resource's metrics into a message keyed by the resource. Messages are OTLP
 * protobuf requests (the OpenTelemetry Collector's `otlp_proto`).
 *
 * Nothing is acknowledged that was not written: a request is answered only after Kafka
 * acknowledged every message (acks = -1). When Kafka is down or slow, or too much is being
 * written already, the request is refused with 503 and Retry-After, so clients hold their data
 * and resend it; nothing is buffered without bound.
 */
export class KafkaExporter implements TracesConsumer, MetricsConsumer, Lifecycle {
  private readonly producer: KafkaProducer;
  private readonly metrics: KafkaMetrics;
  private connected = false;
  private inFlight = 0;
  private connecting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly config: KafkaConfig,
    client: KafkaClient,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.producer = client.producer();
    this.metrics = KafkaMetrics.for(registry);
    for (const topic of [config.topics.spans, config.topics.metrics]) {
      this.metrics.producedMessages.inc({ topic }, 0);
      this.metrics.producedItems.inc({ topic }, 0);
      for (const reason of ['unavailable', 'backpressure']) this.metrics.produceFailedItems.inc({ topic, reason }, 0);
    }
  }

  /** Connects in the background; until connected, requests are refused (retryable). */
  start(): Promise<void> {
    this.connect();
    return Promise.resolve();
  }

  get ready(): boolean {
    return this.connected;
  }

  consumeTraces(batch: TraceBatch): Promise<ConsumeResult> {
    return this.write(this.config.topics.spans, batch.items, () => byTrace(batch.data).map(([traceId, data]) => ({ key: traceId, value: encodeTracesProto(data) })));
  }

  consumeMetrics(batch: MetricBatch): Promise<ConsumeResult> {
    return this.write(this.config.topics.metrics, batch.items, () => byResource(batch.data));
  }

  private async write(topic: string, items: number, messages: () => OutgoingMessage[]): Promise<ConsumeResult> {
    const m = this.metrics;
    if (!this.connected) {
      this.connect();
      m.produceFailedItems.inc({ topic, reason: 'unavailable' }, items);
      return refused('kafka_unavailable', 'Kafka is not reachable from this gateway; retry later', 5);
    }
    const out = messages();
    const bytes = out.reduce((n, msg) => n + msg.value.length, 0);
    if (this.inFlight > 0 && this.inFlight + bytes > this.config.producer.max_in_flight_bytes) {
      m.produceFailedItems.inc({ topic, reason: 'backpressure' }, items);
      return refused('kafka_backpressure', 'Kafka is not keeping up with this gateway; retry later', 1);
    }
    this.inFlight += bytes;
    m.inFlightBytes.set(this.inFlight);
    // The bytes stay in flight until the write settles, even when the request was answered before.
    const sending = this.producer.send(topic, out, this.config.producer.timeout).finally(() => {
      this.inFlight -= bytes;
      m.inFlightBytes.set(this.inFlight);
    });
    try {
      await withDeadline(sending, this.config.producer.timeout);
      m.producedMessages.inc({ topic }, out.length);
      m.producedItems.inc({ topic }, items);
      return ACCEPTED;
    } catch (e) {
      m.produceFailedItems.inc({ topic, reason: 'unavailable' }, items);
      this.logger.warn({ topic, err: e }, 'a write to Kafka failed; the request is refused so that its client resends it');
      return refused('kafka_unavailable', `Kafka did not acknowledge the write: ${(e as Error).message}; retry later`, 2);
    }
  }

  private connect(): void {
    if (this.connecting !== undefined || this.connected || this.stopped) return;
    this.connecting = this.producer
      .connect()
      .then(() => {
        this.connected = true;
        this.metrics.producerConnected.set(1);
        this.logger.info({ brokers: this.config.brokers }, 'connected to Kafka');
      })
      .catch((e: unknown) => this.logger.warn({ err: e }, 'cannot connect to Kafka yet; refusing data until it can'))
      .finally(() => {
        this.connecting = undefined;
      });
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.connecting;
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
    this.connected = false;
    this.metrics.producerConnected.set(0);
  }
}

/**
 * `promise`, or a rejection once `ms` passed: a broker that stopped answering holds a request
 * until the client's own timeouts and retries give up, far longer than a client should wait.
 */
function withDeadline(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  // A write that fails after its deadline has been answered for already.
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function refused(reason: string, message: string, retryAfterSeconds: number): ConsumeResult {
  return { kind: 'refused', status: 503, reason, retryAfterSeconds, message };
}

/** The request split per trace: each trace's spans, under their own resources and scopes. */
function byTrace(data: TracesData): [traceId: string, data: TracesData][] {
  type Scopes = Map<ScopeSpans, ScopeSpans>;
  const traces = new Map<string, Map<ResourceSpans, Scopes>>();
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        let resources = traces.get(span.traceId);
        if (resources === undefined) traces.set(span.traceId, (resources = new Map<ResourceSpans, Scopes>()));
        let scopes = resources.get(rs);
        if (scopes === undefined) resources.set(rs, (scopes = new Map<ScopeSpans, ScopeSpans>()));
        let scope = scopes.get(ss);
        if (scope === undefined) scopes.set(ss, (scope = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl }));
        scope.spans.push(span);
      }
    }
  }
  return [...traces].map(([traceId, resources]) => [
    traceId,
    { resourceSpans: [...resources].map(([rs, scopes]) => ({ resource: rs.resource, scopeSpans: [...scopes.values()], schemaUrl: rs.schemaUrl })) },
  ]);
}

/** One message per resource, keyed by a digest of its attributes. */
function byResource(data: MetricsData): OutgoingMessage[] {
  return data.resourceMetrics
    .filter((rm) => countPoints({ resourceMetrics: [rm] }) > 0)
    .map((rm) => {
      return { key: createHash('sha1').update(attributesKey(rm.resource.attributes)).digest('hex'), value: encodeMetricsProto({ resourceMetrics: [rm] }) };
    });
}
