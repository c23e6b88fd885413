/**
 * Jaeger stand-ins for the export tests. There is no Jaeger server in the package registries, so
 * these take its place on loopback and decode what they receive with real decoders, never ours:
 * - OTLP (Jaeger v2, and v1.35+ on port 4318): the official OTLP protos through the OTel JS
 *   project's generated protobufjs code (officialTraces);
 * - Thrift (Jaeger v1): the Jaeger Thrift IDL that jaeger-client ships
 *   (jaeger-idl/thrift/jaeger.thrift and agent.thrift) through thriftrw, the Thrift library
 *   jaeger-client itself uses: `POST /api/traces` with a binary-protocol `Batch` (the collector,
 *   port 14268), and UDP datagrams each holding one `Agent.emitBatch` call message (the agent).
 *
 * The HTTP stand-in serves plain HTTP or HTTPS, can require headers (401 otherwise), and is
 * scriptable: an answer per request (status, headers, delay, or none), down and up again on the
 * same port. The OTLP one is also the trace backend of the tests that are not about Jaeger. The UDP stand-in can be taken down (datagrams are then lost, as with a real agent)
 * and can drop datagrams on purpose.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SpanStatusCode, type Attributes, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import * as x509 from '@peculiar/x509';
import type { TracesData } from '../../collector/model/traces.js';
import { officialTraces } from './otel-fixtures.js';

// ---------------------------------------------------------------------------------------------
// The Jaeger Thrift IDL through thriftrw, both resolved where exporter-jaeger resolves them.

interface ReadResult<T> {
  err: Error | null;
  offset: number;
  value: T;
}
interface ThriftRW<T> {
  readFrom(buffer: Buffer, offset: number): ReadResult<T>;
}
interface ThriftStructType<T> {
  rw: ThriftRW<T>;
}
interface ThriftModel {
  getType<T>(name: string): ThriftStructType<T>;
  modules: Record<string, ThriftModel>;
  Agent: { emitBatch: { argumentsMessageRW: ThriftRW<RawEmitBatchMessage> } };
}
interface ThriftConstructor {
  new (options: { entryPoint: string; allowFilesystemAccess: boolean; allowOptionalArguments: boolean; strict: boolean }): ThriftModel;
}

/** A `jaeger.thrift` struct as thriftrw reads it (i64 as 8-byte Buffers, enums by name, absent fields null). */
interface RawTag {
  key: string;
  vType: string;
  vStr: string | null;
  vDouble: number | null;
  vBool: boolean | null;
  vLong: Buffer | null;
  vBinary: Buffer | null;
}
interface RawSpan {
  traceIdLow: Buffer;
  traceIdHigh: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  operationName: string;
  references: { refType: string; traceIdLow: Buffer; traceIdHigh: Buffer; spanId: Buffer }[] | null;
  flags: number;
  startTime: Buffer;
  duration: Buffer;
  tags: RawTag[] | null;
  logs: { timestamp: Buffer; fields: RawTag[] }[] | null;
}
interface RawBatch {
  process: { serviceName: string; tags: RawTag[] | null };
  spans: RawSpan[];
}
interface RawEmitBatchMessage {
  name: string;
  type: string;
  id: number;
  body: { batch: RawBatch };
}

const fromExporter = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/exporter-jaeger'));
const jaegerClientDir = dirname(fromExporter.resolve('jaeger-client/package.json'));
/** Where jaeger-client keeps the Jaeger IDL (a copy of jaegertracing/jaeger-idl's thrift/). */
export const JAEGER_IDL_DIR = join(jaegerClientDir, 'dist', 'src', 'jaeger-idl', 'thrift');

let model: ThriftModel | undefined;

