/**
 * A token bucket: `rate` tokens per second flow in, up to `burst`. A request for n tokens is
 * granted when the bucket holds n; one larger than the whole burst is granted when the bucket is
 * full and leaves it in debt (so that no request size is refused forever). Time comes from the
 * caller (milliseconds), so tests drive it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new Error(`a token bucket needs a positive rate and burst (got ${rate}/s, ${burst})`);
    this.tokens = burst;
    this.last = now;
  }

  /** Tokens available at `now`. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes `n` tokens if the bucket can give them now; says whether it did. */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (this.tokens >= Math.min(n, this.burst)) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Gives back tokens taken for something that was not done after all. */
  refund(n: number): void {
    this.tokens = Math.min(this.burst, this.tokens + n);
  }

  /** Seconds until `take(n)` can succeed: what a refusal's Retry-After says. */
  secondsUntil(n: number, now: number): number {
    this.refill(now);
    const missing = Math.min(n, this.burst) - this.tokens;
    return missing <= 0 ? 0 : missing / this.rate;
  }

  /** Whether the bucket is full, i.e. indistinguishable from a new one (safe to forget). */
  full(now: number): boolean {
    return this.available(now) >= this.burst;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
  }
}
