import { type Attributes, type Context, type Link, type SpanKind, createTraceState, trace } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';

const TWO_POW_56 = 2n ** 56n;

/**
 * OpenTelemetry's consistent probability sampling for root spans: a trace is kept when the
 * randomness in its trace id (the lowest 56 bits) is at or above the rejection threshold
 * T = (1 - ratio) * 2^56, and the threshold is written into the W3C tracestate as `ot=th:<hex>`
 * so that every span of the trace carries its sampling probability. That is what lets meshtel
 * scale span-derived counts back up exactly. Use it under a ParentBasedSampler.
 */
export class ConsistentProbabilitySampler implements Sampler {
  private readonly threshold: bigint;
  private readonly th: string;

  constructor(private readonly ratio: number) {
    if (!(ratio > 0 && ratio <= 1)) throw new Error(`sampling ratio must be in (0, 1], got ${ratio}`);
    this.threshold = BigInt(Math.round((1 - ratio) * 2 ** 56));
    // The hex threshold, 14 digits, trailing zeros removed ("0" when everything is kept).
    this.th = this.threshold.toString(16).padStart(14, '0').replace(/0+$/, '') || '0';
  }

  shouldSample(context: Context, traceId: string, _name: string, _kind: SpanKind, _attributes: Attributes, _links: Link[]): SamplingResult {
    const randomness = BigInt(`0x${traceId.slice(-14)}`) % TWO_POW_56;
    const parentState = trace.getSpanContext(context)?.traceState ?? createTraceState();
    const traceState = parentState.set('ot', `th:${this.th}`);
    return { decision: randomness >= this.threshold ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD, traceState };
  }

  toString(): string {
    return `ConsistentProbabilitySampler{${this.ratio}}`;
  }
}
