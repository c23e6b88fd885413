import { describe, expect, it } from 'vitest';
import { ProtobufReader } from '../../../collector/otlp/protobuf-reader.js';
import { ProtobufWriter } from '../../../collector/otlp/protobuf-writer.js';

/** Encodes strings as consecutive LEN fields and reads them back with one reader. */
function roundTrip(values: string[]): string[] {
  const w = new ProtobufWriter();
  for (const v of values) w.tag(1, 2).string(v);
  const r = new ProtobufReader(w.finish());
  const out: string[] = [];
  while (r.pos < r.limit) {
    r.tag();
    out.push(r.string());
  }
  return out;
}

describe('decoded string cache', () => {
  it('returns the same bytes as the same string, and different bytes as different strings', () => {
    const values = ['service.name', 'auth', 'service.name', 'äuth ✓', 'auth', 'authx', ''];
    expect(roundTrip(values)).toEqual(values);
  });

  it('stays correct when thousands of distinct strings compete for its slots', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => `key-${i % 7000}-${(i * 7919) % 13}`);
    expect(roundTrip(values)).toEqual(values);
  });

  it('decodes long strings and invalid UTF-8 the same way as without it', () => {
    const long = 'x'.repeat(65) + '✓';
    expect(roundTrip([long, long])).toEqual([long, long]);
    const w = new ProtobufWriter();
    w.tag(1, 2).bytes(Uint8Array.from([0x61, 0xff, 0x62]));
    w.tag(1, 2).bytes(Uint8Array.from([0x61, 0xff, 0x62]));
    const r = new ProtobufReader(w.finish());
    r.tag();
    const first = r.string();
    r.tag();
    expect([first, r.string()]).toEqual(['a\ufffdb', 'a\ufffdb']);
  });
});
