import { cpus } from 'node:os';
import { dec, int } from './measure/format.js';
import type { GcStats } from './measure/gc.js';
import type { BenchOptions } from './options.js';
import { exportReportLines } from './scenarios/export.js';
import { OVERLOAD } from './scenarios/overload.js';
import { kafkaReportLines } from './scenarios/kafka.js';
import type { BenchResult, IngestRun, Memory, MeshSummary, OverloadRun, RateRun, RenderRun } from './results.js';

/** The targets of the issue, on one core. */
export const TARGETS = { spansPerSecond: 150_000, rssMiB: 200, renderMs: 100, renderSeries: 10_000, refusalP99Ms: 2 };

const mib = (n: number) => `${dec(n, 0)} MiB`;

/** Aligned columns: the first left-aligned, the others right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function meshLines(mesh: MeshSummary): string[] {
  return [
    `  mesh: ${mesh.services} services in ${mesh.namespaces} namespaces on ${mesh.nodes} nodes, ${int(mesh.edges)} service-graph edges exercised`,
    `  batch: ${mesh.batchSize} spans, ${dec(mesh.attributesPerSpan)} attributes/span, ${dec(mesh.resourcesPerBatch)} resources (pods), ` +
      `${dec(mesh.bytesPerBatch / 1024)} KiB, ${dec(mesh.errorRatio * 100)}% errors`,
    `  ${mesh.batches} distinct batches resent round-robin with fresh trace ids (built in ${int(mesh.generationMs)} ms)`,
  ];
}

function ingestRows(runs: IngestRun[]): string[][] {
  return runs.map((r) => [
    r.label,
    int(r.load.itemsPerSecond),
    dec(r.load.requestsPerSecond),
    dec(r.load.latencyMs.p50, 2),
    dec(r.load.latencyMs.p99, 2),
    dec(r.load.cpu, 2),
    mib(r.load.peak.rss),
    mib(r.afterGc.rss),
    r.load.failed === 0 ? '0' : `${int(r.load.failed)} !`,
  ]);
}

const INGEST_HEADER = ['path', 'spans/s', 'req/s', 'p50 ms', 'p99 ms', 'CPU cores', 'peak RSS', 'RSS after GC', 'non-200'];

function stateLine(run: IngestRun): string | undefined {
  const s = run.state;
  if (s === undefined) return undefined;
  return (
    `  aggregation after "${run.label}": ${int(s.edgeSeries)} edge series, ${int(s.spanMetricSeries)} span-metric series, ` +
    `${int(s.pending)} half-edges pending, ${int(s.dropped)} dropped, ${int(s.unpaired)} unpaired, ${int(s.duplicates)} duplicates`
  );
}

/** Where the RSS of a run went: V8 heap (reserved / used) and Buffers, at the peak and after GC. */
function memoryLines(run: IngestRun): string[] {
  const parts = (m: Memory) => `RSS ${mib(m.rss)} = V8 heap ${mib(m.heapTotal)} (${mib(m.heapUsed)} used) + ${mib(m.external)} external + rest`;
  return [
    `  memory of "${run.label}" (idle before the load: RSS ${mib(run.rssBefore)}):`,
    `    at peak RSS: ${parts(run.load.peak)}`,
    `    after GC:    ${parts(run.afterGc)}`,
  ];
}

function renderRows(renders: RenderRun[]): string[][] {
  return renders.map((r) => [r.label, dec(r.latencyMs.p50, 1), dec(r.latencyMs.p99, 1), String(r.latencyMs.samples), int(r.series), int(r.lines), dec(r.bytes / 1024, 0)]);
}

const RENDER_HEADER = ['path', 'p50 ms', 'p99 ms', 'renders', 'series', 'lines', 'KiB'];

function rateRows(runs: RateRun[]): string[][] {
  return runs.map((r) => [r.label, int(r.itemsPerSecond), dec(r.bytesPerSecond / 1e6, 1), dec(r.msPerBatch, 3)]);
}

/** Spans/s the collector would sustain without the client's cost (times per span add up on one thread). */
export function netOfClient(withClient: number, clientAlone: number): number {
  return 1 / (1 / withClient - 1 / clientAlone);
}

/** Share of the CPUs other processes kept busy just before and just after the run (0..1). */
export interface MachineLoad {
  before: number;
  after: number;
}

/**
 * The whole report, or the sections of the scenarios that ran. Other busy processes make every
 * number lower: `load` says whether there were any.
 */
