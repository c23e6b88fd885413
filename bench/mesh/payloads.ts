import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { TRACE_ID_MARKER, TraceGenerator, type SpanRecord } from './traces.js';
import type { Topology } from './topology.js';

/** One OTLP/protobuf `ExportTraceServiceRequest`, as a client would POST it. */
export interface Payload {
  bytes: Buffer;
  spans: number;
  resources: number;
  /** Where each span's 16-byte trace id starts in `bytes`. */
  traceIds: Uint32Array;
}

export interface PayloadSet {
  payloads: Payload[];
  batchSize: number;
  spans: number;
  bytes: number;
  attributesPerSpan: number;
  resourcesPerBatch: number;
  /** Share of spans with status ERROR. */
  errorRatio: number;
  /** Hops (CLIENT/SERVER pairs), root SERVER spans, database CLIENT spans (unpaired by design). */
  hops: number;
  roots: number;
  databaseCalls: number;
  /** Distinct service-graph edges the payloads exercise. */
  edges: number;
  generationMs: number;
}

export interface PayloadOptions {
  batches: number;
  batchSize: number;
  seed: number;
}

/**
 * Spans are grouped by node within windows of this many batches, as node agents flushing about
 * together would send them: the two halves of a hop often arrive in different requests, so the
 * service-graph store pairs across batches, but never waits for more than a window's worth.
 */
const WINDOW_BATCHES = 8;

/**
 * Builds `batches` payloads of exactly `batchSize` spans each, serialized by the official OTLP
 * serializer (`ProtobufTraceSerializer` from @opentelemetry/otlp-transformer, over SDK
 * ReadableSpans). Traces are whole within the set: resending the set completes every pair.
 */
export function buildPayloads(topology: Topology, options: PayloadOptions): PayloadSet {
  const started = performance.now();
  const total = options.batches * options.batchSize;
  const generator = new TraceGenerator(topology, options.seed, Date.now() - 10_000);
  const records: SpanRecord[] = [];
  while (records.length < total) generator.trace(Math.min(total - records.length, 64), records);

  const window = WINDOW_BATCHES * options.batchSize;
  const ordered: SpanRecord[] = [];
  for (let i = 0; i < records.length; i += window) {
    ordered.push(...records.slice(i, i + window).sort((a, b) => a.pod.node - b.pod.node));
  }

  const payloads: Payload[] = [];
  for (let i = 0; i < ordered.length; i += options.batchSize) {
    const chunk = ordered.slice(i, i + options.batchSize);
    const encoded = ProtobufTraceSerializer.serializeRequest(chunk.map((r) => r.span));
    if (encoded === undefined) throw new Error('the OTLP serializer returned nothing');
    const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    payloads.push({ bytes, spans: chunk.length, resources: new Set(chunk.map((r) => r.pod)).size, traceIds: traceIdOffsets(bytes, chunk.length) });
  }

  let attributes = 0;
  let errors = 0;
  let roots = 0;
  let clients = 0;
  let databaseCalls = 0;
  for (const { span } of records) {
    attributes += Object.keys(span.attributes).length;
    if (span.status.code === SpanStatusCode.ERROR) errors++;
    if (span.parentSpanContext === undefined) roots++;
    if (span.kind === SpanKind.CLIENT) {
      clients++;
      if ('db.system.name' in span.attributes) databaseCalls++;
    }
  }
  const bytes = payloads.reduce((n, p) => n + p.bytes.length, 0);
  return {
    payloads,
    batchSize: options.batchSize,
    spans: records.length,
    bytes,
    attributesPerSpan: attributes / records.length,
    resourcesPerBatch: payloads.reduce((n, p) => n + p.resources, 0) / payloads.length,
    errorRatio: errors / records.length,
    hops: clients - databaseCalls,
    roots,
    databaseCalls,
    edges: generator.edges.size,
    generationMs: performance.now() - started,
  };
}

/** Finds every trace id (by its marker) in an encoded request; checks there is one per span. */
function traceIdOffsets(bytes: Buffer, spans: number): Uint32Array {
  const offsets: number[] = [];
  for (let at = bytes.indexOf(TRACE_ID_MARKER); at !== -1; at = bytes.indexOf(TRACE_ID_MARKER, at + 16)) offsets.push(at);
  if (offsets.length !== spans) throw new Error(`found ${offsets.length} trace ids in a payload of ${spans} spans`);
  return Uint32Array.from(offsets);
}

/**
 * Hands out the payloads round-robin. Each pass over the set writes a new epoch into every trace
 * id, so ids never repeat during a run and pairs complete as they would with live traffic. A
 * payload is rewritten only when it is handed out again, after the whole set has been sent: with
 * fewer requests in flight than payloads, no request is modified while in flight.
 */
export class PayloadCycle {
  private index = 0;
  private epoch = 0;

  constructor(readonly set: PayloadSet) {}

  /** Payloads not yet handed out in the current pass: send them, and every pair is complete. */
  get remaining(): number {
    return this.index === 0 ? 0 : this.set.payloads.length - this.index;
  }

  next(): Payload {
    const payloads = this.set.payloads;
    if (this.index === 0) this.epoch++;
    const p = payloads[this.index]!;
    this.index = (this.index + 1) % payloads.length;
    for (const at of p.traceIds) p.bytes.writeUInt32BE(this.epoch, at + TRACE_ID_MARKER.length);
    return p;
  }
}
