/**
 * Seeded input generators and mutators shared by the fuzz tests (decoders and receiver). Every
 * random choice comes from one Rng, so that a seed replays the same inputs.
 */
import { officialWireFormat } from '../support/otel-fixtures.js';

/** The seed from an environment variable, or undefined when unset. */
export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`MESHTEL_FUZZ_SEED must be an integer, got "${text}"`);
  return n >>> 0;
}

/** The benchmark's seeded PRNG (mulberry32): a seed replays the same inputs. */
export { Random as Rng } from '../../bench/mesh/random.js';
import type { Random as Rng } from '../../bench/mesh/random.js';

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x22, 0x08, 0x09, 0x11];

export function bitFlips(rng: Rng, input: Buffer): Buffer {
  const out = Buffer.from(input);
  if (out.length === 0) return out;
  for (let i = 1 + rng.int(8); i > 0; i--) {
    const at = rng.int(out.length);
    out[at]! ^= 1 << rng.int(8);
  }
  return out;
}

export function byteSets(rng: Rng, input: Buffer): Buffer {
  const out = Buffer.from(input);
  if (out.length === 0) return out;
  for (let i = 1 + rng.int(4); i > 0; i--) out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  return out;
}

export function truncation(rng: Rng, input: Buffer): Buffer {
  return input.subarray(0, rng.int(input.length + 1));
}

export function splice(rng: Rng, input: Buffer, donor: Buffer): Buffer {
  const from = rng.int(donor.length + 1);
  const piece = donor.subarray(from, from + rng.int(Math.min(512, donor.length - from) + 1));
  const at = rng.int(input.length + 1);
  return Buffer.concat([input.subarray(0, at), piece, input.subarray(at)]);
}

export function duplication(rng: Rng, input: Buffer): Buffer {
  const from = rng.int(input.length + 1);
  const piece = input.subarray(from, from + rng.int(Math.min(256, input.length - from) + 1));
  const at = rng.int(input.length + 1);
  return Buffer.concat([input.subarray(0, at), piece, piece, input.subarray(at)]);
}

export function deletion(rng: Rng, input: Buffer): Buffer {
  const from = rng.int(input.length + 1);
  return Buffer.concat([input.subarray(0, from), input.subarray(from + 1 + rng.int(64))]);
}

/** Inserts a LEN field whose length is huge: past the end, beyond 32 bits, or a 10-byte varint. */
export function hugeLength(rng: Rng, input: Buffer): Buffer {
  const lengths = [
    [0xff, 0xff, 0xff, 0xff, 0x0f],
    [0x80, 0x80, 0x80, 0x80, 0x10],
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    [0xe8, 0x07],
  ];
  const tag = ((1 + rng.int(16)) << 3) | 2;
  const at = rng.int(input.length + 1);
  return Buffer.concat([input.subarray(0, at), Buffer.from([tag, ...rng.pick(lengths)]), input.subarray(at)]);
}

/** A stream of random protobuf fields, LEN fields holding further random streams. */
export function randomFields(rng: Rng, depth: number, budget: { bytes: number }): Buffer {
  const parts: Buffer[] = [];
  const w = officialWireFormat().Writer;
  for (let n = rng.int(6); n > 0 && budget.bytes > 0; n--) {
    const field = rng.chance(0.9) ? 1 + rng.int(16) : rng.int(1 << 20);
    const wire = rng.pick([0, 1, 2, 2, 2, 5, 3, 4, 6, 7]);
    const writer = w.create().uint32(((field << 3) | wire) >>> 0);
    if (wire === 0) writer.uint64(rng.chance(0.2) ? '18446744073709551615' : rng.int(2 ** 31));
    else if (wire === 1) writer.fixed64(rng.int(2 ** 31));
    else if (wire === 5) writer.fixed32(rng.int(2 ** 31));
    else if (wire === 2) {
      const inner = depth < 40 && rng.chance(0.7) ? randomFields(rng, depth + 1, budget) : Buffer.from(Array.from({ length: rng.int(24) }, () => rng.int(256)));
      writer.bytes(inner);
    }
    const bytes = Buffer.from(writer.finish());
    budget.bytes -= bytes.length;
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}

/** A random JSON value of the kinds OTLP/JSON decoders meet (and some they should not). */
export function randomJson(rng: Rng, depth: number): unknown {
  const leaves: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 64,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    '0',
    '-1',
    'NaN',
    'Infinity',
    '-9223372036854775809',
    '18446744073709551616',
    '4bf92f3577b34da6a3ce929d0e0e4736',
    '00f067aa0ba902b7',
    'SPAN_KIND_SERVER',
    'AGGREGATION_TEMPORALITY_DELTA',
    'AAEC/w==',
    'x'.repeat(rng.int(300)),
    '\u0000\ud800',
  ];
  if (depth > 6 || rng.chance(0.5)) return rng.pick(leaves);
  if (rng.chance(0.4)) return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
  const keys = [
    'resourceSpans', 'resource_metrics', 'scopeSpans', 'spans', 'metrics', 'dataPoints', 'attributes', 'key', 'value',
    'stringValue', 'intValue', 'doubleValue', 'boolValue', 'bytesValue', 'arrayValue', 'kvlistValue', 'values',
    'traceId', 'spanId', 'kind', 'status', 'code', 'sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary',
    'asInt', 'asDouble', 'bucketCounts', 'explicitBounds', 'positive', 'offset', 'scale', 'count', '__proto__', 'constructor',
  ];
  const o: Record<string, unknown> = {};
  for (let n = rng.int(5); n > 0; n--) o[rng.pick(keys)] = randomJson(rng, depth + 1);
  return o;
}

