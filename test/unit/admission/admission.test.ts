import { describe, expect, it } from 'vitest';
import { Admission, type AdmissionDecision } from '../../../collector/admission/admission.js';
import { admissionConfigSchema } from '../../../collector/admission/config.js';

const MiB = 1024 * 1024;

function setup(config: Record<string, unknown>, heap = 10 * MiB) {
  const clock = { t: 1_000_000, now() {
    return this.t;
  } };
  const state = { heap };
  const admission = new Admission(admissionConfigSchema.parse({ memory: { soft_limit: '100MiB', hard_limit: '200MiB', check_interval: '1ms' }, ...config }), clock, () => state.heap);
  return { admission, clock, state };
}

const traces = (a: Admission, groups: [string, number][], bytes = 1000, tenant?: string): AdmissionDecision =>
  a.decide('traces', groups.map(([key, items]) => ({ key, items })), bytes, tenant);

describe('Admission: per-source budgets', () => {
  const config = { per_source: { key: 'service.name', spans: { rate: 100, burst: 100 } } };

  it('takes every source within its budget', () => {
    const { admission } = setup(config);
    expect(traces(admission, [['a', 60], ['b', 100]])).toEqual({ kind: 'accept' });
  });

  it('rejects only the over-budget source of a mixed request, in a partial success naming it', () => {
    const { admission } = setup(config);
    traces(admission, [['noisy', 100]]);
    const d = traces(admission, [['quiet', 30], ['noisy', 50], ['quiet', 20]]);
    expect(d).toMatchObject({ kind: 'partial', rejected: [false, true, false], rejectedItems: 50, reason: 'rate_limited' });
    expect((d as { message: string }).message).toMatch(/50 spans of service\.name "noisy" rejected: over the rate limit of 100 spans\/s per source/);
  });

  it('refuses a request whose every source is over budget with 429 and when to retry', () => {
    const { admission, clock } = setup(config);
    traces(admission, [['noisy', 100]]);
    clock.t += 250; // 25 tokens back
    expect(traces(admission, [['noisy', 75]])).toMatchObject({ kind: 'refuse', status: 429, reason: 'rate_limited', retryAfterSeconds: 1 });
    expect(traces(admission, [['noisy', 100]])).toMatchObject({ kind: 'refuse', retryAfterSeconds: 1 });
    clock.t += 500;
    expect(traces(admission, [['noisy', 75]])).toEqual({ kind: 'accept' });
  });

  it('keys sources by tenant header when configured', () => {
    const { admission } = setup({ per_source: { key: 'tenant', spans: { rate: 10, burst: 10 } } });
    expect(admission.resourceKey).toBeUndefined();
    expect(traces(admission, [['', 10]], 1000, 'team-a')).toEqual({ kind: 'accept' });
    expect(traces(admission, [['', 10]], 1000, 'team-a')).toMatchObject({ kind: 'refuse', status: 429 });
    expect(traces(admission, [['', 10]], 1000, 'team-b')).toEqual({ kind: 'accept' });
  });

  it('shares one bucket among sources beyond max_sources, after forgetting idle ones', () => {
    const { admission, clock } = setup({ per_source: { spans: { rate: 10, burst: 10 }, max_sources: 2 } });
    traces(admission, [['a', 10]]);
    traces(admission, [['b', 10]]);
    expect(traces(admission, [['c', 10]])).toEqual({ kind: 'accept' }); // the shared bucket, full
    expect(traces(admission, [['d', 1]])).toMatchObject({ kind: 'refuse', status: 429 }); // shares c's bucket, now empty
    clock.t += 10_000; // a and b are full again: forgotten for new sources
    expect(traces(admission, [['e', 10]])).toEqual({ kind: 'accept' });
  });
});