export function formatReport(results: BenchResult[], options: BenchOptions, load?: MachineLoad): string {
  const out: string[] = [];
  const cpu = cpus();
  const busy = load === undefined ? '' : `; CPUs busy before/after the run: ${dec(load.before * 100, 0)}% / ${dec(load.after * 100, 0)}%`;
  const noisy = load !== undefined && Math.max(load.before, load.after) > 0.1;
  out.push(
    `meshtel benchmark: node ${process.version}, ${process.platform} ${process.arch}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}${busy}`,
    ...(noisy ? ['WARNING: other processes were using the CPUs: numbers may be low and noisy; rerun on an idle machine'] : []),
    `${options.quick ? 'QUICK smoke run (numbers are rough)' : 'full run'}: ${dec(options.warmupMs / 1000)} s warm-up, ` +
      `${dec(options.durationMs / 1000)} s measured per load run, ${options.concurrency} requests in flight (closed loop), each scenario in a fresh process`,
    '',
  );

  const ingest = results.filter((r) => r.scenario === 'ingest');
  const ingestRuns = ingest.flatMap((r) => r.runs);
  if (ingest[0] !== undefined) {
    out.push('Ingest: POST /v1/traces, OTLP/protobuf from the official serializer (@opentelemetry/otlp-transformer)', ...meshLines(ingest[0].mesh));
    out.push(...table(INGEST_HEADER, ingestRows(ingestRuns)));
    for (const r of ingestRuns) {
      const line = stateLine(r);
      if (line !== undefined) out.push(line);
    }
    const remote = ingestRuns.find((r) => r.label.includes('another process'));
    if (remote !== undefined) out.push(...memoryLines(remote));
    const decoders = results.find((r) => r.scenario === 'decode')?.runs.slice(0, 2) ?? [];
    if (decoders.length > 0) {
      out.push(`  baseline, decoding the same payloads only (details below): ${decoders.map((d) => `${d.label} ${int(d.itemsPerSecond)} spans/s`).join(', ')}`);
    }
    out.push(
      '  "client in another process": the collector runs alone in its process (its own core); CPU and RSS are that process\'s.',
      '  "client in this process": one Node thread runs the client and the collector, so that row includes the client\'s own',
      '  cost (fetch, request framing, its garbage in the same heap); the "client alone" row measures it against a server that',
      '  only reads the body. inject() skips sockets and HTTP parsing (light-my-request builds the request in memory).',
      '  Latency: per request, with the others in flight, so it includes queueing. CPU: all threads of the process (GC helpers too).',
      '',
    );
  }

  const decode = results.find((r) => r.scenario === 'decode');
  if (decode !== undefined) {
    out.push('Decode and aggregate alone: the same payloads, no HTTP, synchronous loop');
    out.push(...table(['step', 'spans/s', 'MB/s', 'ms/batch'], rateRows(decode.runs)), '');
  }

  const golden = results.find((r) => r.scenario === 'metrics');
  if (golden !== undefined) {
    out.push(
      'Proxy metrics (the golden-metrics path), decode and aggregate alone: no HTTP, synchronous loop',
      `  ${golden.proxies} proxies (the ingest mesh's pods), ${golden.payloads} exports of ${dec(golden.pointsPerPayload, 0)} data points ` +
        `(${dec(golden.bytesPerPayload / 1024, 1)} KiB) each: Linkerd's metric names, recorded through the OTel metrics SDK, serialized by ` +
        `@opentelemetry/otlp-transformer (generated in ${dec(golden.generationMs / 1000, 1)} s)`,
      ...table(['step', 'points/s', 'MB/s', 'ms/export'], rateRows(golden.runs)),
      '',
    );
  }

  const edges = results.find((r) => r.scenario === 'edges');
  if (edges !== undefined) {
    out.push('1,000 service-graph edges: collector under load over HTTP', ...meshLines(edges.mesh));
    out.push(...table(INGEST_HEADER, ingestRows([edges.run])));
    const line = stateLine(edges.run);
    if (line !== undefined) out.push(line);
    out.push(...memoryLines(edges.run));
    out.push('  /metrics at this size:', ...table(RENDER_HEADER, renderRows(edges.renders)), '');
  }

  const render = results.find((r) => r.scenario === 'render');
  if (render !== undefined) {
    out.push(
      `/metrics with ~${int(TARGETS.renderSeries)} series: every payload of a ${render.mesh.services}-service mesh sent once, collector idle`,
      `  aggregation: ${int(render.state.edgeSeries)} edge series, ${int(render.state.spanMetricSeries)} span-metric series; ` +
        '"series" below are the sample lines of the exposition (each histogram bucket is one)',
    );
    out.push(...table(RENDER_HEADER, renderRows(render.renders)), '');
  }

  const overload = results.find((r) => r.scenario === 'overload');
  if (overload !== undefined) out.push(...overloadLines(overload.run, overload.control, overload.mesh));

  const exported = results.find((r) => r.scenario === 'export');
  if (exported !== undefined) out.push(...exportReportLines(exported));

  const kafka = results.find((r) => r.scenario === 'kafka');
  if (kafka !== undefined) out.push(...kafkaReportLines(kafka));

  const verdicts = verdictLines(ingestRuns, edges?.run, render?.renders ?? [], overload);
  if (verdicts.length > 0) out.push('Targets (collector on one core)', ...verdicts);
  return out.join('\n');
}

