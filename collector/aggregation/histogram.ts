/**
 * Explicit-bucket histogram arithmetic shared by every histogram meshtel keeps. A histogram with
 * bounds b[0..n-1] has n+1 buckets; bucket i counts values v with b[i-1] < v <= b[i] (Prometheus
 * `le` semantics), and bucket n counts everything above b[n-1].
 */

/** Index of the bucket that holds `value`. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The q-quantile estimated from bucket counts the way Prometheus' `histogram_quantile` does:
 * linear interpolation inside the bucket that holds the rank, 0 as the lower edge of the first
 * bucket, and the highest finite bound when the rank falls in the overflow bucket. Null when
 * there are no observations.
 */
export function quantile(q: number, bounds: readonly number[], counts: ArrayLike<number>): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && cumulative + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? Math.min(0, bounds[0]!) : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * (rank - cumulative)) / c;
    }
    cumulative += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

/** One share of a source bucket moved into a target bucket. */
interface Share {
  from: number;
  to: number;
  fraction: number;
}

/**
 * Moves counts from histograms with other bucket bounds into one fixed layout. A source bucket
 * is spread over the target buckets it overlaps in proportion to the overlap, which keeps the
 * quantile estimate what linear interpolation inside the source bucket would give. Identical
 * layouts map one to one. Mappings are cached per source layout (proxies share a handful).
 */
export class Rebucketer {
  private readonly cache = new Map<string, Share[]>();

  constructor(readonly bounds: readonly number[]) {}

  /** Adds `counts` (bucket counts over `sourceBounds`, in the same unit as `bounds`) into `out`. */
  add(sourceBounds: readonly number[], counts: ArrayLike<number>, out: Float64Array, offset = 0): void {
    for (const { from, to, fraction } of this.mapping(sourceBounds)) {
      const c = counts[from]!;
      if (c !== 0) out[offset + to]! += c * fraction;
    }
  }

  private mapping(source: readonly number[]): Share[] {
    const key = source.join(',');
    let shares = this.cache.get(key);
    if (shares === undefined) {
      shares = this.compute(source);
      if (this.cache.size >= 256) this.cache.clear();
      this.cache.set(key, shares);
    }
    return shares;
  }

  private compute(source: readonly number[]): Share[] {
    const target = this.bounds;
    const shares: Share[] = [];
    for (let from = 0; from <= source.length; from++) {
      const hi = from < source.length ? source[from]! : Infinity;
      const lo = from === 0 ? Math.min(0, hi) : source[from - 1]!;
      if (hi === Infinity) {
        // Only "above lo" is known: the bucket just above lo is the closest honest place.
        shares.push({ from, to: firstAbove(target, lo), fraction: 1 });
        continue;
      }
      if (hi <= lo) {
        shares.push({ from, to: bucketIndex(target, hi), fraction: 1 });
        continue;
      }
      for (let to = bucketIndex(target, lo === hi ? lo : nextUp(lo)); to <= target.length; to++) {
        const tlo = to === 0 ? -Infinity : target[to - 1]!;
        const thi = to < target.length ? target[to]! : Infinity;
        const overlap = Math.min(hi, thi) - Math.max(lo, tlo);
        if (overlap > 0) shares.push({ from, to, fraction: overlap / (hi - lo) });
        if (thi >= hi) break;
      }
    }
    return shares;
  }
}

function firstAbove(bounds: readonly number[], value: number): number {
  let i = bucketIndex(bounds, value);
  if (i < bounds.length && bounds[i] === value) i++;
  return i;
}

function nextUp(x: number): number {
  return x + Math.max(Math.abs(x) * Number.EPSILON, Number.MIN_VALUE);
}
