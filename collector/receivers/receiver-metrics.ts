import { Counter, type Registry } from 'prom-client';
import type { ConsumeResult } from '../pipeline/consumer.js';

export type SignalName = 'traces' | 'metrics';

/**
 * Why a whole request was turned away. Item counts are known for `rate_limited` and
 * `memory_limited` (the body was decoded); not for `invalid`, `too_large` and `unsupported`.
 */
export type RequestOutcome = 'accepted' | 'partial' | 'refused' | 'invalid' | 'too_large' | 'unsupported';

/**
 * The receivers' self-telemetry, shared by every receiver registered in one Registry: each item
 * that reaches a receiver is counted exactly once as accepted, refused (retryable, by reason) or
 * rejected (partial success, permanent, by reason).
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

  /** Counts a decoded request and what the pipeline did with it. */
  recordResult(receiver: string, signal: SignalName, items: number, invalid: number, result: ConsumeResult): void {
    this.received[signal].inc({ receiver }, items + invalid);
    if (invalid > 0) this.rejected[signal].inc({ receiver, reason: 'invalid' }, invalid);
    switch (result.kind) {
      case 'accepted':
        this.requests.inc({ receiver, signal, outcome: invalid > 0 ? 'partial' : 'accepted' });
        this.accepted[signal].inc({ receiver }, items);
        break;
      case 'partial':
        this.requests.inc({ receiver, signal, outcome: 'partial' });
        this.accepted[signal].inc({ receiver }, items - result.rejected);
        this.rejected[signal].inc({ receiver, reason: result.reason }, result.rejected);
        break;
      case 'refused':
        this.requests.inc({ receiver, signal, outcome: 'refused' });
        this.refused[signal].inc({ receiver, reason: result.reason }, items);
        break;
    }
  }

  /** Counts a request turned away before its items could be counted. */
  recordUndecoded(receiver: string, signal: SignalName, outcome: 'invalid' | 'too_large' | 'unsupported'): void {
    this.requests.inc({ receiver, signal, outcome });
  }
}
