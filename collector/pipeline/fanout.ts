import { ACCEPTED, type ConsumeResult, type TraceBatch, type TracesConsumer } from './consumer.js';

/**
 * Hands every batch to each consumer in order: the aggregation first (metrics count every
 * accepted span before any export limit), then each trace exporter. The batch is shared and
 * read-only for all of them. The worst answer wins: a refusal, then a partial success.
 */
export class TracesFanout implements TracesConsumer {
  constructor(private readonly consumers: readonly TracesConsumer[]) {}

  async consumeTraces(batch: TraceBatch): Promise<ConsumeResult> {
    let result: ConsumeResult = ACCEPTED;
    for (const c of this.consumers) {
      const r = await c.consumeTraces(batch);
      if (r.kind === 'refused' || (r.kind === 'partial' && result.kind === 'accepted')) result = r;
    }
    return result;
  }
}
