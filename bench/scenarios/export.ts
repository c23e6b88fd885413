/**
 * The trace-export scenario (`export`): what sending spans on to Jaeger costs.
 * - pipeline: spans/s from receive to a local stand-in over OTLP: the same closed-loop load as
 *   ingest-http into a collector with one OTLP trace exporter (default batching and queue) whose
 *   backend is a bare node:http server in this process counting the spans it gets;
 * - queue: the heap a full export queue holds per 100,000 spans (the decoded spans it keeps alive,
 *   and the queue's own share), after full garbage collections;
 * - conversion: CPU per span of each transport's send to a local sink (OTLP, Thrift over HTTP,
 *   Thrift over UDP), and of the Thrift conversion alone (model -> ReadableSpan ->
 *   JaegerExporter's transform -> completed tags, no encoding): Thrift minus OTLP is the added
 *   CPU per span of the conversion to Thrift.
 */
import dgram from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import pino from 'pino';
import { Collector } from '../../collector/collector.js';
import { configSchema } from '../../collector/config/schema.js';
import { countSpans, type TracesData } from '../../collector/model/traces.js';
import { countTracesProto } from '../../collector/otlp/count-proto.js';
import { decodeTracesProto } from '../../collector/otlp/decode-traces-proto.js';
import { OtlpHttpTransport } from '../../exporters/jaeger/otlp-transport.js';
import { toReadableSpan, type JaegerInputSpan } from '../../exporters/jaeger/readable-span.js';
import { SpanQueue, spansOf } from '../../exporters/jaeger/span-queue.js';
import { AlignedSender, type ScopedSpan } from '../../exporters/jaeger/thrift-sender.js';
import { processOf } from '../../exporters/jaeger/thrift-span.js';
import { ThriftTransport } from '../../exporters/jaeger/thrift-transport.js';
import type { SpanTransport } from '../../exporters/jaeger/transport.js';
import { dec, int } from '../measure/format.js';
import { runLoad } from '../measure/load.js';
import { afterGc, type Memory } from '../measure/memory.js';
import type { Latency } from '../measure/stats.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle, type PayloadSet } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { MeshSummary } from '../results.js';
import { fetchSender } from './clients.js';

export interface ExportPipelineRun {
  /** Spans/s the receiver answered 200 for, and spans/s the stand-in got, over the measured phase. */
  receivedSpansPerSecond: number;
  exportedSpansPerSecond: number;
  latencyMs: Latency;
  /** Process CPU (client, collector and stand-in share the process), cores. */
  cpu: number;
  /** Spans queued or in flight when the measured phase ended: what export had not caught up with. */
  backlog: number;
  /** Over the whole run: spans the exporter dropped because its queue was full. */
  enqueueFailed: number;
  sendFailed: number;
  /** Every span received ended at the stand-in once the queue drained. */
  drained: boolean;
  afterGc: Memory;
}

export interface QueueMemory {
  spans: number;
  /** Heap the full queue keeps alive per 100,000 spans: the decoded spans and the queue, MiB. */
  retainedMiBPer100k: number;
  /** The queue's own share (its entries and arrays, the spans being held elsewhere too), MiB. */
  ownMiBPer100k: number;
  /** OTLP/protobuf bytes of the same spans, MiB per 100,000, for scale. */
  wireMiBPer100k: number;
}

export interface ConversionRow {
  label: string;
  /** CPU microseconds per span (all threads). */
  cpuUsPerSpan: number;
  spansPerSecond: number;
  /** The slowest single send of the measured phase, ms (a stall shows here, not in the CPU). */
  maxSendMs: number;
}

export interface ExportScenarioResult {
  scenario: 'export';
  mesh: MeshSummary;
  pipeline: ExportPipelineRun;
  queue: QueueMemory;
  conversion: ConversionRow[];
}

