/**
 * A small seeded PRNG (mulberry32), so that every run of the benchmark sends the same mesh and
 * the same payloads: numbers from one run compare with numbers from another.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Log-normal around `median` (sigma 0.6): latencies have long right tails. */
  latency(median: number): number {
    const u = 1 - this.next();
    const v = this.next();
    const gaussian = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(0.6 * gaussian);
  }

  /** `n` random bytes as lowercase hex. */
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += this.int(256).toString(16).padStart(2, '0');
    return s;
  }
}
