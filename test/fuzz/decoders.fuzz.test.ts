/**
 * Fuzzing the four OTLP decoders (traces/metrics x protobuf/JSON) with seeded random and mutated
 * payloads. The property: a decoder either returns or throws a DecodeError with a bounded
 * message; never another exception (a TypeError or RangeError would be a 500 or a crash in the
 * receiver), never a hang.
 *
 * Reproducible: the corpus is deterministic (sequential ids, pinned metric times) and every
 * mutation comes from one PRNG seeded with MESHTEL_FUZZ_SEED (default below). The seed is in
 * every test name and failure message; rerun with `MESHTEL_FUZZ_SEED=<seed> npx vitest run test/fuzz`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../collector/otlp/decode-error.js';
import { decodeMetricsJson } from '../../collector/otlp/decode-metrics-json.js';
import { decodeMetricsProto } from '../../collector/otlp/decode-metrics-proto.js';
import { decodeTracesJson } from '../../collector/otlp/decode-traces-json.js';
import { decodeTracesProto, TracesProtoDecoder } from '../../collector/otlp/decode-traces-proto.js';
import { MESH_WORKLOADS, meshMetrics, meshSpans, officialOtlp, officialWireFormat, pinTimes, serializeMetrics, serializeSpans } from '../support/otel-fixtures.js';
import { Rng, mutate, parseSeed, randomFields, randomJson } from './mutations.js';

const SEED = parseSeed(process.env.MESHTEL_FUZZ_SEED) ?? 0x0ddba11;
const SEED_TEXT = `MESHTEL_FUZZ_SEED=${SEED}`;
/** Generous: the whole corpus decodes in well under a millisecond per payload. */
const MAX_MS_PER_INPUT = 2000;


type Decoder = (body: Buffer) => unknown;
type Encoding = 'protobuf' | 'json';

const DECODERS: Record<Encoding, { traces: Decoder; metrics: Decoder }> = {
  protobuf: { traces: decodeTracesProto, metrics: decodeMetricsProto },
  json: { traces: decodeTracesJson, metrics: decodeMetricsJson },
};

interface Outcome {
  ok: number;
  rejected: number;
  failures: string[];
}

/**
 * Runs `decode` on `input` and records a failure unless it returned or threw a DecodeError
 * with a bounded message, in bounded time. `what` is only evaluated on failure.
 */
function check(decode: Decoder, input: Buffer, outcome: Outcome, what: () => string): void {
  const started = performance.now();
  let failure: string | undefined;
  try {
    decode(input);
    outcome.ok++;
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      failure = `threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : `a non-Error: ${String(e)}`}`;
    } else if (e.message.length === 0 || e.message.length > 4000) {
      failure = `DecodeError message of ${e.message.length} characters`;
    } else outcome.rejected++;
  }
  const elapsed = performance.now() - started;
  if (elapsed > MAX_MS_PER_INPUT) failure = `took ${Math.round(elapsed)} ms`;
  if (failure !== undefined && outcome.failures.length < 5) {
    const head = input.subarray(0, 96).toString(input[0] === 0x7b ? 'utf8' : 'hex');
    outcome.failures.push(`${SEED_TEXT}: ${what()}: ${failure}\n  input (${input.length} bytes) starts: ${head}`);
  }
}

// --------------------------------------------------------------------------------------------
// Deep nesting, built without recursion so that any depth can be tried.

/** A KeyValue list entry `deep` whose value is `depth` levels of array/kvlist around a string, as protobuf bytes. */
function deepAnyValueProto(depth: number): Buffer {
  const leaf = Buffer.from([0x0a, 0x04, ...Buffer.from('leaf')]); // AnyValue{string_value}
  const headers: Buffer[] = [];
  let size = leaf.length;
  const varint = (n: number) => {
    const b: number[] = [];
    while (n > 0x7f) {
      b.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    b.push(n);
    return b;
  };
  for (let i = 0; i < depth; i++) {
    // array: AnyValue{ array_value(5) { values(1) { <inner AnyValue> } } }
    // kvlist: AnyValue{ kvlist_value(6) { values(1) { KeyValue{ key(1) "k", value(2) <inner> } } } }
    let h: number[];
    if (i % 2 === 0) {
      const inner = [0x0a, ...varint(size)];
      h = [0x2a, ...varint(inner.length + size), ...inner];
    } else {
      const kv = [0x0a, 0x01, 0x6b, 0x12, ...varint(size)];
      const values = [0x0a, ...varint(kv.length + size)];
      h = [0x32, ...varint(values.length + kv.length + size), ...values, ...kv];
    }
    headers.push(Buffer.from(h));
    size += h.length;
  }
  headers.reverse();
  return Buffer.concat([...headers, leaf]);
}

function deepAnyValueJson(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 2 === 0) {
      open += '{"arrayValue":{"values":[';
      close = `]}}${close}`;
    } else {
      open += `{"kvlistValue":{"values":[{"key":"k${i}","value":`;
      close = `}]}}${close}`;
    }
  }
  return `${open}{"stringValue":"leaf"}${close}`;
}

