import { ProtobufWriter } from './protobuf-writer.js';
import { WireType } from './protobuf-reader.js';

/**
 * Response bodies of the OTLP/HTTP receiver, in the encoding of the request
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response).
 */
export type Encoding = 'protobuf' | 'json';
export type Signal = 'traces' | 'metrics';

export const CONTENT_TYPE: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/**
 * An `ExportTraceServiceResponse` / `ExportMetricsServiceResponse`. With `rejected === 0` and no
 * message it is the empty message, meaning full success; otherwise it carries `partial_success`.
 */
export function exportResponse(signal: Signal, encoding: Encoding, rejected: number, message: string): Buffer {
  const partial = rejected > 0 || message !== '';
  if (encoding === 'json') {
    if (!partial) return Buffer.from('{}');
    const countKey = signal === 'traces' ? 'rejectedSpans' : 'rejectedDataPoints';
    return Buffer.from(JSON.stringify({ partialSuccess: { [countKey]: String(rejected), errorMessage: message } }));
  }
  const w = new ProtobufWriter(64);
  if (partial) {
    w.tag(1, WireType.LEN).fork();
    if (rejected > 0) w.tag(1, WireType.VARINT).varint(rejected);
    if (message !== '') w.tag(2, WireType.LEN).string(message);
    w.join();
  }
  return w.finish();
}

/** gRPC status codes used in `google.rpc.Status` bodies, by the HTTP status they accompany. */
const GRPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  413: 8, // RESOURCE_EXHAUSTED
  415: 3, // INVALID_ARGUMENT
  429: 8, // RESOURCE_EXHAUSTED
  503: 14, // UNAVAILABLE
};

/** A `google.rpc.Status` body for a 4xx/5xx answer, as the OTLP/HTTP spec requires. */
export function statusResponse(httpStatus: number, encoding: Encoding, message: string): Buffer {
  const code = GRPC_CODE[httpStatus] ?? 2; // UNKNOWN
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return new ProtobufWriter(64).tag(1, WireType.VARINT).varint(code).tag(2, WireType.LEN).string(message).finish();
}
