import { Counter, type Registry } from 'prom-client';

export type SignalName = 'traces' | 'metrics';

/**
 * How a request ended: accepted whole, partly (partial success), refused for now (429/503,
 * the client resends), or turned away as `invalid` (400), `too_large` (413), `unsupported` (415).
 */
export type RequestOutcome = 'accepted' | 'partial' | 'refused' | 'invalid' | 'too_large' | 'unsupported';

/**
 * The receivers' self-telemetry, shared by every receiver registered in one Registry. Each item
 * a receiver decodes is counted once as received, and once as accepted, refused (retryable, by
 * reason) or rejected (partial success, permanent, by reason): received = accepted + refused +
 * rejected. Requests refused before their body could be read are counted as requests only.
 */
export class ReceiverMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ReceiverMetrics>();

  private readonly requests: Counter<'receiver' | 'signal' | 'outcome'>;
  private readonly received: Record<SignalName, Counter<'receiver'>>;
  private readonly accepted: Record<SignalName, Counter<'receiver'>>;
  private readonly refused: Record<SignalName, Counter<'receiver' | 'reason'>>;
  private readonly rejected: Record<SignalName, Counter<'receiver' | 'reason'>>;

  static for(registry: Registry): ReceiverMetrics {
    let m = ReceiverMetrics.byRegistry.get(registry);
    if (!m) {
      m = new ReceiverMetrics(registry);
      ReceiverMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'meshtel_receiver_requests_total',
      help: 'Export requests (or Kafka messages) received, by outcome.',
      labelNames: ['receiver', 'signal', 'outcome'],
      registers,
    });
    const items = { traces: 'spans', metrics: 'metric_points' } as const;
    const make = <L extends string>(what: string, help: string, labelNames: L[]) =>
      Object.fromEntries(
        (['traces', 'metrics'] as const).map((s) => [
          s,
          new Counter({ name: `meshtel_receiver_${what}_${items[s]}_total`, help: help.replace('ITEMS', items[s].replace('_', ' ')), labelNames, registers }),
        ]),
      ) as Record<SignalName, Counter<L>>;
    this.received = make('received', 'ITEMS decoded from requests: accepted + refused + rejected.', ['receiver']);
    this.accepted = make('accepted', 'ITEMS accepted into the pipeline.', ['receiver']);
    this.refused = make('refused', 'ITEMS refused with a retryable status (the client should resend them), by reason.', ['receiver', 'reason']);
    this.rejected = make('rejected', 'ITEMS rejected for good in a partial success, by reason.', ['receiver', 'reason']);
  }

  /** Creates a receiver's series at 0, so that rates and alerts see it before its first event. */
  zero(receiver: string): void {
    for (const signal of ['traces', 'metrics'] as const) {
      for (const outcome of ['accepted', 'partial', 'refused', 'invalid', 'too_large', 'unsupported'] as const) this.requests.inc({ receiver, signal, outcome }, 0);
      this.received[signal].inc({ receiver }, 0);
      this.accepted[signal].inc({ receiver }, 0);
      for (const reason of ['rate_limited', 'memory_limited', 'internal_error']) this.refused[signal].inc({ receiver, reason }, 0);
      for (const reason of ['invalid', 'rate_limited']) this.rejected[signal].inc({ receiver, reason }, 0);
    }
  }

  request(receiver: string, signal: SignalName, outcome: RequestOutcome): void {
    this.requests.inc({ receiver, signal, outcome });
  }

  /** Items of a request refused as a whole (nothing taken; the client resends). */
  refusedItems(receiver: string, signal: SignalName, items: number, reason: string): void {
    this.received[signal].inc({ receiver }, items);
    this.refused[signal].inc({ receiver, reason }, items);
  }

  /** Items of a request taken: `accepted`, and each permanent rejection by reason. */
  takenItems(receiver: string, signal: SignalName, accepted: number, rejections: readonly { items: number; reason: string }[]): void {
    const rejected = rejections.reduce((n, r) => n + r.items, 0);
    this.received[signal].inc({ receiver }, accepted + rejected);
    this.accepted[signal].inc({ receiver }, accepted);
    for (const r of rejections) if (r.items > 0) this.rejected[signal].inc({ receiver, reason: r.reason }, r.items);
  }
}