/** agent.thrift (which includes jaeger.thrift and zipkincore.thrift), parsed once. */
function idl(): ThriftModel {
  if (model === undefined) {
    const { Thrift } = createRequire(join(jaegerClientDir, 'package.json'))('thriftrw') as { Thrift: ThriftConstructor };
    // zipkincore.thrift has fields marked neither required nor optional: not strict.
    model = new Thrift({ entryPoint: join(JAEGER_IDL_DIR, 'agent.thrift'), allowFilesystemAccess: true, allowOptionalArguments: true, strict: false });
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// What the stand-ins hand to tests: plain, comparable values.

export type JaegerTagType = 'STRING' | 'DOUBLE' | 'BOOL' | 'LONG' | 'BINARY';

/** A Jaeger tag: its type, the value of that type's field, and which value fields were on the wire. */
export interface JaegerTag {
  key: string;
  type: JaegerTagType;
  value: string | number | boolean | bigint | Buffer;
  /** The `v*` fields present (jaeger-client writes all five; meshtel only the one of the type). */
  present: string[];
}

export interface JaegerSpan {
  /** 32 hex digits: traceIdHigh then traceIdLow. */
  traceId: string;
  spanId: string;
  /** 16 zeros for a root span (Thrift's parentSpanId is required). */
  parentSpanId: string;
  operationName: string;
  references: { refType: string; traceId: string; spanId: string }[];
  flags: number;
  /** Microseconds. */
  startTime: bigint;
  duration: bigint;
  tags: JaegerTag[];
  logs: { timestamp: bigint; fields: JaegerTag[] }[];
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerTag[];
}

export interface JaegerBatch {
  process: JaegerProcess;
  spans: JaegerSpan[];
}

const VALUE_FIELDS = ['vStr', 'vDouble', 'vBool', 'vLong', 'vBinary'] as const;

function tag(t: RawTag): JaegerTag {
  const present = VALUE_FIELDS.filter((f) => t[f] !== null && t[f] !== undefined);
  const type = t.vType as JaegerTagType;
  const value =
    type === 'STRING' ? t.vStr : type === 'DOUBLE' ? t.vDouble : type === 'BOOL' ? t.vBool : type === 'LONG' ? t.vLong && t.vLong.readBigInt64BE() : t.vBinary;
  if (value === null || value === undefined) throw new Error(`Jaeger tag "${t.key}" of type ${t.vType} has no ${type} value`);
  return { key: t.key, type, value, present };
}

const hex = (b: Buffer) => b.toString('hex');

function batch(raw: RawBatch): JaegerBatch {
  return {
    process: { serviceName: raw.process.serviceName, tags: (raw.process.tags ?? []).map(tag) },
    spans: raw.spans.map((s) => ({
      traceId: hex(s.traceIdHigh) + hex(s.traceIdLow),
      spanId: hex(s.spanId),
      parentSpanId: hex(s.parentSpanId),
      operationName: s.operationName,
      references: (s.references ?? []).map((r) => ({ refType: r.refType, traceId: hex(r.traceIdHigh) + hex(r.traceIdLow), spanId: hex(r.spanId) })),
      flags: s.flags,
      startTime: s.startTime.readBigInt64BE(),
      duration: s.duration.readBigInt64BE(),
      tags: (s.tags ?? []).map(tag),
      logs: (s.logs ?? []).map((l) => ({ timestamp: l.timestamp.readBigInt64BE(), fields: l.fields.map(tag) })),
    })),
  };
}

/** A `jaeger.thrift` Batch in the binary protocol (the body of `POST /api/traces`), all of it. */
export function decodeThriftBatch(body: Buffer): JaegerBatch {
  const r = idl().modules.jaeger!.getType<RawBatch>('Batch').rw.readFrom(body, 0);
  if (r.err) throw r.err;
  if (r.offset !== body.length) throw new Error(`${body.length - r.offset} bytes after the Batch`);
  return batch(r.value);
}

/** One agent datagram: an `Agent.emitBatch` oneway call message, binary protocol. */
export function decodeEmitBatch(datagram: Buffer): JaegerBatch {
  const r = idl().Agent.emitBatch.argumentsMessageRW.readFrom(datagram, 0);
  if (r.err) throw r.err;
  if (r.offset !== datagram.length) throw new Error(`${datagram.length - r.offset} bytes after the emitBatch message`);
  if (r.value.name !== 'emitBatch' || r.value.type !== 'ONEWAY') throw new Error(`not an emitBatch oneway call: ${r.value.name} ${r.value.type}`);
  return batch(r.value.body.batch);
}

/** Every span received, each with the process of its batch. */
export function jaegerSpans(batches: readonly JaegerBatch[]): { process: JaegerProcess; span: JaegerSpan }[] {
  return batches.flatMap((b) => b.spans.map((span) => ({ process: b.process, span })));
}

// ---------------------------------------------------------------------------------------------
// HTTP: the collector's POST /api/traces (Thrift), or POST /v1/traces (OTLP).

/** How the stand-in answers one request, chosen per request by the test. */
export interface StandinAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Milliseconds before answering (a slow backend). */
  delayMs?: number;
  /** Never answer (until the stand-in stops). */
  hang?: boolean;
}

export interface StandinRequest {
  /** When the whole body had arrived (performance.now()). */
  at: number;
  path: string;
  headers: http.IncomingHttpHeaders;
  status: number;
  spans: number;
}

export interface HttpStandinOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Headers every request must carry, with these values (lowercase names); else 401. */
  requiredHeaders?: Record<string, string>;
}