/** Replaces, deletes or duplicates one random node of a parsed JSON document. */
export function mutateJsonTree(rng: Rng, doc: unknown): unknown {
  const root = { doc };
  const containers: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (node: unknown, parent: Record<string, unknown> | unknown[], key: string | number) => {
    containers.push([parent, key]);
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, node, i));
    else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, node as Record<string, unknown>, k);
  };
  walk(doc, root, 'doc');
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const [parent, key] = rng.pick(containers);
    const r = rng.int(10);
    if (Array.isArray(parent) && typeof key === 'number') {
      if (r < 2) parent.splice(key, 1);
      else if (r < 4) parent.splice(key, 0, structuredClone(parent[key]));
      else parent[key] = randomJson(rng, 0);
    } else {
      const o = parent as Record<string, unknown>;
      if (r < 2) delete o[key];
      else if (r < 3) o[`${String(key)}_unknown`] = o[key];
      else if (r < 4) o[String(key).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = o[key];
      else o[key] = randomJson(rng, 0);
    }
  }
  return root.doc;
}


const BINARY_MUTATIONS = ['bitFlips', 'byteSets', 'truncation', 'splice', 'duplication', 'deletion', 'hugeLength', 'stacked'] as const;
const JSON_MUTATIONS = [...BINARY_MUTATIONS, 'tree', 'tree', 'tree'] as const;
type Mutation = (typeof JSON_MUTATIONS)[number];

/**
 * One random mutation of `input` (bit flips, byte sets, truncation, a splice from one of
 * `donors`, a duplicated or deleted slice, an inserted huge length, several of these stacked,
 * and for JSON documents a structural change of the parsed tree). Returns what was done, for
 * failure messages, and the mutated bytes.
 */
export function mutate(rng: Rng, input: Buffer, donors: readonly Buffer[], isJson: boolean): { mutation: Mutation; output: Buffer } {
  const mutation = rng.pick<Mutation>(isJson ? JSON_MUTATIONS : BINARY_MUTATIONS);
  const apply = (m: Mutation, bytes: Buffer): Buffer => {
    switch (m) {
      case 'bitFlips':
        return bitFlips(rng, bytes);
      case 'byteSets':
        return byteSets(rng, bytes);
      case 'truncation':
        return truncation(rng, bytes);
      case 'splice':
        return splice(rng, bytes, rng.pick(donors));
      case 'duplication':
        return duplication(rng, bytes);
      case 'deletion':
        return deletion(rng, bytes);
      case 'hugeLength':
        return hugeLength(rng, bytes);
      case 'tree':
        // The whole document may have been deleted: JSON.stringify(undefined) is undefined.
        return Buffer.from((JSON.stringify(mutateJsonTree(rng, JSON.parse(bytes.toString('utf8')))) as string | undefined) ?? '');
      case 'stacked': {
        let out = bytes;
        for (let n = 2 + rng.int(3); n > 0; n--) out = apply(rng.pick(['bitFlips', 'byteSets', 'splice', 'duplication', 'deletion', 'hugeLength'] as const), out);
        return out;
      }
    }
  };
  return { mutation, output: apply(mutation, input) };
}
