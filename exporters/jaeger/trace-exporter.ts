import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../collector/aggregation/aggregator.js';
import { ACCEPTED, type ConsumeResult, type TraceBatch, type TracesConsumer } from '../../collector/pipeline/consumer.js';
import type { TraceExporterConfig } from './config.js';
import { ExportBudget } from './export-budget.js';
import { ExporterMetrics } from './exporter-metrics.js';
import { SpanQueue, spansOf, tracesOf, type QueuedSpan } from './span-queue.js';
import { TailSampler } from './tail-sampler.js';
import type { SendResult, SpanTransport } from './transport.js';

/**
 * One trace exporter: accepted spans go through the export budget (if any) into a bounded queue
 * that never pushes back on the receivers (a slow or absent backend costs its own queue, counted,
 * not the metrics), and leave in batches by size or age, sent `sending_concurrency` at a time
 * with retries: exponential backoff with jitter, the backend's Retry-After honoured, given up
 * after `max_elapsed_time`. Only 429/502/503/504 and connection errors are retried. Every span's
 * fate is counted (ExporterMetrics).
 */
export class TraceExporter implements TracesConsumer {
  private readonly queue: SpanQueue;
  private readonly metrics: ExporterMetrics;
  private readonly budget: ExportBudget | undefined;
  private readonly tail: TailSampler | undefined;
  private readonly name: string;
  private readonly abort = new AbortController();
  private inFlight = 0;
  private inFlightSpans = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly config: TraceExporterConfig,
    private readonly transport: SpanTransport,
    registry: Registry,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = abortableSleep,
  ) {
    this.name = config.name;
    this.queue = new SpanQueue(config.queue.capacity);
    this.metrics = ExporterMetrics.for(registry);
    this.metrics.register({
      name: this.name,
      queued: () => this.queue.size,
      capacity: () => this.queue.capacity,
      inFlight: () => this.inFlightSpans,
      awaitingDecision: () => this.tail?.waiting ?? 0,
    });
    this.metrics.zero(this.name);
    this.budget = config.budget && new ExportBudget(config.budget.spans, config.budget.slow_threshold, clock.now());
    const t = config.tail_sampling;
    this.tail =
      t &&
      new TailSampler(
        { decisionWaitMs: t.decision_wait, maxTraces: t.max_traces, slowThresholdMs: t.slow_threshold, others: t.others },
        clock.now(),
        (kept, dropped) => {
          if (dropped > 0) this.metrics.sampledOut.inc({ exporter: this.name, reason: 'tail_sampling' }, dropped);
          if (kept.length > 0) this.enqueue(kept);
        },
      );
  }

  start(): void {
    this.timer = setInterval(() => {
      this.tail?.tick(this.clock.now());
      this.pump();
    }, Math.max(10, Math.floor(this.config.batch.timeout / 2)));
    this.timer.unref();
  }

  /** Takes a batch for export; never refuses (a full queue drops and counts instead). */
  consumeTraces(batch: TraceBatch): ConsumeResult {
    const m = this.metrics;
    const name = this.name;
    const spans = spansOf(batch.data);
    m.received.inc({ exporter: name }, spans.length);
    if (this.closing) {
      m.sendFailed.inc({ exporter: name, reason: 'shutdown' }, spans.length);
      return ACCEPTED;
    }
    if (this.tail !== undefined) this.tail.offer(spans, this.clock.now());
    else this.enqueue(spans);
    return ACCEPTED;
  }

  /** Spans that may be exported (decided, when tail sampling): through the budget into the queue. */
  private enqueue(spans: QueuedSpan[]): void {
    const m = this.metrics;
    const exporter = this.name;
    const now = this.clock.now();
    if (this.budget !== undefined) {
      const kept = this.budget.select(spans, now);
      if (kept.length < spans.length) m.sampledOut.inc({ exporter, reason: 'budget' }, spans.length - kept.length);
      spans = kept;
    }
    const taken = this.queue.offer(spans, now);
    if (taken < spans.length) m.enqueueFailed.inc({ exporter }, spans.length - taken);
    if (this.queue.size >= this.config.batch.max_spans) this.pump();
  }

  /** Sends what is ready: full batches, or any batch whose oldest span has waited long enough. */
  private pump(): void {
    const { max_spans, timeout } = this.config.batch;
    while (this.inFlight < this.config.sending_concurrency && this.queue.size > 0) {
      const oldest = this.queue.oldest()!;
      if (!this.closing && this.queue.size < max_spans && this.clock.now() - oldest < timeout) break;
      void this.deliver(this.queue.take(max_spans));
    }
  }

  private async deliver(spans: QueuedSpan[]): Promise<void> {
    this.inFlight++;
    this.inFlightSpans += spans.length;
    const m = this.metrics;
    const exporter = this.name;
    try {
      const result = await this.sendWithRetry(spans);
      if (result.kind === 'success') {
        // The backend's partial success names a count; one that does not fit the batch must
        // neither make a counter go down (prom-client throws) nor count spans twice.
        const rejected = Math.min(spans.length, Math.max(0, Math.floor(result.rejected) || 0));
        m.sent.inc({ exporter }, spans.length - rejected);
        if (rejected > 0) m.sendFailed.inc({ exporter, reason: 'rejected' }, rejected);
      } else {
        const reason = this.abort.signal.aborted ? 'shutdown' : result.kind === 'failure' ? 'permanent' : 'retries_exhausted';
        m.sendFailed.inc({ exporter, reason }, spans.length);
        this.logger.warn({ exporter, spans: spans.length, reason, error: result.error }, `could not export ${spans.length} spans`);
      }
    } finally {
      this.inFlight--;
      this.inFlightSpans -= spans.length;
      this.pump();
      if (this.inFlight === 0) for (const done of this.idle) done();
    }
  }

  /** One batch, retried while retryable and within `max_elapsed_time`. */
  private async sendWithRetry(spans: QueuedSpan[]): Promise<SendResult> {
    const { initial_interval, max_interval, max_elapsed_time } = this.config.retry;
    const data = tracesOf(spans);
    const started = this.clock.now();
    let interval = initial_interval;
    for (;;) {
      let result: SendResult;
      try {
        result = await this.transport.send(data, spans.length, this.abort.signal);
      } catch (e) {
        // Transports answer with results; one that throws has a bug, not a backend condition:
        // count the batch as failed (not retried) rather than crash on an unhandled rejection.
        result = { kind: 'failure', error: `the transport threw: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (result.kind !== 'retryable' || this.abort.signal.aborted) return result;
      // Full jitter around the backoff; the backend's Retry-After when it gave one.
      const wait = result.retryAfterMs ?? interval * (0.5 + Math.random());
      if (this.clock.now() - started + wait > max_elapsed_time) return result;
      this.metrics.retries.inc({ exporter: this.name });
      await this.sleep(wait, this.abort.signal);
      if (this.abort.signal.aborted) return result;
      interval = Math.min(max_interval, interval * 2);
    }
  }

  /**
   * Stops taking spans and sends what is queued, for at most `deadlineMs`; then abandons what is
   * left (counted as send-failed, reason `shutdown`) and says how much that was.
   */
  async shutdown(deadlineMs: number): Promise<number> {
    clearInterval(this.timer);
    // Every trace still waiting for a decision is decided now, so that its spans can be sent.
    this.tail?.tick(this.clock.now(), true);
    this.closing = true;
    const drained = new Promise<void>((resolve) => {
      const check = () => {
        if (this.queue.size === 0 && this.inFlight === 0) {
          this.idle.delete(check);
          resolve();
        }
      };
      this.idle.add(check);
      this.pump();
      check();
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    const abandoned = this.queue.size + this.inFlightSpans;
    const queued = this.queue.take(this.queue.size).length;
    if (queued > 0) this.metrics.sendFailed.inc({ exporter: this.name, reason: 'shutdown' }, queued);
    this.abort.abort();
    await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
    await this.transport.shutdown();
    if (abandoned > 0) this.logger.error({ exporter: this.name, spans: abandoned }, `shutdown: ${abandoned} spans could not be sent to ${this.name} in time`);
    return abandoned;
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