/** One target: `MET` or `NOT MET`, what it asks, what was measured, and details on a second line. */
function verdict(met: boolean, target: string, measured: string, details: string[] = []): string[] {
  const head = `  ${(met ? 'MET' : 'NOT MET').padEnd(8)} ${target}: ${measured}`;
  return details.length === 0 ? [head] : [head, `           (${details.join('; ')})`];
}

/** The overload section: what was offered, taken and refused, how fast refusing was, and memory; and the control. */
function overloadLines(run: OverloadRun, control: OverloadRun, mesh: MeshSummary): string[] {
  const c = run.counters;
  const counted = c.accepted === run.clientAccepted && c.rateLimited === run.clientRefused && c.received === c.accepted + c.rateLimited + c.memoryLimited;
  return [
    `Overload: ${int(run.offeredSpansPerSecond)} spans/s offered, open loop, to a collector whose global admission limit (its capacity here) is ` +
      `${int(OVERLOAD.capacity)} spans/s`,
    `  requests of ${mesh.batchSize} spans (${dec(mesh.bytesPerBatch / 1024)} KiB) sent on schedule whether or not earlier ones were answered`,
    ...table(
      ['path', 'offered spans/s', 'accepted spans/s', 'refused spans/s', 'refusal p50 ms', 'refusal p99 ms', 'accepted p99 ms', 'CPU cores', 'peak RSS', 'other'],
      [run, control].map((r) => [
        r.label,
        int(r.offeredSpansPerSecond),
        int(r.acceptedSpansPerSecond),
        int(r.refusedSpansPerSecond),
        dec(r.refusalMs.p50, 2),
        dec(r.refusalMs.p99, 2),
        r.acceptedMs.samples > 0 ? dec(r.acceptedMs.p99, 2) : '-',
        dec(r.cpu, 2),
        mib(r.peak.rss),
        r.other === 0 ? '0' : `${int(r.other)} !`,
      ]),
    ),
    `  the receiver's own time per answer (body read, counted, answered): refusals p50 ${dec(run.serverRefusalMs.p50, 3)} ms, p99 ${dec(run.serverRefusalMs.p99, 3)} ms; ` +
      `accepted requests p50 ${dec(run.serverAcceptedMs.p50, 2)} ms, p99 ${dec(run.serverAcceptedMs.p99, 2)} ms; in the control: refusals p99 ${dec(control.serverRefusalMs.p99, 3)} ms`,
    `  the collector's garbage collections: ${gcLine(run.gc)}; in the control: ${gcLine(control.gc)}`,
    `  ${int(run.refusalMs.samples)} refusals (429, Retry-After ${run.retryAfter[0]}..${run.retryAfter[1]} s), ${int(run.acceptedMs.samples)} requests accepted; ` +
      `${int(run.sentSpansPerSecond)} spans/s actually sent (the rest skipped: too many requests in flight)`,
    `  the collector counted ${int(c.received)} spans received = ${int(c.accepted)} accepted + ${int(c.rateLimited)} refused rate_limited + ${int(c.memoryLimited)} memory_limited: ` +
      (counted ? 'the same as the client saw' : `NOT what the client saw (${int(run.clientAccepted)} accepted, ${int(run.clientRefused)} refused)`),
    `  memory of the collector (idle before the load: RSS ${mib(run.rssBefore)}): at peak RSS ${mib(run.peak.rss)} = V8 heap ${mib(run.peak.heapTotal)} ` +
      `(${mib(run.peak.heapUsed)} used) + ${mib(run.peak.external)} external + rest; after GC ${mib(run.afterGc.rss)}`,
    '  Response times in the table are the client\'s (node:http, keep-alive): they include its own cost and any wait behind an',
    "  accepted request the collector was decoding at the time (one thread), and the garbage collections accepted batches cause.",
    '  Major collections during the load (more than a few) mark a run in the state bench/README.md describes, with a p99 near 10 ms.',
    `  The control sends the same load to a collector that accepts nothing (capacity ${OVERLOAD.controlCapacity} span/s): its client-side refusal times are`,
    "  what this machine's client, loopback and shared cores cost, the floor under the first row's. The receiver's own time starts",
    '  once a request\'s headers are parsed: it leaves out the client and the wait before that, not waits while the body arrives.',
    '',
  ];
}