function protoLen(field: number, payload: Buffer): Buffer {
  const w = officialWireFormat().Writer.create();
  return Buffer.from(w.uint32((field << 3) | 2).bytes(payload).finish());
}

/** ExportTraceServiceRequest with one span whose attribute `deep` is the given AnyValue bytes. */
function traceWithDeepAttribute(anyValue: Buffer): Buffer {
  const kv = Buffer.concat([Buffer.from([0x0a, 0x04, ...Buffer.from('deep')]), protoLen(2, anyValue)]);
  const span = Buffer.concat([protoLen(1, Buffer.alloc(16, 1)), protoLen(2, Buffer.alloc(8, 2)), protoLen(9, kv)]);
  return protoLen(1, protoLen(2, protoLen(2, span)));
}

/** ExportMetricsServiceRequest with one gauge point whose attribute `deep` is the given AnyValue bytes. */
function metricWithDeepAttribute(anyValue: Buffer): Buffer {
  const kv = Buffer.concat([Buffer.from([0x0a, 0x04, ...Buffer.from('deep')]), protoLen(2, anyValue)]);
  const point = protoLen(7, kv);
  const metric = Buffer.concat([Buffer.from([0x0a, 0x01, 0x67]), protoLen(5, protoLen(1, point))]);
  return protoLen(1, protoLen(2, protoLen(2, metric)));
}

// --------------------------------------------------------------------------------------------

interface Corpus {
  traces: Record<Encoding, Buffer[]>;
  metrics: Record<Encoding, Buffer[]>;
}

const corpus: Corpus = { traces: { protobuf: [], json: [] }, metrics: { protobuf: [], json: [] } };

beforeAll(async () => {
  const spans = (await meshSpans({ deterministic: true })).spans;
  for (const batch of [spans, spans.slice(0, 3), spans.slice(5)]) {
    const s = serializeSpans(batch);
    corpus.traces.protobuf.push(Buffer.from(s.protobuf));
    corpus.traces.json.push(Buffer.from(s.json));
  }
  for (const [w, t] of [
    [MESH_WORKLOADS.checkout, 'mixed'],
    [MESH_WORKLOADS.notifier, 'delta'],
  ] as const) {
    const s = serializeMetrics(pinTimes(await meshMetrics(w, t)));
    corpus.metrics.protobuf.push(Buffer.from(s.protobuf));
    corpus.metrics.json.push(Buffer.from(s.json));
  }
  // A summary with exemplars and extremes, which the SDK does not produce.
  const M = officialOtlp().ExportMetricsServiceRequest;
  const handMade = M.encode(
    M.fromObject({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 's', summary: { dataPoints: [{ count: 3, sum: 1.5, quantileValues: [{ quantile: 0.5, value: 1 }] }] } },
                { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '-9223372036854775808', exemplars: [{ asInt: 1, traceId: new Uint8Array(16).fill(3), spanId: new Uint8Array(8).fill(4) }] }] } },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
  corpus.metrics.protobuf.push(Buffer.from(handMade));
  const decoded = decodeMetricsProto(handMade);
  expect(decoded.resourceMetrics[0]!.scopeMetrics[0]!.metrics).toHaveLength(2);
});

