/**
 * Faults the mesh can suffer: a proxy stopped mid-run shows up as failures on the edge into it,
 * exactly as many as the callers saw, and as connections closed with an error (the callers'
 * connects that failed) exactly as many as they saw; and after the collector restarts, the mesh's telemetry
 * reaches it again (the SDK exporters retry and keep exporting).
 */
import { afterEach, expect, it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { closedConnections, edges, RunningMesh, settled, settledClosures, startCollector } from '../support/mesh.js';
import { waitFor } from '../support/processes.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

it('a proxy stopped mid-run shows up as failures on the edge into its pod, and only there', async () => {
  const collector = await startCollector();
  cleanup.push(() => collector.shutdown());
  const mesh = await RunningMesh.start(collector.otlpAddress, { rate: 60 });
  cleanup.push(() => mesh.stop());
  await mesh.waitForAnswers(100);
  await mesh.call('POST', '/proxies/score-0/stop');
  const before = (await mesh.truth()).load.completed;
  await mesh.waitForAnswers(before + 150);
  await mesh.call('POST', '/proxies/score-0/start');
  const truth = await mesh.quiesce();
  const report = await settled(collector, truth);

  const edge = (src: string, dst: string) => report.edges.edges.find((e) => e.src.name === src && e.dst.name === dst)!;
  const truthEdge = (src: string, dst: string) => truth.edges.find((e) => e.src.name === src && e.dst.name === dst)!;
  // number's proxy could not reach score-0 for a while: those calls failed, and meshtel counts each.
  expect(truthEdge('number', 'score').failures).toBeGreaterThan(10);
  expect(edge('number', 'score').failures).toBe(truthEdge('number', 'score').failures);
  expect(edge('number', 'score').requests).toBe(truthEdge('number', 'score').requests);
  // The score pods that were reachable served everything they got; auth was never involved.
  expect(truth.workloads.find((w) => w.name === 'score')!.failures).toBe(0);
  expect(report.stat.workloads.find((w) => w.name === 'score')!.success_rate).toBe(1);
  expect(edge('student', 'auth').failures).toBe(0);
  // The failure travelled up the call chain as the applications answered it.
  expect(edge('student', 'number').failures).toBe(truthEdge('student', 'number').failures);
  expect(truthEdge('student', 'number').failures).toBeGreaterThan(0);

  // Every connect to score-0 while it was down failed: connections closed with an error on the
  // edge into score, exactly as the truth has them, and everywhere else too.
  const closures = await settledClosures(collector, mesh, () => true);
  const intoScore = closures.truth.edges.find((e) => e.src.name === 'number' && e.dst.name === 'score')!.tcp_closed;
  expect(intoScore.error).toBeGreaterThan(0);
  for (const e of closures.truth.edges) expect(closedConnections(closures.series, e.src.name, e.dst.name), `${e.src.name}->${e.dst.name}`).toEqual(e.tcp_closed);
  for (const w of closures.truth.workloads) expect(closedConnections(closures.series, w.name), w.name).toEqual(w.tcp_closed);
  // A whole mesh and its outage on two cores, beside other end-to-end files: more than the default.
}, 120_000);

it("the mesh's telemetry reaches the collector again after the collector restarts", async () => {
  let collector: Collector = await startCollector();
  const port = Number(collector.otlpAddress.split(':').pop());
  const mesh = await RunningMesh.start(collector.otlpAddress, { rate: 40 });
  cleanup.push(() => mesh.stop());
  await waitFor('edges before the restart', async () => ((await edges(collector, '1m')).edges.length >= 4 ? true : undefined));
  await collector.shutdown();

  collector = await startCollector(port);
  const restarted = collector;
  cleanup.push(() => restarted.shutdown());
  // Spans arrive at once; metrics after two exports (the first one after a restart is a baseline).
  const seen = await waitFor(
    'every edge with proxy metrics on the restarted collector',
    async () => {
      const e = (await edges(restarted, '1m')).edges;
      const proxied = e.filter((x) => x.source === 'proxy' && x.requests > 0).map((x) => `${x.src.name}->${x.dst.name}`);
      return proxied.length === 3 ? proxied.sort() : undefined;
    },
    30_000,
    250,
  );
  expect(seen).toEqual(['number->score', 'student->auth', 'student->number']);
  const metrics = await (await fetch(`http://${restarted.adminAddress}/metrics`)).text();
  expect(metrics).toMatch(/^traces_span_metrics_calls_total\{service_name="score".*\} [1-9]/m);
});