/** A node:http backend that counts the spans of each OTLP request without decoding them. */
async function countingSink(): Promise<{ url: string; spans: () => number; close(): Promise<void> }> {
  let spans = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') for (const r of countTracesProto(Buffer.concat(chunks), undefined)) spans += r.items;
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function counter(text: string, name: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

async function pipeline(options: BenchOptions, set: PayloadSet): Promise<ExportPipelineRun> {
  const sink = await countingSink();
  const collector = new Collector(
    configSchema.parse({
      log: { level: 'silent' },
      receivers: { otlp: { endpoint: '127.0.0.1:0' } },
      admin: { endpoint: '127.0.0.1:0' },
      exporters: { traces: [{ name: 'bench', endpoint: sink.url }] },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  await collector.start();
  try {
    const cycle = new PayloadCycle(set);
    let exportedAtStart = 0;
    const load = await runLoad(fetchSender(`http://${collector.otlpAddress}/v1/traces`, cycle), options, () => (exportedAtStart = sink.spans()));
    const exported = sink.spans() - exportedAtStart;
    const atEnd = await collector.registry.metrics();
    const backlog = counter(atEnd, 'meshtel_exporter_queue_size') + counter(atEnd, 'meshtel_exporter_in_flight_spans');
    // Let the queue drain, then compare what was received with what arrived.
    let metrics = '';
    for (let i = 0; i < 200; i++) {
      metrics = await collector.registry.metrics();
      if (counter(metrics, 'meshtel_exporter_queue_size') === 0 && counter(metrics, 'meshtel_exporter_in_flight_spans') === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const sent = counter(metrics, 'meshtel_exporter_sent_spans_total');
    return {
      receivedSpansPerSecond: load.itemsPerSecond,
      exportedSpansPerSecond: exported / (options.durationMs / 1000),
      latencyMs: load.latencyMs,
      cpu: load.cpu,
      backlog,
      enqueueFailed: counter(metrics, 'meshtel_exporter_enqueue_failed_spans_total'),
      sendFailed: counter(metrics, 'meshtel_exporter_send_failed_spans_total'),
      drained: sent === sink.spans() && sent + counter(metrics, 'meshtel_exporter_enqueue_failed_spans_total') === counter(metrics, 'meshtel_exporter_received_spans_total'),
      afterGc: afterGc(),
    };
  } finally {
    await collector.shutdown();
    await sink.close();
  }
}

/** Decoded batches holding at least `spans` spans, each decoded afresh (distinct objects). */
function decodedBatches(set: PayloadSet, spans: number): TracesData[] {
  const out: TracesData[] = [];
  const cycle = new PayloadCycle(set);
  for (let n = 0; n < spans; ) {
    const data = decodeTracesProto(cycle.next().bytes);
    n += countSpans(data);
    out.push(data);
  }
  return out;
}

/** Heap used (MiB, after GC) with a queue holding `spans` freshly decoded spans and nothing else; the queue dies on return. */
function fullQueueHeap(set: PayloadSet, spans: number): { heapUsed: number; spans: number } {
  const queue = new SpanQueue(Number.MAX_SAFE_INTEGER);
  for (const data of decodedBatches(set, spans)) queue.offer(spansOf(data), 0);
  return { heapUsed: afterGc().heapUsed, spans: queue.size };
}

function queueMemory(set: PayloadSet): QueueMemory {
  const target = 100_000;
  const per100k = (mib: number, spans: number) => (mib * target) / spans;
  // Everything a full queue keeps alive: decode, queue, drop every other reference.
  const empty = afterGc().heapUsed;
  const full = fullQueueHeap(set, target);
  // The queue's own share: its entries and arrays, the decoded spans being held elsewhere too.
  const held = decodedBatches(set, target);
  const before = afterGc().heapUsed;
  const own = new SpanQueue(Number.MAX_SAFE_INTEGER);
  for (const data of held) own.offer(spansOf(data), 0);
  const after = afterGc().heapUsed;
  // Read after the measurement, so that both were alive during it.
  const heldSpans = held.reduce((n, d) => n + countSpans(d), 0);
  if (own.size !== heldSpans) throw new Error(`queued ${own.size} of ${heldSpans} spans`);
  return {
    spans: full.spans,
    retainedMiBPer100k: per100k(full.heapUsed - empty, full.spans),
    ownMiBPer100k: per100k(after - before, heldSpans),
    wireMiBPer100k: per100k(set.bytes / 1024 / 1024, set.spans),
  };
}

/** CPU per span of `send` over `batches`, for about `ms` after as long a warm-up. */
async function cpuPerSpan(label: string, batches: TracesData[], ms: number, send: (data: TracesData) => Promise<unknown>): Promise<ConversionRow> {
  let maxSendMs = 0;
  const run = async (until: number) => {
    let spans = 0;
    maxSendMs = 0;
    for (let i = 0; performance.now() < until; i++) {
      const data = batches[i % batches.length]!;
      const t = performance.now();
      await send(data);
      maxSendMs = Math.max(maxSendMs, performance.now() - t);
      spans += countSpans(data);
    }
    return spans;
  };
  await run(performance.now() + ms);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const spans = await run(t0 + ms);
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - t0) / 1000;
  return { label, cpuUsPerSpan: (used.user + used.system) / spans, spansPerSecond: spans / seconds, maxSendMs };
}

async function conversion(options: BenchOptions, set: PayloadSet): Promise<ConversionRow[]> {
  const ms = Math.max(500, options.durationMs / 2);
  const batches = decodedBatches(set, 16 * set.batchSize);
  const sink = await countingSink();
  const thriftSink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  await new Promise<void>((resolve) => thriftSink.listen(0, '127.0.0.1', resolve));
  // Datagrams to a bound socket that does not read them: the kernel drops them, at no cost here.
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const never = new AbortController().signal;
  const config = (endpoint: string) => configSchema.parse({ exporters: { traces: [{ endpoint }] } }).exporters.traces[0]!;
  const transports: [string, SpanTransport][] = [
    ['OTLP/HTTP protobuf: encode + send to a local sink', new OtlpHttpTransport(config(sink.url))],
    ['Thrift over HTTP: convert + encode + send to a local sink', new ThriftTransport(config(`http://127.0.0.1:${(thriftSink.address() as AddressInfo).port}/api/traces`))],
    ['Thrift over UDP: convert + encode + send (datagrams)', new ThriftTransport(config(`udp://127.0.0.1:${udp.address().port}`))],
  ];
  const rows: ConversionRow[] = [];
  try {
    for (const [label, t] of transports) {
      rows.push(
        await cpuPerSpan(label, batches, ms, async (data) => {
          const r = await t.send(data, countSpans(data), never);
          if (r.kind !== 'success' || r.rejected > 0) throw new Error(`${label}: ${JSON.stringify(r)}`);
        }),
      );
    }
    // The conversion alone: ReadableSpan, JaegerExporter's transform, completed tags; no encoding.
    const sender = new AlignedSender({ setProcess: () => undefined, append: (_s, cb) => cb(0), flush: (cb) => cb(0), close: () => undefined });
    const exporter = new JaegerExporter({ endpoint: 'http://127.0.0.1:1/api/traces' });
    (exporter as unknown as { _sender: AlignedSender })._sender = sender;
    rows.push(
      await cpuPerSpan('  of which the conversion: ReadableSpan + JaegerExporter transform + completed tags', batches, ms, async (data) => {
        for (const rs of data.resourceSpans) {
          const spans: ScopedSpan[] = rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, scope: ss.scope })));
          sender.begin(processOf(rs.resource), spans);
          const readable = spans.map((s) => toReadableSpan(s.span, s.scope, {}) as unknown as JaegerInputSpan);
          await new Promise<void>((resolve, reject) => exporter.export(readable, (r) => (r.error === undefined ? resolve() : reject(r.error))));
        }
      }),
    );
  } finally {
    for (const [, t] of transports) await t.shutdown();
    await sink.close();
    thriftSink.closeAllConnections();
    await new Promise<void>((resolve) => thriftSink.close(() => resolve()));
    udp.close();
  }
  return rows;
}

export async function exportScenario(options: BenchOptions, { summary, set }: BuiltMesh): Promise<ExportScenarioResult> {
  const queue = queueMemory(set);
  const conv = await conversion(options, set);
  const run = await pipeline(options, set);
  return { scenario: 'export', mesh: summary, pipeline: run, queue, conversion: conv };
}


/** The export section of the report. */
export function exportReportLines(r: ExportScenarioResult): string[] {
  const p = r.pipeline;
  const otlp = r.conversion[0];
  const thrift = r.conversion[1];
  const udp = r.conversion[2];
  const width = Math.max(...r.conversion.map((c) => c.label.length));
  return [
    'Export: received spans on to a local Jaeger stand-in (OTLP), one exporter with default batching (512 spans, 200 ms) and queue (100,000)',
    `  ${int(p.receivedSpansPerSecond)} spans/s received, ${int(p.exportedSpansPerSecond)} spans/s exported to the stand-in; request p50 ${dec(p.latencyMs.p50, 2)} ms, ` +
      `p99 ${dec(p.latencyMs.p99, 2)} ms; ${dec(p.cpu, 2)} CPU cores (client, collector and stand-in in one process)`,
    `  backlog when the measured phase ended: ${int(p.backlog)} spans queued or in flight (one thread serves client, receiver, exporter and stand-in: ` +
      'under a closed loop, ingest outpaces export and the queue absorbs the difference until it is full)',
    `  over the run: ${int(p.enqueueFailed)} spans dropped on a full queue, ${int(p.sendFailed)} failed to send; ` +
      (p.drained ? 'every span taken was delivered once the queue drained' : 'NOT every span taken was delivered'),
    `  queue memory: ${dec(r.queue.retainedMiBPer100k)} MiB of heap per 100,000 queued spans (the decoded spans it keeps alive), ` +
      `of which ${dec(r.queue.ownMiBPer100k, 2)} MiB the queue's own entries; the same spans are ${dec(r.queue.wireMiBPer100k)} MiB as OTLP/protobuf`,
    '  CPU per span sent (whole process, local sinks):',
    ...r.conversion.map(
      (c) => `    ${c.label.padEnd(width)}   ${dec(c.cpuUsPerSpan, 2).padStart(7)} µs/span   ${int(c.spansPerSecond).padStart(9)} spans/s   slowest send ${dec(c.maxSendMs, 1)} ms`,
    ),
    otlp && thrift && udp
      ? `  added CPU of the conversion to Thrift, per span: ${dec(thrift.cpuUsPerSpan - otlp.cpuUsPerSpan, 2)} µs over HTTP, ${dec(udp.cpuUsPerSpan - otlp.cpuUsPerSpan, 2)} µs over UDP (Thrift minus OTLP)`
      : '',
    '',
  ];
}
