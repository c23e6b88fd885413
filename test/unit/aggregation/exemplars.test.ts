import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../../collector/aggregation/aggregator.js';
import { Temporality, type Exemplar, type Metric } from '../../../collector/model/metrics.js';
import { SpanKind, type TracesData } from '../../../collector/model/traces.js';
import { PrometheusExporter } from '../../../exporters/prometheus/exporter.js';
import { parseOpenMetrics, type ExemplarSample } from '../../golden/exposition.js';
import { T0, TestClock, aggregator, consume, fromPod, ns } from '../../support/proxy-metrics.js';
import { SCOPE, span, spanId, traceId } from '../exporters/spans.js';

/**
 * Exemplars: each bucket of the span-derived histograms keeps the latest traced request that fell
 * in it, a series takes at most one a second, and the golden latency histograms keep the
 * proxies' own exemplars. Read back through the OpenMetrics exposition, as Prometheus reads them.
 */
const BUCKETS = { histogram_buckets: ['5ms', '50ms'] };
const CONFIG = { span_metrics: BUCKETS, service_graph: BUCKETS, golden: BUCKETS };

interface SpanSpec {
  service: string;
  trace: number;
  /** The span's number in its trace; span 0 is the root, every other span its child. */
  span: number;
  kind: SpanKind;
  ms: number;
}

/** One resource (the service) per span, every span named `GET /`. */
function traces(...specs: SpanSpec[]): TracesData {
  return {
    resourceSpans: specs.map((x) => ({
      resource: { attributes: [{ key: 'service.name', value: x.service }], droppedAttributesCount: 0 },
      scopeSpans: [{ scope: SCOPE, spans: [span(x.trace, x.span, { kind: x.kind, ms: x.ms, name: 'GET /' })], schemaUrl: '' }],
      schemaUrl: '',
    })),
  };
}

function consumeSpans(agg: Aggregator, ...specs: SpanSpec[]): void {
  const data = traces(...specs);
  agg.consumeTraces({ data, items: specs.length, source: { receiver: 'test' } });
}

async function exemplars(agg: Aggregator): Promise<Map<string, ExemplarSample>> {
  const exporter = new PrometheusExporter(new Registry(), agg.families(), 'test');
  try {
    return parseOpenMetrics(await exporter.render('openmetrics')).exemplars;
  } finally {
    exporter.shutdown();
  }
}

const SPAN_BUCKET = (le: string) =>
  `traces_span_metrics_duration_milliseconds_bucket{le="${le}",service_name="auth",span_kind="SPAN_KIND_SERVER",span_name="GET /",status_code="STATUS_CODE_UNSET"}`;
const link = (trace: number, s: number) => ({ trace_id: traceId(trace), span_id: spanId(trace, s) });

describe('exemplars', () => {
  it('span metrics keep the latest request per bucket, at most one per series per second', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, CONFIG);
    const server = (trace: number, ms: number): SpanSpec => ({ service: 'auth', trace, span: 1, kind: SpanKind.SERVER, ms });
    clock.t = T0 + 1000;
    consumeSpans(agg, server(1, 3), server(2, 40)); // the second is within the same second: not kept
    clock.t = T0 + 1999;
    consumeSpans(agg, server(3, 40));
    clock.t = T0 + 2000;
    consumeSpans(agg, server(4, 40));

    const x = await exemplars(agg);
    expect(x.get(SPAN_BUCKET('5'))).toEqual({ labels: link(1, 1), value: 3, timestamp: (T0 + 1000) / 1000 });
    expect(x.get(SPAN_BUCKET('50'))).toEqual({ labels: link(4, 1), value: 40, timestamp: (T0 + 2000) / 1000 });
    expect(x.has(SPAN_BUCKET('+Inf'))).toBe(false);
  });

  it('service-graph latency histograms link each side to its own span', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, CONFIG);
    clock.t = T0 + 1000;
    consumeSpans(agg, { service: 'web', trace: 7, span: 0, kind: SpanKind.CLIENT, ms: 60 }, { service: 'auth', trace: 7, span: 1, kind: SpanKind.SERVER, ms: 20 });

    const x = await exemplars(agg);
    const edge = 'client="web",client_namespace="default",connection_type="",le="+Inf",server="auth",server_namespace="default",tls="false"';
    expect(x.get(`traces_service_graph_request_client_seconds_bucket{${edge}}`)).toEqual({ labels: link(7, 0), value: 0.06, timestamp: (T0 + 1000) / 1000 });
    const serverBucket = edge.replace('le="+Inf"', 'le="0.05"');
    expect(x.get(`traces_service_graph_request_server_seconds_bucket{${serverBucket}}`)).toEqual({ labels: link(7, 1), value: 0.02, timestamp: (T0 + 1000) / 1000 });
  });

  it("golden latency histograms keep the proxy's own exemplars of traced requests, in seconds", async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, CONFIG);
    clock.t = T0 + 2000;
    const exemplar = (trace: string, span: string, ms: number): Exemplar => ({ filteredAttributes: [], timeUnixNano: ns(T0 + 1500), value: ms, traceId: trace, spanId: span });
    const latency: Metric = {
      name: 'response_latency_ms',
      description: '',
      unit: 'ms',
      metadata: [],
      data: {
        type: 'histogram',
        temporality: Temporality.DELTA,
        points: [
          {
            attributes: [{ key: 'direction', value: 'inbound' }],
            startTimeUnixNano: ns(T0 + 1000),
            timeUnixNano: ns(T0 + 2000),
            count: 3,
            sum: 70,
            bucketCounts: [1, 1, 1],
            explicitBounds: [5, 50],
            min: undefined,
            max: undefined,
            flags: 0,
            // The unsampled request (zero trace id) has no trace to link to.
            exemplars: [exemplar(traceId(5), spanId(5, 6), 4), exemplar('0'.repeat(32), spanId(8, 0), 30), exemplar(traceId(9), spanId(9, 10), 36)],
          },
        ],
      },
    };
    consume(agg, fromPod('auth', 'auth-1', [latency]));

    const x = await exemplars(agg);
    const bucket = (le: string) => `meshtel_workload_request_duration_seconds_bucket{le="${le}",namespace="default",workload="auth"}`;
    expect(x.get(bucket('0.005'))).toEqual({ labels: link(5, 6), value: 0.004, timestamp: (T0 + 2000) / 1000 });
    expect(x.get(bucket('0.05'))).toEqual({ labels: link(9, 10), value: 0.036, timestamp: (T0 + 2000) / 1000 });
    expect(x.has(bucket('+Inf'))).toBe(false);
  });
});