abstract class HttpStandin<T> {
  /** What every request answered 2xx carried, decoded. */
  readonly accepted: T[] = [];
  readonly requests: StandinRequest[] = [];
  /** Bodies that did not decode (answered 400). */
  readonly undecodable: Error[] = [];
  answer: (request: number) => StandinAnswer = () => ({ status: 200 });
  private server: http.Server | undefined;
  private port = 0;

  protected abstract readonly path: string;
  protected abstract readonly contentType: string;
  protected abstract readonly decode: (body: Buffer) => T;
  protected abstract readonly count: (item: T) => number;

  constructor(private readonly options: HttpStandinOptions = {}) {}

  /** The base URL (the Thrift stand-in's includes /api/traces; OTLP's is what `/v1/traces` is appended to). */
  abstract get endpoint(): string;

  protected get origin(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Spans accepted so far. */
  get spans(): number {
    return this.accepted.reduce((n, item) => n + this.count(item), 0);
  }

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = this.requests.length + 1;
        const record: StandinRequest = { at: performance.now(), path: req.url ?? '', headers: req.headers, status: 0, spans: 0 };
        this.requests.push(record);
        const reply = (status: number, headers: Record<string, string> = {}) => {
          record.status = status;
          res.writeHead(status, headers);
          res.end();
        };
        if (req.method !== 'POST' || req.url !== this.path) return reply(404);
        if (req.headers['content-type'] !== this.contentType) return reply(415);
        for (const [name, value] of Object.entries(this.options.requiredHeaders ?? {})) if (req.headers[name] !== value) return reply(401);
        const a = this.answer(n);
        if (a.hang) return;
        const respond = () => {
          if (a.status >= 200 && a.status < 300) {
            let item: T;
            try {
              item = this.decode(Buffer.concat(chunks));
            } catch (e) {
              this.undecodable.push(e as Error);
              return reply(400);
            }
            this.accepted.push(item);
            record.spans = this.count(item);
          }
          reply(a.status, a.headers);
        };
        if (a.delayMs) setTimeout(respond, a.delayMs);
        else respond();
      });
    };
    const server = this.options.tls ? https.createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Takes the backend down: connections are refused until `start()` again (same port). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A Jaeger v1 collector's `POST /api/traces`: one Thrift Batch per request (binary protocol). */
export class JaegerThriftHttpStandin extends HttpStandin<JaegerBatch> {
  protected readonly path = '/api/traces';
  protected readonly contentType = 'application/x-thrift';
  protected readonly decode = decodeThriftBatch;
  protected readonly count = (b: JaegerBatch) => b.spans.length;

  get endpoint(): string {
    return `${this.origin}/api/traces`;
  }
}

/** Jaeger v2 (and v1.35+) on its OTLP/HTTP port: `POST /v1/traces`, protobuf. */
export class JaegerOtlpStandin extends HttpStandin<TracesData> {
  protected readonly path = '/v1/traces';
  protected readonly contentType = 'application/x-protobuf';
  protected readonly decode = (body: Buffer) => officialTraces(body);
  protected readonly count = (d: TracesData) => d.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);

  get endpoint(): string {
    return this.origin;
  }
}

// ---------------------------------------------------------------------------------------------
// UDP: the agent's emitBatch.

/** A Jaeger agent's UDP port (6832, binary Thrift): one emitBatch message per datagram. */
export class JaegerAgentStandin {
  readonly batches: JaegerBatch[] = [];
  readonly undecodable: Error[] = [];
  /** Sizes of the datagrams received. */
  readonly datagrams: number[] = [];
  /** Return true to drop a datagram unread (numbered from 1). */
  drop: (datagram: number) => boolean = () => false;
  private socket: dgram.Socket | undefined;
  private port = 0;

