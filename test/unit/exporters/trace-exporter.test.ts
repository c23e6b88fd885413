/**
 * The trace exporter against a scripted SpanTransport (meshtel's own interface: results as data)
 * with a controlled clock and an injected sleep, so that batching, retries, backoff and deadlines
 * run without waiting. Every span's fate is read back from the prom-client registry.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TracesData } from '../../../collector/model/traces.js';
import { traceExporterConfigSchema } from '../../../exporters/jaeger/config.js';
import { TraceExporter } from '../../../exporters/jaeger/trace-exporter.js';
import type { SendResult, SpanTransport } from '../../../exporters/jaeger/transport.js';
import { batchOf, ids, trace } from './spans.js';

interface Call {
  spans: number;
  ids: string[];
  at: number;
  answered: boolean;
  answer(result: SendResult): void;
  signal: AbortSignal;
}

/**
 * A backend scripted by the test: `script` answers each call at once (by call number, from 1);
 * without a script, calls wait until the test answers them (`calls[i].answer(...)`), or until
 * they are aborted (then they come back retryable, as a cancelled HTTP request does).
 */
class ScriptedTransport implements SpanTransport {
  readonly calls: Call[] = [];
  closed = false;
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(
    private readonly clock: { now(): number },
    private readonly script?: (call: number, spans: number) => SendResult,
  ) {}