/** Counts and longest pauses of a run's garbage collections. */
function gcLine(gc: GcStats): string {
  return `${gc.young.count} young (longest ${dec(gc.young.maxMs, 2)} ms), ${gc.major.count} major (longest ${dec(gc.major.maxMs, 2)} ms; ` +
    `${gc.incremental.count} incremental marking pauses, longest ${dec(gc.incremental.maxMs, 2)} ms)`;
}

function verdictLines(ingest: IngestRun[], edges: IngestRun | undefined, renders: RenderRun[], overload?: { run: OverloadRun; control: OverloadRun }): string[] {
  const out: string[] = [];
  const remote = ingest.find((r) => r.label.includes('another process'));
  const local = ingest.find((r) => r.label.includes('this process'));
  const inject = ingest.find((r) => r.label.includes('inject'));
  const client = ingest.find((r) => r.label.startsWith('client alone'));
  const primary = remote ?? local;
  if (primary !== undefined) {
    const rate = primary.load.itemsPerSecond;
    const details = [
      primary !== local && local ? `${int(local.load.itemsPerSecond)} with the client in-process` : undefined,
      local && client ? `~${int(netOfClient(local.load.itemsPerSecond, client.load.itemsPerSecond))} in-process net of the client` : undefined,
      inject ? `${int(inject.load.itemsPerSecond)} via inject()` : undefined,
    ].filter((x) => x !== undefined);
    const where = primary === remote ? `collector process at ${dec(primary.load.cpu, 2)} CPU cores` : 'client included';
    out.push(...verdict(rate >= TARGETS.spansPerSecond, `>= ${int(TARGETS.spansPerSecond)} spans/s ingested and aggregated`, `${int(rate)} spans/s over HTTP, ${where}`, details));
  }
  if (edges !== undefined) {
    out.push(
      ...verdict(
        edges.load.peak.rss < TARGETS.rssMiB,
        `RSS < ${TARGETS.rssMiB} MiB with 1,000 edges`,
        `peak ${mib(edges.load.peak.rss)} under load with ${int(edges.state?.edgeSeries ?? NaN)} edges, ${mib(edges.afterGc.rss)} after GC, ` +
          (edges.label.includes('another process') ? 'collector process alone' : 'client in the same process (its memory included)'),
      ),
    );
  }
  if (overload !== undefined) {
    const { run, control } = overload;
    out.push(
      ...verdict(
        run.refusalMs.p99 < TARGETS.refusalP99Ms,
        `refusals p99 < ${TARGETS.refusalP99Ms} ms at 10x capacity`,
        `p99 ${dec(run.refusalMs.p99, 2)} ms over ${int(run.refusalMs.samples)} refusals, ` +
          `${int(run.acceptedSpansPerSecond)} spans/s accepted of ${int(run.offeredSpansPerSecond)} offered, peak RSS ${mib(run.peak.rss)}`,
        [
          `the client's floor on this machine (the control, nothing accepted): p99 ${dec(control.refusalMs.p99, 2)} ms`,
          `the receiver's own time per refusal: p99 ${dec(run.serverRefusalMs.p99, 3)} ms (control ${dec(control.serverRefusalMs.p99, 3)} ms)`,
        ],
      ),
    );
  }
  const admin = renders.find((r) => r.label.startsWith('GET'));
  const direct = renders.filter((r) => r.label.startsWith('Prometheus'));
  if (admin !== undefined) {
    out.push(
      ...verdict(
        admin.latencyMs.p99 < TARGETS.renderMs,
        `/metrics with ${int(TARGETS.renderSeries)} series < ${TARGETS.renderMs} ms`,
        `p99 ${dec(admin.latencyMs.p99)} ms for GET /metrics with ${int(admin.series)} series`,
        direct.map((r) => `${r.label} alone: p99 ${dec(r.latencyMs.p99)} ms`),
      ),
    );
  }
  return out;
}
