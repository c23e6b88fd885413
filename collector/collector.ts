import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { TraceExporterConfig } from '../exporters/jaeger/config.js';
import { OtlpHttpTransport } from '../exporters/jaeger/otlp-transport.js';
import { ThriftTransport } from '../exporters/jaeger/thrift-transport.js';
import { TraceExporter } from '../exporters/jaeger/trace-exporter.js';
import type { SpanTransport } from '../exporters/jaeger/transport.js';
import { KafkaExporter } from '../exporters/kafka/kafka-exporter.js';
import { CONTENT_TYPES, negotiate, PrometheusExporter } from '../exporters/prometheus/exporter.js';
import { Admission } from './admission/admission.js';
import { Aggregator, systemClock, type Clock } from './aggregation/aggregator.js';
import { AdminServer } from './api/admin-server.js';
import type { Config } from './config/schema.js';
import { kafkaClient } from './kafka/kafka-client.js';
import type { MetricsConsumer, TracesConsumer } from './pipeline/consumer.js';
import { TracesFanout } from './pipeline/fanout.js';
import { KafkaReceiver } from './receivers/kafka/kafka-receiver.js';
import { OtlpHttpReceiver } from './receivers/otlp-http/receiver.js';
import { VERSION } from './version.js';

/**
 * Half-edges expired per turn of the event loop: about 2 µs each, so ~0.2 ms at a time. Under
 * overload most halves expire (their other half was refused), and a request that comes in
 * meanwhile waits for the slice: at 500 a slice, refusals' p99 was ~0.6 ms higher.
 */
const EXPIRE_SLICE = 100;

export interface CollectorOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * One meshtel collector, wired from a validated Config according to its `mode`:
 * - `all`: OTLP/HTTP receiver, admission, aggregation, trace exporters (and, when Kafka brokers
 *   are configured, also what is in Kafka);
 * - `gateway`: OTLP/HTTP receiver, admission, the Kafka exporter (no aggregation);
 * - `aggregator`: the Kafka receiver (a consumer group member), admission, aggregation, trace
 *   exporters.
 * Every mode has the admin server (/metrics, health, the query API).
 *
 * Lifecycle: `start()` binds the servers (ports may be 0; read `otlpAddress` and `adminAddress`
 * after). `shutdown()` stops taking data, answers in-flight requests, flushes the service-graph
 * store into the metrics and the exporters' queues within the shutdown timeout, and closes the
 * admin server last; it is idempotent and safe before `start()`.
 */
