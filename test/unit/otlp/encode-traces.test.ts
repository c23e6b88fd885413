import { describe, expect, it } from 'vitest';
import { decodeTracesProto } from '../../../collector/otlp/decode-traces-proto.js';
import { encodeTracesProto } from '../../../collector/otlp/encode-traces-proto.js';
import { comparable, meshSpans, officialTraces, serializeSpans } from '../../support/otel-fixtures.js';

describe('encodeTracesProto', () => {
  it('re-encodes what the SDK sent so that the official decoder reads every field unchanged', async () => {
    const { spans } = await meshSpans();
    const original = serializeSpans(spans).protobuf;
    const reencoded = encodeTracesProto(decodeTracesProto(original));
    expect(comparable(officialTraces(reencoded))).toEqual(comparable(officialTraces(original)));
  });

  it('round-trips through our decoder to the same model', async () => {
    const { spans } = await meshSpans();
    const model = decodeTracesProto(serializeSpans(spans).protobuf);
    expect(comparable(decodeTracesProto(encodeTracesProto(model)))).toEqual(comparable(model));
  });

  it('encodes an empty request as no bytes', () => {
    expect(encodeTracesProto({ resourceSpans: [] }).length).toBe(0);
  });
});
