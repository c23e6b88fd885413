/**
 * Accuracy: the example mesh knows exactly what traffic it made (every proxy records every
 * request it handled and every connection that closed); after a run, meshtel stat and edges must
 * agree with that truth: request and failure counts exact, secured flags right, p50/p95/p99
 * within one histogram bucket, closed connections exact; and the certificate expiry is the one
 * the mesh issued (short-lived, `--cert-validity 2h`). Both proxy modes, with faults injected so
 * that there are failures to count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketIndex, quantile } from '../../collector/aggregation/histogram.js';
import { aggregationConfigSchema } from '../../collector/aggregation/config.js';
import type { Collector } from '../../collector/collector.js';
import type { Percentiles, Truth } from '../../demo/truth.js';
import { parseSeries } from '../golden/exposition.js';
import { RunningMesh, closedConnections, settled, settledClosures, startCollector } from '../support/mesh.js';

/** The latency buckets meshtel's percentiles are interpolated in, in milliseconds. */
const BUCKETS_MS = aggregationConfigSchema.parse({}).golden.histogram_buckets;

function withinOneBucket(actual: { p50: number | null; p95: number | null; p99: number | null }, truth: Percentiles): void {
  for (const q of ['p50', 'p95', 'p99'] as const) {
    const a = actual[q];
    const t = truth[q];
    expect(a, q).not.toBeNull();
    const distance = Math.abs(bucketIndex(BUCKETS_MS, a!) - bucketIndex(BUCKETS_MS, t!));
    expect(distance, `${q}: meshtel ${a} ms, truth ${t} ms`).toBeLessThanOrEqual(1);
  }
}

interface Run {
  truth: Truth;
  report: Awaited<ReturnType<typeof settled>>;
  /** The collector's exposition after the run. */
  series: Map<string, number>;
  /** The truth and the exposition once idle connections have closed and meshtel agrees on them. */
  closures: Awaited<ReturnType<typeof settledClosures>>;
  /** When the mesh was started, and when it was ready (its certificates were issued between), in ms. */
  started: { before: number; after: number };
}

const CERT_VALIDITY_S = 2 * 3600;

async function run(mode: 'sidecar' | 'node'): Promise<Run> {
  const collector: Collector = await startCollector();
  cleanup.push(() => collector.shutdown());
  const before = Date.now();
  const mesh = await RunningMesh.start(collector.otlpAddress, { mode, rate: 60, faults: ['auth:error=0.15', 'score:error=0.1,latency=3'], certValidity: '2h' });
  const started = { before, after: Date.now() };
  cleanup.push(() => mesh.stop());
  await mesh.waitForAnswers(300);
  const truth = await mesh.quiesce();
  const report = await settled(collector, truth);
  const series = parseSeries(await (await fetch(`http://${collector.adminAddress}/metrics`)).text());
  // The load generator's idle keep-alive connections into student close once the load stops.
  const closures = await settledClosures(collector, mesh, (t) => t.workloads.find((w) => w.name === 'student')!.tcp_closed.ok > 0);
  return { truth, report, series, closures, started };
}

