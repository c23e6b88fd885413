import { Counter, Gauge, type Registry } from 'prom-client';

/** What the gauges read from each exporter at scrape time. */
export interface ExporterState {
  name: string;
  queued(): number;
  capacity(): number;
  inFlight(): number;
  /** Spans held by tail sampling until their trace is decided. */
  awaitingDecision(): number;
}

/**
 * The trace exporters' self-telemetry, by `exporter`. For each, every span handed to it is
 * counted once as sampled out, enqueue-failed (queue full), or queued, and every queued span ends
 * as sent or send-failed: received = sampled_out + enqueue_failed + sent + send_failed + queued +
 * in flight + awaiting a tail-sampling decision.
 */
export class ExporterMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ExporterMetrics>();
  readonly received: Counter<'exporter'>;
  readonly sent: Counter<'exporter'>;
  readonly sendFailed: Counter<'exporter' | 'reason'>;
  readonly enqueueFailed: Counter<'exporter'>;
  readonly sampledOut: Counter<'exporter' | 'reason'>;
  readonly retries: Counter<'exporter'>;
  private readonly exporters: ExporterState[] = [];

  static for(registry: Registry): ExporterMetrics {
    let m = ExporterMetrics.byRegistry.get(registry);
    if (!m) {
      m = new ExporterMetrics(registry);
      ExporterMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({ name: 'meshtel_exporter_received_spans_total', help: 'Spans handed to the exporter (every accepted span, once per exporter).', labelNames: ['exporter'], registers });
    this.sent = new Counter({ name: 'meshtel_exporter_sent_spans_total', help: 'Spans the backend took.', labelNames: ['exporter'], registers });
    this.sendFailed = new Counter({
      name: 'meshtel_exporter_send_failed_spans_total',
      help: 'Spans that could not be delivered, by reason: permanent (the backend refused them), retries_exhausted, rejected (partial success), shutdown.',
      labelNames: ['exporter', 'reason'],
      registers,
    });
    this.enqueueFailed = new Counter({ name: 'meshtel_exporter_enqueue_failed_spans_total', help: 'Spans dropped because the export queue was full.', labelNames: ['exporter'], registers });
    this.sampledOut = new Counter({
      name: 'meshtel_exporter_sampled_out_spans_total',
      help: 'Spans not exported by decision (they still count in every metric), by reason: budget, tail_sampling.',
      labelNames: ['exporter', 'reason'],
      registers,
    });
    this.retries = new Counter({ name: 'meshtel_exporter_retries_total', help: 'Send attempts retried after a retryable failure.', labelNames: ['exporter'], registers });
    const exporters = this.exporters;
    const gauge = (name: string, help: string, read: (e: ExporterState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['exporter'],
        registers,
        collect() {
          for (const e of exporters) this.set({ exporter: e.name }, read(e));
        },
      });
    gauge('meshtel_exporter_queue_size', 'Spans waiting in the export queue.', (e) => e.queued());
    gauge('meshtel_exporter_queue_capacity', 'Most spans the export queue holds.', (e) => e.capacity());
    gauge('meshtel_exporter_in_flight_spans', 'Spans being sent (including those waiting to be retried).', (e) => e.inFlight());
    gauge('meshtel_exporter_awaiting_decision_spans', 'Spans held by tail sampling until their trace is decided.', (e) => e.awaitingDecision());
  }

  register(state: ExporterState): void {
    this.exporters.push(state);
  }

  /** Creates every series of an exporter at 0, so that rates and alerts see it before its first event. */
  zero(exporter: string): void {
    for (const c of [this.received, this.sent, this.enqueueFailed, this.retries]) c.inc({ exporter }, 0);
    for (const reason of ['permanent', 'retries_exhausted', 'rejected', 'shutdown']) this.sendFailed.inc({ exporter, reason }, 0);
    for (const reason of ['budget', 'tail_sampling']) this.sampledOut.inc({ exporter, reason }, 0);
  }
}
