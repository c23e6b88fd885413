import { describe, expect, it } from 'vitest';
import { T0, TestClock, aggregator, consume, exposition, fromPod, gauge, sum } from '../../support/proxy-metrics.js';

/**
 * Identity certificate expiry from Linkerd's `identity_cert_expiration_timestamp_seconds`: per
 * workload, the soonest expiry over its instances reporting now; an instance silent for
 * `gauge_stale_after` drops out, and a workload with none left has no series.
 */
const NAME = 'identity_cert_expiration_timestamp_seconds';
const expiry = (workload: string) => `meshtel_workload_identity_cert_expiration_timestamp_seconds{namespace="default",workload="${workload}"}`;
const report = (clock: TestClock, workload: string, pod: string, seconds: number) => fromPod(workload, pod, [gauge(NAME, [{ attributes: {}, value: seconds }], clock)]);

describe('golden metrics: identity certificate expiry', () => {
  it('is the soonest expiry over the instances of each workload, the latest value of each', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    const base = T0 / 1000;
    const send = (w: string, pod: string, s: number) => consume(agg, report(clock, w, pod, s));
    send('auth', 'auth-1', base + 7200);
    send('auth', 'auth-2', base + 3600);
    send('number', 'number-1', base + 86_400);
    expect((await exposition(agg)).get(expiry('auth'))).toBe(base + 3600);
    // auth-2 renews its certificate: now auth-1's is the soonest.
    send('auth', 'auth-2', base + 90_000);
    const s = await exposition(agg);
    expect(s.get(expiry('auth'))).toBe(base + 7200);
    expect(s.get(expiry('number'))).toBe(base + 86_400);
  });

  it('drops instances silent for gauge_stale_after, and the workload once none reports', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, { golden: { gauge_stale_after: '30s' } });
    consume(agg, report(clock, 'auth', 'auth-1', 2_000_000_000));
    consume(agg, report(clock, 'auth', 'auth-2', 1_900_000_000));
    clock.t += 20_000;
    consume(agg, report(clock, 'auth', 'auth-1', 2_000_000_000));
    clock.t += 20_000; // auth-2 last reported 40 s ago; auth-1 20 s ago.
    expect((await exposition(agg)).get(expiry('auth'))).toBe(2_000_000_000);
    clock.t += 20_000;
    // No series at all rather than 0, which would read as long expired.
    const s = await exposition(agg);
    expect([...s.keys()].filter((k) => k.startsWith('meshtel_workload_identity_cert'))).toEqual([]);
    expect(s.get('meshtel_series{metric="meshtel_workload_identity_cert_expiration_timestamp_seconds"}')).toBe(1);
    consume(agg, report(clock, 'auth', 'auth-2', 1_950_000_000));
    expect((await exposition(agg)).get(expiry('auth'))).toBe(1_950_000_000);
  });

  it('takes the identity from Linkerd labels like the other inputs, and skips what is not a number gauge', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock);
    consume(agg, fromPod('linkerd-proxy', 'p-1', [gauge(NAME, [{ attributes: { namespace: 'shop', deployment: 'cart' }, value: 1_900_000_000 }], clock)]));
    consume(agg, fromPod('auth', 'auth-1', [gauge(NAME, [{ attributes: {}, value: Number.NaN }], clock)]));
    // A sum is read too (some bridges turn gauges into non-monotonic sums).
    consume(agg, fromPod('number', 'number-1', [sum(NAME, [{ attributes: {}, value: 1_800_000_000 }], clock)]));
    const s = await exposition(agg);
    expect(s.get('meshtel_workload_identity_cert_expiration_timestamp_seconds{namespace="shop",workload="cart"}')).toBe(1_900_000_000);
    expect(s.get(expiry('number'))).toBe(1_800_000_000);
    expect(s.has(expiry('auth'))).toBe(false);
    expect(s.get('meshtel_golden_points_total{outcome="no_value"}')).toBe(1);
  });

  it('has a cardinality limit: further workloads go to the overflow series (the soonest of them), counted', async () => {
    const clock = new TestClock();
    const agg = aggregator(clock, { max_series_per_metric: 2 });
    for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) consume(agg, report(clock, name, `${name}-1`, 1_900_000_000 - i));
    const s = await exposition(agg);
    expect(s.get(expiry('a'))).toBe(1_900_000_000);
    expect(s.get(expiry('b'))).toBe(1_899_999_999);
    expect(s.get('meshtel_workload_identity_cert_expiration_timestamp_seconds{otel_metric_overflow="true"}')).toBe(1_899_999_997);
    const family = 'meshtel_workload_identity_cert_expiration_timestamp_seconds';
    expect(s.get(`meshtel_series{metric="${family}"}`)).toBe(2);
    expect(s.get(`meshtel_series_limit{metric="${family}"}`)).toBe(2);
    expect(s.get(`meshtel_series_overflow_total{metric="${family}"}`)).toBe(2);
  });
});
