import { createRequire } from 'node:module';

type Message = { decode(bytes: Uint8Array): unknown };

interface ProtobufjsRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: Message } };
        metrics: { v1: { ExportMetricsServiceRequest: Message } };
      };
    };
  };
}

/**
 * The baseline decoders: protobufjs code generated from the official OTLP protos
 * (otlp-transformer 0.208), for an `ExportTraceServiceRequest` or an `ExportMetricsServiceRequest`.
 */
export function protobufjsDecoder(signal: 'trace' | 'metrics'): (bytes: Uint8Array) => unknown {
  const root = createRequire(import.meta.url)('otlp-transformer-protobufjs/build/src/generated/root.js') as ProtobufjsRoot;
  const { collector } = root.opentelemetry.proto;
  const message = signal === 'trace' ? collector.trace.v1.ExportTraceServiceRequest : collector.metrics.v1.ExportMetricsServiceRequest;
  return (bytes) => message.decode(bytes);
}
