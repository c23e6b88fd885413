import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { probabilityFromTraceState } from '../../../collector/aggregation/span-semantics.js';
import { ConsistentProbabilitySampler } from '../../../demo/proxy/sampler.js';
import { parseFault } from '../../../demo/apps/faults.js';

function traceId(randomness: bigint): string {
  return `0123456789ab${randomness.toString(16).padStart(20, '0')}`.slice(-32);
}

describe('ConsistentProbabilitySampler', () => {
  it('writes a threshold meshtel reads back as the same probability', () => {
    for (const ratio of [1, 0.5, 0.25, 0.1, 0.01]) {
      const r = new ConsistentProbabilitySampler(ratio).shouldSample(ROOT_CONTEXT, traceId(0xffffffffffffffn), 'x', SpanKind.SERVER, {}, []);
      const state = r.traceState!.serialize();
      expect(state).toMatch(/^ot=th:[0-9a-f]+$/);
      expect(probabilityFromTraceState(state)).toBeCloseTo(ratio, 12);
    }
  });

  it('keeps a trace when its randomness is at or above the threshold', () => {
    const half = new ConsistentProbabilitySampler(0.5);
    const decide = (r: bigint) => half.shouldSample(ROOT_CONTEXT, traceId(r), 'x', SpanKind.SERVER, {}, []).decision;
    expect(decide(2n ** 55n - 1n)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(2n ** 55n)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(2n ** 56n - 1n)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('keeps about the requested share of random trace ids', () => {
    const s = new ConsistentProbabilitySampler(0.1);
    let kept = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
      if (s.shouldSample(ROOT_CONTEXT, id, 'x', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED) kept++;
    }
    // 20,000 draws at p = 0.1: standard deviation 42; allow 5.
    expect(Math.abs(kept - 2000)).toBeLessThan(5 * 42);
  });

  it('refuses ratios outside (0, 1]', () => {
    expect(() => new ConsistentProbabilitySampler(0)).toThrow(/\(0, 1\]/);
    expect(() => new ConsistentProbabilitySampler(1.5)).toThrow(/\(0, 1\]/);
  });
});

describe('--fault', () => {
  it('parses error rate and latency, and says what is wrong otherwise', () => {
    expect(parseFault('auth:error=0.2,latency=50ms')).toEqual(['auth', { errorRate: 0.2, latencyMs: 50 }]);
    expect(parseFault('score:latency=5')).toEqual(['score', { errorRate: 0, latencyMs: 5 }]);
    expect(() => parseFault('auth')).toThrow(/SERVICE:error=/);
    expect(() => parseFault('auth:error=2')).toThrow(/between 0 and 1/);
    expect(() => parseFault('auth:speed=3')).toThrow(/unknown setting "speed"/);
  });
});
