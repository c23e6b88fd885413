import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../collector/admission/token-bucket.js';

describe('TokenBucket', () => {
  it('starts full and grants up to its burst at once', () => {
    const b = new TokenBucket(100, 50, 0);
    expect(b.take(30, 0)).toBe(true);
    expect(b.take(20, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
  });

  it('refills at its rate, never above the burst', () => {
    const b = new TokenBucket(100, 50, 0);
    b.take(50, 0);
    expect(b.available(100)).toBeCloseTo(10, 9);
    expect(b.available(10_000)).toBe(50);
  });

  it('says when a refused request will fit: the missing tokens over the rate', () => {
    const b = new TokenBucket(200, 1000, 0);
    b.take(1000, 0);
    expect(b.secondsUntil(512, 0)).toBeCloseTo(2.56, 9);
    expect(b.secondsUntil(512, 1000)).toBeCloseTo(1.56, 9);
    expect(b.take(512, 2559)).toBe(false);
    expect(b.take(512, 2560)).toBe(true);
    expect(b.secondsUntil(1, 2560)).toBeCloseTo(0.005, 9);
  });

  it('grants a request larger than the burst only from a full bucket, into debt', () => {
    const b = new TokenBucket(100, 50, 0);
    expect(b.take(80, 0)).toBe(true);
    expect(b.available(0)).toBe(-30);
    // Nothing more until the debt is paid and the bucket is full again: 0.8 s.
    expect(b.take(80, 500)).toBe(false);
    expect(b.secondsUntil(80, 500)).toBeCloseTo(0.3, 9);
    expect(b.take(80, 800)).toBe(true);
  });

  it('takes refunds back up to the burst', () => {
    const b = new TokenBucket(1, 10, 0);
    b.take(10, 0);
    b.refund(4);
    expect(b.available(0)).toBe(4);
    b.refund(100);
    expect(b.full(0)).toBe(true);
  });

  it('ignores a clock that goes backwards', () => {
    const b = new TokenBucket(10, 10, 1000);
    b.take(10, 1000);
    expect(b.available(500)).toBe(0);
    expect(b.available(1100)).toBeCloseTo(1, 9);
  });

  it('refuses a rate or burst that is not positive', () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(/positive/);
  });
});