export class Collector {
  readonly registry = new Registry();
  readonly aggregator: Aggregator;
  readonly admission: Admission;
  readonly traceExporters: TraceExporter[];
  readonly kafkaExporter: KafkaExporter | undefined;
  readonly receiver: OtlpHttpReceiver | undefined;
  readonly kafkaReceiver: KafkaReceiver | undefined;
  readonly admin: AdminServer;
  readonly logger: Logger;
  private readonly exporter: PrometheusExporter;
  private ticker: NodeJS.Timeout | undefined;
  /** The rest of a tick that had more half-edges to expire than one slice. */
  private ticking: NodeJS.Immediate | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    options: CollectorOptions = {},
  ) {
    const clock = options.clock ?? systemClock;
    const mode = config.mode;
    this.logger = options.logger ?? pino({ level: config.log.level, base: { service: 'meshtel' } });
    this.aggregator = new Aggregator(config.aggregation, clock);
    this.exporter = new PrometheusExporter(this.registry, this.aggregator.families(), VERSION);
    this.admission = new Admission(config.admission, clock);
    this.traceExporters =
      mode === 'gateway'
        ? []
        : config.exporters.traces.map(
            (c) => {
              const logger = this.logger.child({ component: 'exporter', exporter: c.name });
              return new TraceExporter(c, traceTransport(c, logger), this.registry, clock, logger);
            },
          );
    const kafka = config.kafka.brokers.length > 0 ? kafkaClient(config.kafka, this.logger) : undefined;
    // The schema requires brokers outside `all` mode.
    this.kafkaExporter = mode === 'gateway' && kafka !== undefined ? new KafkaExporter(config.kafka, kafka, this.registry, this.logger.child({ component: 'kafka-exporter' })) : undefined;
    const traces: TracesConsumer = this.kafkaExporter ?? new TracesFanout([this.aggregator, ...this.traceExporters]);
    const metrics: MetricsConsumer = this.kafkaExporter ?? this.aggregator;
    const deps = { traces, metrics, registry: this.registry, admission: this.admission };
    this.receiver = mode === 'aggregator' ? undefined : new OtlpHttpReceiver(config.receivers.otlp, { ...deps, logger: this.logger });
    this.kafkaReceiver = mode !== 'gateway' && kafka !== undefined ? new KafkaReceiver(config.kafka, kafka, { ...deps, logger: this.logger.child({ component: 'kafka-receiver' }) }) : undefined;
    this.admin = new AdminServer(config.admin, {
      renderMetrics: async (accept) => {
        const format = negotiate(accept);
        return { contentType: CONTENT_TYPES[format], body: await this.exporter.render(format) };
      },
      traffic: this.aggregator.traffic,
      minWindowMs: config.aggregation.windows.slot,
      gaugeStaleMs: config.aggregation.golden.gauge_stale_after,
      ready: () => this.state === 'running' && (this.kafkaExporter?.ready ?? true) && (this.kafkaReceiver?.ready ?? true),
      now: () => clock.now(),
      logger: this.logger,
    });
  }

  /** `host:port` of the OTLP/HTTP receiver ('' in aggregator mode, which has none). */
  get otlpAddress(): string {
    return this.receiver?.address ?? '';
  }

  get adminAddress(): string {
    return this.admin.address;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`cannot start a collector that is ${this.state}`);
    this.state = 'running';
    try {
      await this.admin.start();
      await this.kafkaExporter?.start();
      await this.kafkaReceiver?.start();
      await this.receiver?.start();
    } catch (e) {
      await this.shutdown();
      throw e;
    }
    this.ticker = setInterval(() => {
      if (this.ticking === undefined) this.tick();
    }, 1000);
    this.ticker.unref();
    for (const e of this.traceExporters) e.start();
    this.logger.info({ version: VERSION, mode: this.config.mode, otlp: this.otlpAddress || undefined, admin: this.adminAddress }, 'meshtel collector started');
  }

  /**
   * The aggregator's time-driven work, a slice per turn of the event loop: a full service-graph
   * store (20,000 half-edges by default, all inserted within the same second or so) expiring in
   * one go holds the thread for 15 to 40 ms, and every request arriving meanwhile waits.
   */
  private tick(): void {
    this.ticking = undefined;
    if (this.aggregator.tick(EXPIRE_SLICE)) this.ticking = setImmediate(() => this.tick());
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  /** Waits, when configured, for Prometheus to scrape what was aggregated last. */
  private async finalScrape(deadline: number): Promise<void> {
    const wait = Math.min(this.config.admin.final_scrape_wait, deadline - Date.now() - 1000);
    if (wait <= 0 || this.adminAddress === '') return;
    this.logger.info({ waitMs: wait }, 'waiting for a final scrape of /metrics');
    if (!(await this.admin.nextScrape(wait))) this.logger.warn({ waitMs: wait }, 'no scrape of /metrics came in time: what was counted since the previous one is lost');
  }

  private async stop(): Promise<void> {
    const started = this.state === 'running';
    this.state = 'stopping';
    const deadline = Date.now() + this.config.shutdown_timeout;
    clearInterval(this.ticker);
    clearImmediate(this.ticking);
    await this.receiver?.shutdown();
    await this.kafkaReceiver?.shutdown();
    this.aggregator.flush();
    // Exporters get what is left of the shutdown timeout (a second kept for the rest).
    await Promise.all([
      ...this.traceExporters.map((e) => e.shutdown(Math.max(0, deadline - Date.now() - 1000))),
      this.finalScrape(deadline),
    ]);
    await this.kafkaExporter?.shutdown();
    await this.admin.shutdown();
    this.exporter.shutdown();
    this.state = 'stopped';
    if (started && this.adminAddress !== '') this.logger.info('meshtel collector stopped');
  }
}

/** The transport an exporter's endpoint calls for. */
function traceTransport(c: TraceExporterConfig, logger?: Logger): SpanTransport {
  return c.endpoint.protocol === 'otlp' ? new OtlpHttpTransport(c) : new ThriftTransport(c, logger);
}
