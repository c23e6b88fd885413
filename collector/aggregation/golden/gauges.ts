import type { Series } from '../series-table.js';

/**
 * A gauge series merged from several reporting streams (one per proxy instance): the last value
 * of each stream, with when it was reported. A stream not reported for `staleMs` no longer
 * counts, and is forgotten when the series is read.
 */
export interface Gauges extends Series {
  streams: Map<string, { value: number; at: number }>;
}

/** The sum over the live streams; 0 when none is live. */
export function liveSum(g: Gauges, now: number, staleMs: number): number {
  let sum = 0;
  for (const value of liveValues(g, now, staleMs)) sum += value;
  return sum;
}

/** The minimum over the live streams; undefined when none is live. */
export function liveMin(g: Gauges, now: number, staleMs: number): number | undefined {
  let min: number | undefined;
  for (const value of liveValues(g, now, staleMs)) min = min === undefined ? value : Math.min(min, value);
  return min;
}

function* liveValues(g: Gauges, now: number, staleMs: number): Generator<number> {
  for (const [key, s] of g.streams) {
    if (now - s.at > staleMs) g.streams.delete(key);
    else yield s.value;
  }
}
