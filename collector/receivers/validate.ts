import type { MetricsData } from '../model/metrics.js';
import type { TracesData } from '../model/traces.js';

export interface Validation {
  /** Items removed from the batch because they can never be processed. */
  invalid: number;
  /** What was wrong with the first of them, for the partial-success message. */
  message: string;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Removes spans that no backend accepts: an empty or all-zero trace id or span id (OTLP
 * requires both to be valid). They are reported in the partial success, not silently dropped.
 */
export function removeInvalidSpans(data: TracesData): Validation {
  let invalid = 0;
  let message = '';
  for (const rs of data.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      let bad = 0;
      for (const s of ss.spans) {
        if (s.traceId === '' || s.traceId === ZERO_TRACE || s.spanId === '' || s.spanId === ZERO_SPAN) bad++;
      }
      if (bad === 0) continue;
      if (message === '') message = `${bad === 1 ? 'a span' : `${bad} spans`} without a valid traceId and spanId`;
      invalid += bad;
      ss.spans = ss.spans.filter((s) => s.traceId !== '' && s.traceId !== ZERO_TRACE && s.spanId !== '' && s.spanId !== ZERO_SPAN);
    }
  }
  if (invalid > 1) message = `${invalid} spans without a valid traceId and spanId`;
  return { invalid, message };
}

/**
 * Removes data points that cannot be interpreted: points of a metric without a name, and
 * histogram points whose bucket counts do not match their bounds.
 */
export function removeInvalidPoints(data: MetricsData): Validation {
  let invalid = 0;
  let message = '';
  for (const rm of data.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        if (m.data.type === 'empty') continue;
        if (m.name === '') {
          invalid += m.data.points.length;
          message ||= 'data points of a metric without a name';
          m.data = { type: 'empty' };
          continue;
        }
        if (m.data.type === 'histogram') {
          const before = m.data.points.length;
          m.data.points = m.data.points.filter(
            (p) => p.bucketCounts.length === 0 || p.bucketCounts.length === p.explicitBounds.length + 1,
          );
          const bad = before - m.data.points.length;
          if (bad > 0) {
            invalid += bad;
            message ||= `histogram "${m.name.slice(0, 64)}" has bucketCounts that do not match its explicitBounds`;
          }
        }
      }
    }
  }
  return { invalid, message };
}