/** p50/p95/p99 in ms of one edge's `meshtel_edge_request_duration_seconds` histogram. */
function edgePercentiles(series: Map<string, number>, src: string, dst: string): Percentiles {
  const labels = `dst_namespace="default",dst_workload="${dst}",le="LE",src_namespace="default",src_workload="${src}"`;
  const bounds = BUCKETS_MS.map((ms) => ms / 1000);
  const cumulative = [...bounds.map(String), '+Inf'].map((le) => series.get(`meshtel_edge_request_duration_seconds_bucket{${labels.replace('LE', le)}}`) ?? NaN);
  const counts = cumulative.map((c, i) => c - (i === 0 ? 0 : cumulative[i - 1]!));
  const at = (q: number) => quantile(q, bounds, counts)! * 1000;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe.each(['sidecar', 'node'] as const)('%s proxies: meshtel agrees with the ground truth', (mode) => {
  let result: Run;
  beforeAll(async () => {
    result = await run(mode);
  });

  it('per workload: requests and failures exact, meshed, latency within a bucket', () => {
    const { truth, report } = result;
    expect(truth.load.completed).toBeGreaterThanOrEqual(300);
    expect(truth.workloads.map((w) => w.name)).toEqual(['auth', 'number', 'score', 'student']);
    // Faults were injected: there must be failures to count, and the cascade reaches student.
    expect(truth.workloads.find((w) => w.name === 'auth')!.failures).toBeGreaterThan(0);
    expect(truth.workloads.find((w) => w.name === 'student')!.failures).toBeGreaterThan(0);

    for (const t of truth.workloads) {
      const w = report.stat.workloads.find((x) => x.name === t.name);
      expect(w, t.name).toBeDefined();
      expect({ name: w!.name, namespace: w!.namespace, requests: w!.requests, failures: Math.round(w!.requests * (1 - w!.success_rate!)), meshed: w!.meshed, source: w!.source }).toEqual({
        name: t.name,
        namespace: 'default',
        requests: t.requests,
        failures: t.failures,
        meshed: true,
        source: 'proxy',
      });
      withinOneBucket(w!.latency_ms, t.latency_ms);
      expect(w!.tcp_connections).toBeGreaterThanOrEqual(1);
    }
    // Bytes over the workloads' connections, both ways, as their proxies report them.
    for (const t of truth.workloads) {
      for (const direction of ['received', 'sent']) {
        expect(result.series.get(`meshtel_workload_tcp_bytes_total{direction="${direction}",namespace="default",workload="${t.name}"}`), `${t.name} ${direction}`).toBeGreaterThan(0);
      }
    }
    // student is called by the unmeshed load generator in plaintext; everything else over mTLS.
    expect(truth.workloads.find((w) => w.name === 'student')!.secured).toBe(0);
    for (const w of truth.workloads.filter((x) => x.name !== 'student')) expect(w.secured).toBe(w.requests);
  });

  it('closed TCP connections exact per workload and per edge; certificate expiry as issued', () => {
    const { truth, series } = result.closures;
    for (const w of truth.workloads) expect(closedConnections(series, w.name), w.name).toEqual(w.tcp_closed);
    for (const e of truth.edges) expect(closedConnections(series, e.src.name, e.dst.name), `${e.src.name}->${e.dst.name}`).toEqual(e.tcp_closed);
    expect(truth.workloads.find((w) => w.name === 'student')!.tcp_closed.ok).toBeGreaterThan(0);

    // Every instance's certificate was issued at start for 2 hours (notAfter in whole seconds).
    const { before, after } = result.started;
    for (const w of truth.workloads) {
      const expiry = series.get(`meshtel_workload_identity_cert_expiration_timestamp_seconds{namespace="default",workload="${w.name}"}`);
      expect(expiry, w.name).toBeGreaterThanOrEqual(Math.floor(before / 1000) + CERT_VALIDITY_S);
      expect(expiry, w.name).toBeLessThanOrEqual(after / 1000 + CERT_VALIDITY_S);
    }
  });

  it('per edge: requests and failures exact, secured flags right, latency within a bucket', () => {
    const { truth, report, series } = result;
    expect(truth.edges.map((e) => `${e.src.name}->${e.dst.name}`)).toEqual(['number->score', 'student->auth', 'student->number']);
    for (const t of truth.edges) {
      const e = report.edges.edges.find((x) => x.src.name === t.src.name && x.dst.name === t.dst.name);
      expect(e, `${t.src.name}->${t.dst.name}`).toBeDefined();
      expect({ src: e!.src, dst: e!.dst, requests: e!.requests, failures: e!.failures, secured: e!.secured, source: e!.source }).toEqual({
        src: t.src,
        dst: t.dst,
        requests: t.requests,
        failures: t.failures,
        secured: true,
        source: 'proxy',
      });
      withinOneBucket(edgePercentiles(series, t.src.name, t.dst.name), t.latency_ms);
    }
    expect(truth.edges.every((e) => e.secured)).toBe(true);
    // The unmeshed load generator appears from spans as the virtual client "user", not secured.
    const user = report.edges.edges.find((x) => x.src.name === 'user');
    expect(user).toMatchObject({ src: { name: 'user', virtual: true }, dst: { name: 'student' }, secured: false, source: 'spans' });
    expect(user!.requests).toBe(truth.workloads.find((w) => w.name === 'student')!.requests);
  });
});