describe(`OTLP decoders under fuzzing (${SEED_TEXT})`, () => {
  it('the corpus decodes cleanly in both encodings', () => {
    for (const signal of ['traces', 'metrics'] as const) {
      for (const encoding of ['protobuf', 'json'] as const) {
        for (const body of corpus[signal][encoding]) expect(() => DECODERS[encoding][signal](body)).not.toThrow();
      }
    }
  });

  for (const encoding of ['protobuf', 'json'] as const) {
    it(`mutated ${encoding} payloads: decoders of both signals return or throw DecodeError (${SEED_TEXT})`, () => {
      const rng = new Rng(SEED ^ (encoding === 'json' ? 0x9e3779b9 : 0));
      const outcome: Outcome = { ok: 0, rejected: 0, failures: [] };
      const all = [...corpus.traces[encoding], ...corpus.metrics[encoding]];
      const iterations = encoding === 'json' ? 3000 : 6000;
      for (let i = 0; i < iterations; i++) {
        const signal = rng.chance(0.5) ? 'traces' : 'metrics';
        const { mutation, output: input } = mutate(rng, rng.pick(corpus[signal][encoding]), all, encoding === 'json');
        // Both signals' decoders see every input: a trace payload sent to /v1/metrics is a client error, not a crash.
        check(DECODERS[encoding].traces, input, outcome, () => `iteration ${i}, ${mutation} of a ${signal} payload, traces decoder`);
        check(DECODERS[encoding].metrics, input, outcome, () => `iteration ${i}, ${mutation} of a ${signal} payload, metrics decoder`);
      }
      expect(outcome.failures, outcome.failures.join('\n\n')).toEqual([]);
      // The mutations reach past the first byte: some inputs still decode, some are rejected.
      expect(outcome.ok, SEED_TEXT).toBeGreaterThan(iterations / 20);
      expect(outcome.rejected, SEED_TEXT).toBeGreaterThan(iterations / 20);
    });
  }

  it(`decoding traces in steps gives what decoding at once gives, data or error (${SEED_TEXT})`, () => {
    const rng = new Rng(SEED ^ 0x27d4eb2f);
    const outcome = (decode: () => unknown) => {
      try {
        return { data: decode() };
      } catch (e) {
        return { error: e instanceof DecodeError ? e.message : `not a DecodeError: ${String(e)}` };
      }
    };
    let decoded = 0;
    for (let i = 0; i < 2000; i++) {
      const input = i < corpus.traces.protobuf.length ? corpus.traces.protobuf[i]! : mutate(rng, rng.pick(corpus.traces.protobuf), corpus.traces.protobuf, false).output;
      const step = 1 + rng.int(2048);
      const stepped = outcome(() => {
        const decoder = new TracesProtoDecoder(input);
        while (!decoder.step(step));
        return decoder.data;
      });
      expect(stepped, `${SEED_TEXT}: iteration ${i}, steps of ${step} bytes`).toEqual(outcome(() => decodeTracesProto(input)));
      if ('data' in stepped) decoded++;
    }
    expect(decoded, SEED_TEXT).toBeGreaterThan(100);
  });

  it(`random protobuf field streams and random bytes (${SEED_TEXT})`, () => {
    const rng = new Rng(SEED ^ 0x85ebca6b);
    const outcome: Outcome = { ok: 0, rejected: 0, failures: [] };
    for (let i = 0; i < 3000; i++) {
      const random = rng.chance(0.7);
      const input = random ? randomFields(rng, 0, { bytes: 4096 }) : Buffer.from(Array.from({ length: rng.int(512) }, () => rng.int(256)));
      // Wrapping in the request's outer fields gets random data past the top-level parser.
      const wrapped = rng.chance(0.5) ? protoLen(1, protoLen(2, protoLen(2, input))) : input;
      check(decodeTracesProto, wrapped, outcome, () => `iteration ${i}, random ${random ? 'fields' : 'bytes'}, traces`);
      check(decodeMetricsProto, wrapped, outcome, () => `iteration ${i}, random ${random ? 'fields' : 'bytes'}, metrics`);
    }
    expect(outcome.failures, outcome.failures.join('\n\n')).toEqual([]);
  });

  it(`random JSON documents (${SEED_TEXT})`, () => {
    const rng = new Rng(SEED ^ 0xc2b2ae35);
    const outcome: Outcome = { ok: 0, rejected: 0, failures: [] };
    for (let i = 0; i < 3000; i++) {
      const doc = randomJson(rng, 0);
      const wrapped = rng.chance(0.5)
        ? { resourceSpans: [{ scopeSpans: [{ spans: [doc] }] }], resourceMetrics: [{ scopeMetrics: [{ metrics: [doc] }] }] }
        : doc;
      const input = Buffer.from(JSON.stringify(wrapped));
      check(decodeTracesJson, input, outcome, () => `iteration ${i}, random JSON, traces`);
      check(decodeMetricsJson, input, outcome, () => `iteration ${i}, random JSON, metrics`);
    }
    expect(outcome.failures, outcome.failures.join('\n\n')).toEqual([]);
  });

  it('duplicated top-level fields are valid protobuf: one more resource each, as the official decoder reads it', () => {
    const pbReader = officialWireFormat().Reader;
    for (const [signal, body] of [
      ...corpus.traces.protobuf.map((b) => ['traces', b] as const),
      ...corpus.metrics.protobuf.map((b) => ['metrics', b] as const),
    ]) {
      const r = pbReader.create(body);
      const fields: [number, number][] = [];
      while (r.pos < r.len) {
        const start = r.pos;
        r.skipType(r.uint32() & 7);
        fields.push([start, r.pos]);
      }
      const [start, end] = fields[fields.length - 1]!;
      const doubled = Buffer.concat([body, body.subarray(start, end)]);
      if (signal === 'traces') {
        expect(decodeTracesProto(doubled).resourceSpans).toHaveLength(fields.length + 1);
        expect(officialOtlp().ExportTraceServiceRequest.decode(doubled).resourceSpans).toHaveLength(fields.length + 1);
      } else {
        expect(decodeMetricsProto(doubled).resourceMetrics).toHaveLength(fields.length + 1);
        expect(officialOtlp().ExportMetricsServiceRequest.decode(doubled).resourceMetrics).toHaveLength(fields.length + 1);
      }
    }
  });

  it.each([33, 64, 1_000, 100_000])('array/kvlist values nested %d deep are refused with a DecodeError, in both encodings and signals', (depth) => {
    const anyValue = deepAnyValueProto(depth);
    const json = deepAnyValueJson(depth);
    const traceJson = Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","attributes":[{"key":"deep","value":${json}}]}]}]}]}`);
    const metricJson = Buffer.from(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"attributes":[{"key":"deep","value":${json}}]}]}}]}]}]}`);
    const cases: [Decoder, Buffer][] = [
      [decodeTracesProto, traceWithDeepAttribute(anyValue)],
      [decodeMetricsProto, metricWithDeepAttribute(anyValue)],
      [decodeTracesJson, traceJson],
      [decodeMetricsJson, metricJson],
    ];
    for (const [decode, body] of cases) {
      const started = performance.now();
      let error: unknown;
      try {
        decode(body);
      } catch (e) {
        error = e;
      }
      expect(error, `${decode.name} at depth ${depth}`).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).message).toMatch(/values nested deeper than 32$/);
      expect(performance.now() - started).toBeLessThan(MAX_MS_PER_INPUT);
    }
  });

  it('the nesting builders are right: 32 levels decode, in both encodings', () => {
    const proto = decodeTracesProto(traceWithDeepAttribute(deepAnyValueProto(32)));
    const json = decodeTracesJson(
      Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","attributes":[{"key":"deep","value":${deepAnyValueJson(32)}}]}]}]}]}`),
    );
    const depthOf = (v: unknown): number => {
      let d = 0;
      for (let cur = v; ; d++) {
        if (Array.isArray(cur)) cur = cur[0];
        else if (cur !== null && typeof cur === 'object' && 'values' in cur) cur = (cur as { values: { value: unknown }[] }).values[0]!.value;
        else return cur === 'leaf' ? d : -1;
      }
    };
    expect(depthOf(proto.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value)).toBe(32);
    expect(depthOf(json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value)).toBe(32);
  });

  it('deeply nested JSON that is not an AnyValue returns or is a DecodeError, never a stack overflow', () => {
    const outcome: Outcome = { ok: 0, rejected: 0, failures: [] };
    for (const depth of [10_000, 300_000]) {
      const bodies = [
        '['.repeat(depth) + ']'.repeat(depth),
        `{"resourceSpans":${'['.repeat(depth)}${']'.repeat(depth)}}`,
        `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]}]}]}`,
        `{"unknownField":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      ];
      for (const [i, body] of bodies.entries()) {
        check(decodeTracesJson, Buffer.from(body), outcome, () => `body ${i} at depth ${depth}, traces`);
        check(decodeMetricsJson, Buffer.from(body), outcome, () => `body ${i} at depth ${depth}, metrics`);
      }
    }
    expect(outcome.failures, outcome.failures.join('\n\n')).toEqual([]);
    // Per depth: the bare array is no request (both decoders refuse it), `resourceSpans` holding
    // an array is refused by the traces decoder and ignored by the metrics one; the deep gauge
    // content and the deep unknown field are ignored (unknown fields are skipped).
    expect([outcome.rejected, outcome.ok]).toEqual([6, 10]);
  });
});