  send(data: TracesData, spans: number, signal: AbortSignal): Promise<SendResult> {
    return new Promise((resolve) => {
      const spanIds = ids(data.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
      expect(spanIds).toHaveLength(spans);
      const call: Call = {
        spans,
        ids: spanIds,
        at: this.clock.now(),
        answered: false,
        answer: (result) => {
          call.answered = true;
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
        signal,
      };
      const onAbort = () => call.answer({ kind: 'retryable', error: 'aborted' });
      this.calls.push(call);
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.script) resolve(this.script(this.calls.length, spans));
      for (const w of this.waiters.filter((x) => this.calls.length >= x.n)) w.resolve();
    });
  }

  /** Answers every call still waiting with `answer(call)`; says how many there were. */
  answerWaiting(answer: (call: Call) => SendResult): number {
    const waiting = this.calls.filter((c) => !c.answered);
    for (const c of waiting) c.answer(answer(c));
    return waiting.length;
  }

  /** Resolves once `n` calls were made in all. */
  called(n: number): Promise<Call> {
    if (this.calls.length >= n) return Promise.resolve(this.calls[n - 1]!);
    return new Promise((resolve) => this.waiters.push({ n, resolve: () => resolve(this.calls[n - 1]!) }));
  }

  shutdown(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Lets every promise chain that is not waiting on I/O or a timer run to its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(config: Record<string, unknown> = {}, script?: (call: number, spans: number) => SendResult) {
  const registry = new Registry();
  const clock = { t: 1_000_000, now() {
    return this.t;
  } };
  const sleeps: number[] = [];
  // The exporter's waits between retries: recorded, and the clock moves by as much.
  const sleep = (ms: number) => {
    sleeps.push(ms);
    clock.t += ms;
    return Promise.resolve();
  };
  const transport = new ScriptedTransport(clock, script);
  const parsed = traceExporterConfigSchema.parse({ endpoint: 'http://backend:4318', name: 'backend', ...config });
  const exporter = new TraceExporter(parsed, transport, registry, clock, pino({ level: 'silent' }), sleep);
  const consume = (spans: ReturnType<typeof trace>) => exporter.consumeTraces({ data: batchOf(spans), items: spans.length, source: { receiver: 'otlp_http' } });
  return { registry, clock, sleeps, transport, exporter, consume };
}

/** Every series of the exporter's families, by name and then by `reason` (or '' without one). */
async function account(registry: Registry) {
  const json = await registry.getMetricsAsJSON();
  const value = (name: string, reason?: string) =>
    json
      .find((m) => m.name === name)!
      .values.filter((v) => v.labels.exporter === 'backend' && (reason === undefined || v.labels.reason === reason))
      .reduce((n, v) => n + v.value, 0);
  const a = {
    received: value('meshtel_exporter_received_spans_total'),
    sampledOut: value('meshtel_exporter_sampled_out_spans_total'),
    enqueueFailed: value('meshtel_exporter_enqueue_failed_spans_total'),
    sent: value('meshtel_exporter_sent_spans_total'),
    sendFailed: value('meshtel_exporter_send_failed_spans_total'),
    permanent: value('meshtel_exporter_send_failed_spans_total', 'permanent'),
    exhausted: value('meshtel_exporter_send_failed_spans_total', 'retries_exhausted'),
    rejected: value('meshtel_exporter_send_failed_spans_total', 'rejected'),
    shutdown: value('meshtel_exporter_send_failed_spans_total', 'shutdown'),
    queued: value('meshtel_exporter_queue_size'),
    capacity: value('meshtel_exporter_queue_capacity'),
    inFlight: value('meshtel_exporter_in_flight_spans'),
    retries: value('meshtel_exporter_retries_total'),
  };
  return a;
}

/** received = sampled_out + enqueue_failed + sent + send_failed + queued + in_flight (docs/metrics.md). */
async function expectConserved(registry: Registry) {
  const a = await account(registry);
  expect(a.sampledOut + a.enqueueFailed + a.sent + a.sendFailed + a.queued + a.inFlight, JSON.stringify(a)).toBe(a.received);
  return a;
}

const OK: SendResult = { kind: 'success', rejected: 0 };

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('TraceExporter: batching', () => {
  it('sends full batches at once, in order, at most sending_concurrency at a time', async () => {
    const { transport, consume, registry } = setup({ batch: { max_spans: 4, timeout: '1s' }, sending_concurrency: 2 });
    consume([...trace(1, 5), ...trace(2, 5)]);
    await transport.called(2);
    expect(transport.calls.map((c) => c.ids)).toEqual([
      ['1:0', '1:1', '1:2', '1:3'],
      ['1:4', '2:0', '2:1', '2:2'],
    ]);
    // Two in flight, two waiting (not a full batch, not old enough).
    expect(await expectConserved(registry)).toMatchObject({ received: 10, inFlight: 8, queued: 2, sent: 0 });
    transport.calls[0]!.answer(OK);
    transport.calls[1]!.answer(OK);
    await settle();
    expect(transport.calls).toHaveLength(2);
    expect(await expectConserved(registry)).toMatchObject({ sent: 8, queued: 2, inFlight: 0 });
  });

  it('sends a batch that is not full once its oldest span has waited batch.timeout', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { transport, consume, registry, clock, exporter } = setup({ batch: { max_spans: 100, timeout: '200ms' } }, () => OK);
    exporter.start();
    consume(trace(1, 3));
    clock.t += 100;
    consume(trace(2, 2));
    vi.advanceTimersByTime(100); // the pump runs every timeout / 2
    expect(transport.calls).toHaveLength(0);
    clock.t += 99;
    vi.advanceTimersByTime(100);
    expect(transport.calls).toHaveLength(0);
    clock.t += 1; // the first span is 200 ms old: everything waiting goes, younger spans too
    vi.advanceTimersByTime(100);
    expect(transport.calls.map((c) => c.ids)).toEqual([['1:0', '1:1', '1:2', '2:0', '2:1']]);
    await settle();
    expect(await expectConserved(registry)).toMatchObject({ received: 5, sent: 5, queued: 0 });
    await exporter.shutdown(1000);
  });
});

describe('TraceExporter: retries', () => {
  it('retries retryable results with exponential backoff and jitter within [0.5, 1.5) of the interval, capped', async () => {
    const answers: SendResult[] = [...Array.from({ length: 5 }, (): SendResult => ({ kind: 'retryable', error: '503' })), OK];
    const { consume, sleeps, registry, transport } = setup(
      { batch: { max_spans: 2 }, retry: { initial_interval: '1s', max_interval: '4s', max_elapsed_time: '1m' } },
      (n) => answers[n - 1]!,
    );
    consume(trace(1, 2));
    await settle();
    expect(transport.calls).toHaveLength(6);
    const intervals = [1000, 2000, 4000, 4000, 4000];
    expect(sleeps).toHaveLength(5);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(intervals[i]! * 0.5);
      expect(ms).toBeLessThan(intervals[i]! * 1.5);
    });
    // Each retry sends the same spans again.
    expect(new Set(transport.calls.map((c) => c.ids.join()))).toEqual(new Set(['1:0,1:1']));
    expect(await expectConserved(registry)).toMatchObject({ sent: 2, sendFailed: 0, retries: 5 });
  });

  it('jitter spans the whole range: the lowest and the highest draw', async () => {
    for (const [draw, expected] of [
      [0, [500, 1000, 1500]],
      [0.999, [1499, 2998, 4497]],
    ] as const) {
      vi.spyOn(Math, 'random').mockReturnValue(draw);
      const retryable: SendResult = { kind: 'retryable', error: 'connection refused' };
      const { consume, sleeps } = setup({ batch: { max_spans: 1 }, retry: { initial_interval: '1s', max_interval: '3s' } }, (n) => (n <= 3 ? retryable : OK));
      consume(trace(1, 1));
      await settle();
      expect(sleeps).toHaveLength(3);
      sleeps.forEach((ms, i) => expect(ms).toBeCloseTo(expected[i]!, 6));
      vi.restoreAllMocks();
    }
  });

  it("honours the backend's Retry-After instead of its own backoff", async () => {
    const { consume, sleeps, registry } = setup({ batch: { max_spans: 1 }, retry: { initial_interval: '1s', max_interval: '2s' } }, (n) =>
      n === 1 ? { kind: 'retryable', error: '429', retryAfterMs: 7000 } : n === 2 ? { kind: 'retryable', error: '503', retryAfterMs: 0 } : OK,
    );
    consume(trace(1, 1));
    await settle();
    expect(sleeps).toEqual([7000, 0]);
    expect(await expectConserved(registry)).toMatchObject({ sent: 1, retries: 2 });
  });

  it('gives up after max_elapsed_time and counts the batch as retries_exhausted', async () => {
    const { consume, sleeps, registry, transport, clock } = setup(
      { batch: { max_spans: 3 }, retry: { initial_interval: '1s', max_interval: '2s', max_elapsed_time: '10s' } },
      () => ({ kind: 'retryable', error: '503', retryAfterMs: 3000 }),
    );
    const started = clock.t;
    consume(trace(1, 3));
    await settle();
    // Waits of 3 s while the next one still ends within 10 s of the first attempt: 3 of them.
    expect(sleeps).toEqual([3000, 3000, 3000]);
    expect(transport.calls.map((c) => c.at - started)).toEqual([0, 3000, 6000, 9000]);
    expect(await expectConserved(registry)).toMatchObject({ sent: 0, exhausted: 3, sendFailed: 3, retries: 3, inFlight: 0 });
  });

  it('does not retry a permanent failure', async () => {
    const { consume, sleeps, registry, transport } = setup({ batch: { max_spans: 4 } }, () => ({ kind: 'failure', error: '400 bad request' }));
    consume(trace(1, 4));
    await settle();
    expect(transport.calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(await expectConserved(registry)).toMatchObject({ permanent: 4, sent: 0, retries: 0 });
  });

  it('counts a transport that throws as a permanent failure, without an unhandled rejection', async () => {
    const { consume, registry, transport } = setup({ batch: { max_spans: 2 } }, (n) => {
      if (n === 1) throw new Error('encoder bug');
      return OK;
    });
    consume(trace(1, 2));
    consume(trace(2, 2));
    await settle();
    expect(transport.calls).toHaveLength(2);
    expect(await expectConserved(registry)).toMatchObject({ permanent: 2, sent: 2 });
  });
});

describe('TraceExporter: what the backend rejects, and a full queue', () => {
  it("counts a partial success's rejected spans as send_failed rejected, the rest as sent", async () => {
    const { consume, registry } = setup({ batch: { max_spans: 10 } }, () => ({ kind: 'success', rejected: 3 }));
    consume(trace(1, 10));
    await settle();
    expect(await expectConserved(registry)).toMatchObject({ sent: 7, rejected: 3 });
  });

  it('never counts more rejected spans than the batch held, whatever the backend says', async () => {
    const { consume, registry } = setup({ batch: { max_spans: 4 } }, (n) => ({ kind: 'success', rejected: n === 1 ? 1000 : -5 }));
    consume(trace(1, 4));
    consume(trace(2, 4));
    await settle();
    expect(await expectConserved(registry)).toMatchObject({ sent: 4, rejected: 4 });
  });

  it('drops what does not fit in the queue and counts it as enqueue_failed, never refusing the receiver', async () => {
    const { consume, registry, transport } = setup({ queue: { capacity: 5 }, batch: { max_spans: 4 }, sending_concurrency: 1 });
    expect(consume(trace(1, 12))).toEqual({ kind: 'accepted' });
    await transport.called(1);
    // 5 fit; 4 of them left at once (a full batch), 1 waits.
    expect(await expectConserved(registry)).toMatchObject({ received: 12, enqueueFailed: 7, inFlight: 4, queued: 1, capacity: 5 });
    expect(consume(trace(2, 6))).toEqual({ kind: 'accepted' });
    expect(await expectConserved(registry)).toMatchObject({ received: 18, enqueueFailed: 9, queued: 5 });
    transport.calls[0]!.answer(OK);
    await transport.called(2);
    expect(transport.calls[1]!.ids).toEqual(['1:4', '2:0', '2:1', '2:2']);
    await expectConserved(registry);
  });
});

describe('TraceExporter: budget', () => {
  it('samples over-budget spans out of export and counts them, error traces kept first', async () => {
    const { consume, registry, transport, exporter } = setup({ batch: { max_spans: 100 }, budget: { spans: { rate: 5, burst: 5 } } }, () => OK);
    consume([...trace(1, 4), ...trace(2, 3, { error: true }), ...trace(3, 2)]);
    expect(await expectConserved(registry)).toMatchObject({ received: 9, sampledOut: 4, queued: 5 });
    await exporter.shutdown(1000);
    expect(transport.calls.map((c) => c.ids)).toEqual([['2:0', '2:1', '2:2', '3:0', '3:1']]);
    expect(await expectConserved(registry)).toMatchObject({ sent: 5, sampledOut: 4 });
  });
});

describe('TraceExporter: shutdown', () => {
  it('sends what is queued, young partial batches included, then closes the transport', async () => {
    const { consume, registry, transport, exporter } = setup({ batch: { max_spans: 4, timeout: '1h' } }, () => OK);
    consume(trace(1, 6));
    await settle();
    expect(transport.calls).toHaveLength(1);
    expect(await exporter.shutdown(5000)).toBe(0);
    expect(transport.calls.map((c) => c.spans)).toEqual([4, 2]);
    expect(transport.closed).toBe(true);
    expect(await expectConserved(registry)).toMatchObject({ sent: 6, shutdown: 0, queued: 0 });
  });

  it('stops at its deadline and counts what is left, in flight and queued, as send_failed shutdown', async () => {
    const { consume, registry, transport, exporter } = setup({ batch: { max_spans: 4 }, sending_concurrency: 1 });
    consume(trace(1, 10));
    await transport.called(1);
    // The backend never answers; only the abort at the deadline ends the call.
    const started = Date.now();
    const abandoned = await exporter.shutdown(30);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(abandoned).toBe(10);
    expect(transport.calls[0]!.signal.aborted).toBe(true);
    expect(transport.calls).toHaveLength(1);
    expect(await expectConserved(registry)).toMatchObject({ received: 10, shutdown: 10, sent: 0, queued: 0, inFlight: 0 });
    // After shutdown, new spans are counted too, never silently lost.
    consume(trace(2, 3));
    expect(await expectConserved(registry)).toMatchObject({ received: 13, shutdown: 13 });
  });

  it('stops waiting for a retry at the deadline, counting that batch as shutdown', async () => {
    const registry = new Registry();
    const clock = { now: () => 0 };
    // A sleep that only ends when aborted: the batch is between two attempts at shutdown.
    const sleep = (_ms: number, signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const transport = new ScriptedTransport(clock, () => ({ kind: 'retryable', error: '503' }));
    const config = traceExporterConfigSchema.parse({ endpoint: 'http://backend:4318', name: 'backend', batch: { max_spans: 2 } });
    const exporter = new TraceExporter(config, transport, registry, clock, pino({ level: 'silent' }), sleep);
    exporter.consumeTraces({ data: batchOf(trace(1, 2)), items: 2, source: { receiver: 'otlp_http' } });
    await transport.called(1);
    expect(await expectConserved(registry)).toMatchObject({ inFlight: 2, retries: 1 });
    expect(await exporter.shutdown(20)).toBe(2);
    expect(await expectConserved(registry)).toMatchObject({ shutdown: 2, exhausted: 0, inFlight: 0 });
  });
});

describe('TraceExporter: conservation', () => {
  it('accounts for every span at every step of a mixed run', async () => {
    // The backend's answer depends on the batch (the round its first span came in): success,
    // partial success, retryable twice then success, permanent failure, or retryable until the
    // deadline. A small queue and a budget on top. The test answers the calls waiting at each
    // step, so that the counters are read while nothing moves (prom-client reads a registry's
    // families one after another).
    const attempts = new Map<string, number>();
    const backend = (call: Call): SendResult => {
      const attempt = (attempts.get(call.ids.join()) ?? 0) + 1;
      attempts.set(call.ids.join(), attempt);
      switch (Math.floor(Number(call.ids[0]!.split(':')[0]) / 10) % 5) {
        case 0:
          return OK;
        case 1:
          return { kind: 'success', rejected: Math.min(2, call.spans) };
        case 2:
          return attempt <= 2 ? { kind: 'retryable', error: '502' } : OK;
        case 3:
          return { kind: 'failure', error: '400' };
        default:
          return { kind: 'retryable', error: '504' };
      }
    };
    const { consume, registry, transport, exporter, clock } = setup({
      queue: { capacity: 8 },
      batch: { max_spans: 5, timeout: '10ms' },
      sending_concurrency: 2,
      retry: { initial_interval: '1s', max_interval: '2s', max_elapsed_time: '5s' },
      // Retries move the clock by seconds, refilling the budget: a low rate keeps it binding.
      budget: { spans: { rate: 20, burst: 13 } },
    });
    let inFlightSeen = 0;
    for (let round = 0; round < 40; round++) {
      consume([...trace(round * 10 + 1, 3), ...trace(round * 10 + 2, 4, { error: round % 3 === 0 }), ...trace(round * 10 + 3, 6)]);
      inFlightSeen = Math.max(inFlightSeen, (await expectConserved(registry)).inFlight);
      clock.t += 150;
      while (transport.answerWaiting(backend) > 0) {
        await settle();
        await expectConserved(registry);
      }
    }
    const shutdown = exporter.shutdown(1000);
    while (transport.answerWaiting(backend) > 0) await settle();
    expect(await shutdown).toBe(0);
    const a = await expectConserved(registry);
    expect(a.received).toBe(40 * 13);
    expect(inFlightSeen).toBeGreaterThan(0);
    // Every kind of fate happened, so the balance above covered each of them.
    for (const k of ['sampledOut', 'enqueueFailed', 'sent', 'permanent', 'exhausted', 'rejected'] as const) expect(a[k], k).toBeGreaterThan(0);
    expect(a.queued + a.inFlight + a.shutdown).toBe(0);
  });
});