describe('Admission: global budgets', () => {
  it('refuses over the global span budget and gives the sources their tokens back', () => {
    const { admission, clock } = setup({ spans: { rate: 100, burst: 100 }, per_source: { spans: { rate: 100, burst: 100 } } });
    expect(traces(admission, [['a', 100]])).toEqual({ kind: 'accept' });
    // b's own budget has room but the global one does not: 429, and b keeps its tokens.
    expect(traces(admission, [['b', 100]])).toMatchObject({ kind: 'refuse', status: 429, retryAfterSeconds: 1, message: expect.stringContaining("collector's rate limit of 100 spans/s") as unknown });
    clock.t += 1000;
    expect(traces(admission, [['b', 100]])).toEqual({ kind: 'accept' });
  });

  it('computes Retry-After from when the bucket will hold the request', () => {
    const { admission } = setup({ spans: { rate: 200, burst: 1000 } });
    traces(admission, [['a', 1000]]);
    expect(traces(admission, [['a', 512]])).toMatchObject({ kind: 'refuse', retryAfterSeconds: 3 }); // 2.56 s
  });

  it('limits bytes per second', () => {
    const { admission } = setup({ bytes: { rate: '1MiB' } });
    expect(traces(admission, [['a', 1]], MiB)).toEqual({ kind: 'accept' });
    expect(traces(admission, [['a', 1]], MiB / 2)).toMatchObject({ kind: 'refuse', status: 429, message: expect.stringContaining('bytes/s') as unknown });
  });

  it('limits metric points separately from spans', () => {
    const { admission } = setup({ metric_points: { rate: 10, burst: 10 } });
    expect(admission.decide('metrics', [{ key: '', items: 10 }], 100, undefined)).toEqual({ kind: 'accept' });
    expect(admission.decide('metrics', [{ key: '', items: 1 }], 100, undefined)).toMatchObject({ kind: 'refuse', message: expect.stringContaining('metric points/s') as unknown });
    expect(traces(admission, [['a', 1000]])).toEqual({ kind: 'accept' });
  });
});

describe('Admission: memory', () => {
  it('refuses with 503 above the soft limit, Retry-After growing towards the hard limit', () => {
    const { admission, state, clock } = setup({});
    // The heap is measured at most every check_interval (1 ms here): time moves between steps.
    state.heap = 101 * MiB;
    expect(traces(admission, [['a', 1]])).toMatchObject({ kind: 'refuse', status: 503, reason: 'memory_limited', retryAfterSeconds: 2 });
    clock.t += 10;
    state.heap = 190 * MiB;
    expect(traces(admission, [['a', 1]])).toMatchObject({ kind: 'refuse', retryAfterSeconds: 5 });
    clock.t += 10;
    state.heap = 50 * MiB;
    expect(traces(admission, [['a', 1]])).toEqual({ kind: 'accept' });
  });

  it('refuses a body whose decoded size could pass the hard limit, and reserves what it takes', () => {
    const { admission, state } = setup({});
    state.heap = 90 * MiB;
    // 20 MiB of body is reckoned 160 MiB decoded: 250 MiB > 200 MiB.
    expect(traces(admission, [['a', 1]], 20 * MiB)).toMatchObject({ kind: 'refuse', status: 503 });
    expect(traces(admission, [['a', 1]], MiB)).toEqual({ kind: 'accept' });
    // 8 MiB are now reserved until released: 90 + 8 stays under the soft limit, 90 + 16 would not.
    expect(traces(admission, [['a', 1]], MiB)).toEqual({ kind: 'accept' });
    expect(traces(admission, [['a', 1]], MiB)).toMatchObject({ kind: 'refuse', status: 503 });
    admission.release(MiB);
    admission.release(MiB);
    expect(traces(admission, [['a', 1]], MiB)).toEqual({ kind: 'accept' });
  });

  it('refuses before reading a body the heap could not hold', () => {
    const { admission, state, clock } = setup({});
    state.heap = 150 * MiB;
    expect(admission.beforeBody(20 * MiB)).toMatchObject({ kind: 'refuse', status: 503 });
    clock.t += 10;
    state.heap = 10 * MiB;
    expect(admission.beforeBody(20 * MiB)).toBeUndefined();
    // beforeBody reserves nothing.
    expect(traces(admission, [['a', 1]], 11 * MiB)).toEqual({ kind: 'accept' });
  });

  it('refuses a configuration whose soft limit is not below its hard limit', () => {
    expect(() => new Admission(admissionConfigSchema.parse({ memory: { soft_limit: '2GiB', hard_limit: '1GiB' } }), { now: () => 0 })).toThrow(/soft_limit .* must be below hard_limit/);
  });
});
