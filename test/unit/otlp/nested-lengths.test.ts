import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../collector/otlp/decode-error.js';
import { decodeTracesProto } from '../../../collector/otlp/decode-traces-proto.js';

describe('nested message lengths', () => {
  it('refuses a field whose length runs past the end of its parent message, even inside the buffer', () => {
    // ExportTraceServiceRequest { resource_spans (1): 4 bytes { schema_url (3): length 6 ... } }
    // followed by enough bytes for the 6 to fit in the buffer but not in resource_spans.
    const body = Uint8Array.from([0x0a, 0x04, 0x1a, 0x06, 0x61, 0x62, 0x0a, 0x00, 0x0a, 0x00]);
    expect(() => decodeTracesProto(body)).toThrow(DecodeError);
    expect(() => decodeTracesProto(body)).toThrow(/^resourceSpans\[0\]: length 6 at byte 4 runs past the end of its message$/);
  });

  it('accepts the same bytes when the lengths nest properly', () => {
    const body = Uint8Array.from([0x0a, 0x04, 0x1a, 0x02, 0x61, 0x62, 0x0a, 0x00]);
    const data = decodeTracesProto(body);
    expect(data.resourceSpans.map((rs) => rs.schemaUrl)).toEqual(['ab', '']);
  });
});