  get endpoint(): string {
    return `udp://127.0.0.1:${this.port}`;
  }

  get spans(): number {
    return this.batches.reduce((n, b) => n + b.spans.length, 0);
  }

  async start(): Promise<this> {
    // A real agent is run with a large socket buffer (--processor.jaeger-binary.server-socket-buffer-size):
    // a sender emits a batch's datagrams back to back, and a 208 KiB default buffer holds three.
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    socket.on('message', (msg) => {
      this.datagrams.push(msg.length);
      if (this.drop(this.datagrams.length)) return;
      try {
        this.batches.push(decodeEmitBatch(msg));
      } catch (e) {
        this.undecodable.push(e as Error);
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, '127.0.0.1', () => resolve());
    });
    this.port = socket.address().port;
    this.socket = socket;
    return this;
  }

  /** Takes the agent down: datagrams sent meanwhile are lost. */
  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** The raw jaeger.thrift text, for tests that show which IDL the stand-ins decode with. */
export function jaegerThriftIdl(): string {
  return readFileSync(join(JAEGER_IDL_DIR, 'jaeger.thrift'), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// The oracle: what Jaeger should hold for spans the SDK made, written from the SDK's ReadableSpan
// and the OpenTelemetry specification's Jaeger mapping
// (opentelemetry-collector-contrib pkg/translator/jaeger/README.md, common/README.md "AnyValue
// representation for non-OTLP protocols"), independently of meshtel's conversion.

/** A tag as the oracle states it: type and value, nothing about the wire. */
export interface ExpectedTag {
  key: string;
  type: JaegerTagType;
  value: string | number | boolean | bigint | Buffer;
}

export interface ExpectedJaegerSpan extends Omit<JaegerSpan, 'tags' | 'logs'> {
  tags: ExpectedTag[];
  logs: { timestamp: bigint; fields: ExpectedTag[] }[];
}

const nanos = (t: HrTime) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
const micros = (t: HrTime) => nanos(t) / 1000n;

/** JSON of an SDK attribute value inside an array or map (OTLP: integral numbers are ints). */
function json(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isNaN(v) ? '"NaN"' : !Number.isFinite(v) ? (v > 0 ? '"Infinity"' : '"-Infinity"') : Number.isInteger(v) ? BigInt(v).toString() : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${JSON.stringify(k)}:${json(x)}`)
    .join(',')}}`;
}

/** The Jaeger tag of an SDK attribute: LONG for integral numbers (as OTLP makes them ints), DOUBLE else. */
export function expectedTag(key: string, v: unknown): ExpectedTag {
  if (typeof v === 'string') return { key, type: 'STRING', value: v };
  if (typeof v === 'boolean') return { key, type: 'BOOL', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { key, type: 'LONG', value: BigInt(v) } : { key, type: 'DOUBLE', value: v };
  if (v instanceof Uint8Array) return { key, type: 'BINARY', value: Buffer.from(v) };
  if (v === null || v === undefined) return { key, type: 'STRING', value: '' };
  return { key, type: 'STRING', value: json(v) };
}

function expectedTags(attributes: Attributes | undefined): ExpectedTag[] {
  return Object.entries(attributes ?? {}).map(([k, v]) => expectedTag(k, v));
}

const KIND = ['', 'server', 'client', 'producer', 'consumer'];

/** The Jaeger span and process the SDK's `span` should arrive as. */
export function expectedJaeger(span: ReadableSpan): { process: { serviceName: string; tags: ExpectedTag[] }; span: ExpectedJaegerSpan } {
  const ctx = span.spanContext();
  const tags = expectedTags(span.attributes);
  if (span.status.code !== SpanStatusCode.UNSET) {
    tags.push({ key: 'otel.status_code', type: 'STRING', value: span.status.code === SpanStatusCode.OK ? 'OK' : 'ERROR' });
    if (span.status.message) tags.push({ key: 'otel.status_description', type: 'STRING', value: span.status.message });
    if (span.status.code === SpanStatusCode.ERROR) tags.push({ key: 'error', type: 'BOOL', value: true });
  }
  if (KIND[span.kind]) tags.push({ key: 'span.kind', type: 'STRING', value: KIND[span.kind]! });
  tags.push({ key: 'otel.library.name', type: 'STRING', value: span.instrumentationScope.name });
  if (span.instrumentationScope.version) tags.push({ key: 'otel.library.version', type: 'STRING', value: span.instrumentationScope.version });
  if (span.droppedAttributesCount) tags.push({ key: 'otel.dropped_attributes_count', type: 'LONG', value: BigInt(span.droppedAttributesCount) });
  if (span.droppedEventsCount) tags.push({ key: 'otel.dropped_events_count', type: 'LONG', value: BigInt(span.droppedEventsCount) });
  if (span.droppedLinksCount) tags.push({ key: 'otel.dropped_links_count', type: 'LONG', value: BigInt(span.droppedLinksCount) });
  const traceState = ctx.traceState?.serialize() ?? '';
  if (traceState !== '') tags.push({ key: 'w3c.tracestate', type: 'STRING', value: traceState });

  const start = micros(span.startTime);
  const logs = span.events.map((e) => {
    const fields = expectedTags(e.attributes);
    // The specification: an attribute named "event" takes precedence over the event's name.
    if (!fields.some((f) => f.key === 'event')) fields.unshift({ key: 'event', type: 'STRING', value: e.name });
    if (e.droppedAttributesCount) fields.push({ key: 'otel.event.dropped_attributes_count', type: 'LONG', value: BigInt(e.droppedAttributesCount) });
    return { timestamp: micros(e.time), fields };
  });
  for (const l of span.links) {
    const state = l.context.traceState?.serialize() ?? '';
    const attrs = expectedTags(l.attributes);
    if (attrs.length === 0 && state === '' && !l.droppedAttributesCount) continue;
    const fields: ExpectedTag[] = [
      { key: 'event', type: 'STRING', value: 'link' },
      { key: 'trace_id', type: 'STRING', value: l.context.traceId },
      { key: 'span_id', type: 'STRING', value: l.context.spanId },
      ...attrs,
    ];
    if (state !== '') fields.push({ key: 'w3c.tracestate', type: 'STRING', value: state });
    if (l.droppedAttributesCount) fields.push({ key: 'otel.dropped_attributes_count', type: 'LONG', value: BigInt(l.droppedAttributesCount) });
    logs.push({ timestamp: start, fields });
  }

  const resource = span.resource.attributes;
  return {
    process: {
      serviceName: typeof resource['service.name'] === 'string' && resource['service.name'] !== '' ? resource['service.name'] : 'unknown_service',
      tags: expectedTags(Object.fromEntries(Object.entries(resource).filter(([k]) => k !== 'service.name'))),
    },
    span: {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: span.parentSpanContext?.spanId ?? '0'.repeat(16),
      operationName: span.name,
      references: span.links.map((l) => ({ refType: 'FOLLOWS_FROM', traceId: l.context.traceId, spanId: l.context.spanId })),
      flags: ctx.traceFlags || 1,
      startTime: start,
      duration: micros(span.endTime) - start,
      tags,
      logs,
    },
  };
}

/** A tag without wire details, comparable with an ExpectedTag (Buffers and bigints as text). */
export function plainTag(t: ExpectedTag | JaegerTag): { key: string; type: string; value: unknown } {
  const value = Buffer.isBuffer(t.value) ? `bytes:${t.value.toString('hex')}` : typeof t.value === 'bigint' ? `int:${t.value}` : typeof t.value === 'number' && Number.isNaN(t.value) ? 'NaN' : t.value;
  return { key: t.key, type: t.type, value };
}

/** Tags in a stable order (Jaeger does not give order a meaning), for comparison. */
export function sortedTags(tags: readonly (ExpectedTag | JaegerTag)[]): { key: string; type: string; value: unknown }[] {
  return tags.map(plainTag).sort((a, b) => (a.key === b.key ? JSON.stringify(a.value).localeCompare(JSON.stringify(b.value)) : a.key < b.key ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// TLS: a CA generated for the test and a server certificate for 127.0.0.1 signed by it.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/**
 * A fresh CA and a server certificate it signed for 127.0.0.1 and localhost (demo/pki.ts's
 * MeshCA issues mesh identities, whose names are cluster DNS names, not loopback addresses).
 */
export async function loopbackCertificates(): Promise<{ ca: string; cert: string; key: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=meshtel test CA',
    keys: caKeys,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=jaeger stand-in',
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  return { ca: ca.toString('pem'), cert: cert.toString('pem'), key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}
