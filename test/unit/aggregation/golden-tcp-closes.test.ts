import { describe, expect, it } from 'vitest';
import { Temporality } from '../../../collector/model/metrics.js';
import { T0, TestClock, aggregator, consume, exposition, fromPod, sum, type PointSpec } from '../../support/proxy-metrics.js';

/**
 * Closed TCP connections from Linkerd's `tcp_close_total{errno}`: per workload from inbound
 * points (`peer="src"`), per edge from outbound ones (`peer="dst"`), `outcome` ok when `errno`
 * is empty or absent and error otherwise, cumulative streams turned into increases.
 */
const inbound = (errno: string | undefined, value: number, extra: Partial<PointSpec> = {}): PointSpec => ({
  attributes: { direction: 'inbound', peer: 'src', tls: 'true', ...(errno === undefined ? {} : { errno }) },
  value,
  ...extra,
});
const outbound = (dst: string, errno: string, value: number): PointSpec => ({
  attributes: { direction: 'outbound', peer: 'dst', tls: 'true', dst_namespace: 'default', dst_deployment: dst, errno },
  value,
});
const workload = (name: string, outcome: string) => `meshtel_workload_tcp_closed_connections_total{namespace="default",outcome="${outcome}",workload="${name}"}`;
const edge = (src: string, dst: string, outcome: string) =>
  `meshtel_edge_tcp_closed_connections_total{dst_namespace="default",dst_workload="${dst}",outcome="${outcome}",src_namespace="default",src_workload="${src}"}`;

describe('golden metrics: closed TCP connections', () => {
  it('classifies by errno (empty or absent is ok), sums instances, and keeps inbound and outbound apart', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    clock.t = T0 + 2000;
    consume(agg, fromPod('auth', 'auth-1', [sum('tcp_close_total', [inbound('', 5), inbound('ECONNRESET', 2), outbound('number', 'ECONNREFUSED', 3), outbound('number', '', 1)], clock)]));
    // Without the _total suffix and without errno at all; a numeric errno is an error too.
    consume(agg, fromPod('auth', 'auth-2', [sum('tcp_close', [inbound(undefined, 4), inbound('ECONNRESET', 1), { attributes: { direction: 'inbound', peer: 'src', errno: 111 }, value: 2 }], clock)]));

    const s = await exposition(agg);
    expect(s.get(workload('auth', 'ok'))).toBe(9);
    expect(s.get(workload('auth', 'error'))).toBe(5);
    expect(s.get(edge('auth', 'number', 'error'))).toBe(3);
    expect(s.get(edge('auth', 'number', 'ok'))).toBe(1);
    expect(s.get('meshtel_golden_points_total{outcome="used"}')).toBe(7);
  });

  it("ignores the proxy's other side of a connection (inbound peer=dst, outbound peer=src)", async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    const appSide = { attributes: { direction: 'inbound', peer: 'dst', errno: '' }, value: 7 };
    const clientSide = { attributes: { direction: 'outbound', peer: 'src', dst_deployment: 'number', errno: '' }, value: 7 };
    consume(agg, fromPod('auth', 'auth-1', [sum('tcp_close_total', [appSide, clientSide, inbound('', 1)], clock)]));

    const s = await exposition(agg);
    expect(s.get(workload('auth', 'ok'))).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith('meshtel_edge_tcp_closed'))).toEqual([]);
    expect(s.get('meshtel_golden_points_total{outcome="other_peer"}')).toBe(2);
  });

  it('counts increases of cumulative streams: baseline for streams older than the collector, resets counted whole', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    const old = { startMs: T0 - 3_600_000 };
    const send = (ok: number, error: number, oldError: number, extra: Partial<PointSpec> = {}) => {
      clock.t += 1000;
      consume(agg, fromPod('auth', 'auth-1', [sum('tcp_close_total', [inbound('', ok, extra), inbound('ECONNRESET', error, extra)], clock)]));
      consume(agg, fromPod('legacy', 'legacy-1', [sum('tcp_close_total', [inbound('EPIPE', oldError, old)], clock)]));
    };
    send(3, 1, 100); // auth counts whole (started after the collector); legacy is the baseline.
    send(10, 1, 104); // +7 ok, +0 error; legacy +4.
    send(2, 1, 104); // ok went down: a restarted proxy, its new value (2) counts whole.
    send(1, 1, 105, { startMs: T0 + 5000 }); // a new start time: both count whole (1 and 1).

    const s = await exposition(agg);
    expect(s.get(workload('auth', 'ok'))).toBe(3 + 7 + 2 + 1);
    expect(s.get(workload('auth', 'error'))).toBe(1 + 0 + 0 + 1);
    expect(s.get(workload('legacy', 'error'))).toBe(5);
    expect(s.get('meshtel_golden_points_total{outcome="baseline"}')).toBe(1);
    expect(s.get('meshtel_golden_stream_resets_total')).toBe(3);
  });

  it('adds delta points as they come', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    for (let i = 0; i < 3; i++) {
      clock.t += 1000;
      consume(agg, fromPod('student', 'student-1', [sum('tcp_close_total', [outbound('auth', 'ECONNRESET', 2)], clock, Temporality.DELTA)]));
    }
    expect((await exposition(agg)).get(edge('student', 'auth', 'error'))).toBe(6);
  });

  it('has a cardinality limit per family: further label sets go to the overflow series, counted', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, { max_series_per_metric: 2 });
    for (const name of ['a', 'b', 'c']) consume(agg, fromPod(name, `${name}-1`, [sum('tcp_close_total', [inbound('ECONNRESET', 4), outbound('z', '', 1)], clock)]));

    const s = await exposition(agg);
    expect(s.get(workload('a', 'error'))).toBe(4);
    expect(s.get(workload('b', 'error'))).toBe(4);
    expect(s.get('meshtel_workload_tcp_closed_connections_total{otel_metric_overflow="true"}')).toBe(4);
    expect(s.get('meshtel_edge_tcp_closed_connections_total{otel_metric_overflow="true"}')).toBe(1);
    for (const family of ['meshtel_workload_tcp_closed_connections', 'meshtel_edge_tcp_closed_connections']) {
      expect(s.get(`meshtel_series{metric="${family}"}`)).toBe(2);
      expect(s.get(`meshtel_series_limit{metric="${family}"}`)).toBe(2);
      expect(s.get(`meshtel_series_overflow_total{metric="${family}"}`)).toBe(1);
    }
  });
});
