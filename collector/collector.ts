import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { TraceExporterConfig } from '../exporters/jaeger/config.js';
import { OtlpHttpTransport } from '../exporters/jaeger/otlp-transport.js';
import { ThriftTransport } from '../exporters/jaeger/thrift-transport.js';
import { TraceExporter } from '../exporters/jaeger/trace-exporter.js';
import type { SpanTransport } from '../exporters/jaeger/transport.js';
import { EXPOSITION_CONTENT_TYPE, PrometheusExporter } from '../exporters/prometheus/exporter.js';
import { Admission } from './admission/admission.js';
import { Aggregator, systemClock, type Clock } from './aggregation/aggregator.js';
import { AdminServer } from './api/admin-server.js';
import type { Config } from './config/schema.js';
import { TracesFanout } from './pipeline/fanout.js';
import { OtlpHttpReceiver } from './receivers/otlp-http/receiver.js';
import { VERSION } from './version.js';

export interface CollectorOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * One meshtel collector: the OTLP/HTTP receiver, the aggregation, the Prometheus exporter and
 * the admin server, wired together from a validated Config.
 *
 * Lifecycle: `start()` binds the servers (ports may be 0; read `otlpAddress` and `adminAddress`
 * after). `shutdown()` stops accepting, answers in-flight requests, flushes the service-graph
 * store into the metrics and closes the admin server last; it is idempotent and safe before
 * `start()`.
 */
export class Collector {
  readonly registry = new Registry();
  readonly aggregator: Aggregator;
  readonly admission: Admission;
  readonly traceExporters: TraceExporter[];
  readonly receiver: OtlpHttpReceiver;
  readonly admin: AdminServer;
  readonly logger: Logger;
  private readonly exporter: PrometheusExporter;
  private ticker: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    options: CollectorOptions = {},
  ) {
    const clock = options.clock ?? systemClock;
    this.logger = options.logger ?? pino({ level: config.log.level, base: { service: 'meshtel' } });
    this.aggregator = new Aggregator(config.aggregation, clock);
    this.exporter = new PrometheusExporter(this.registry, this.aggregator.families(), VERSION);
    this.admission = new Admission(config.admission, clock);
    this.traceExporters = config.exporters.traces.map((c) => {
      const logger = this.logger.child({ component: 'exporter', exporter: c.name });
      return new TraceExporter(c, traceTransport(c, logger), this.registry, clock, logger);
    });
    this.receiver = new OtlpHttpReceiver(config.receivers.otlp, {
      traces: new TracesFanout([this.aggregator, ...this.traceExporters]),
      metrics: this.aggregator,
      registry: this.registry,
      logger: this.logger,
      admission: this.admission,
    });
    this.admin = new AdminServer(config.admin, {
      renderMetrics: () => this.exporter.render(),
      metricsContentType: EXPOSITION_CONTENT_TYPE,
      traffic: this.aggregator.traffic,
      minWindowMs: config.aggregation.windows.slot,
      gaugeStaleMs: config.aggregation.golden.gauge_stale_after,
      ready: () => this.state === 'running',
      now: () => clock.now(),
      logger: this.logger,
    });
  }

  get otlpAddress(): string {
    return this.receiver.address;
  }

  get adminAddress(): string {
    return this.admin.address;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`cannot start a collector that is ${this.state}`);
    this.state = 'running';
    try {
      await this.admin.start();
      await this.receiver.start();
    } catch (e) {
      await this.shutdown();
      throw e;
    }
    this.ticker = setInterval(() => this.aggregator.tick(), 1000);
    this.ticker.unref();
    for (const e of this.traceExporters) e.start();
    this.logger.info({ version: VERSION, otlp: this.otlpAddress, admin: this.adminAddress }, 'meshtel collector started');
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    this.state = 'stopping';
    const deadline = Date.now() + this.config.shutdown_timeout;
    clearInterval(this.ticker);
    await this.receiver.shutdown();
    this.aggregator.flush();
    // Exporters get what is left of the shutdown timeout (a second kept for the rest).
    await Promise.all(this.traceExporters.map((e) => e.shutdown(Math.max(0, deadline - Date.now() - 1000))));
    await this.admin.shutdown();
    this.exporter.shutdown();
    const started = this.otlpAddress !== '';
    this.state = 'stopped';
    if (started) this.logger.info('meshtel collector stopped');
  }
}

/** The transport an exporter's endpoint calls for. */
function traceTransport(c: TraceExporterConfig, logger?: Logger): SpanTransport {
  return c.endpoint.protocol === 'otlp' ? new OtlpHttpTransport(c) : new ThriftTransport(c, logger);
}
