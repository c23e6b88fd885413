import type { Exemplar, HistogramPoint, Metric, MetricsData, NumberPoint, ResourceMetrics } from '../model/metrics.js';
import { writeAttributes, writeResource, writeScope } from './encode-traces-proto.js';
import { WireType } from './protobuf-reader.js';
import { ProtobufWriter } from './protobuf-writer.js';

const { VARINT, I64, LEN } = WireType;

/**
 * Encodes an OTLP `ExportMetricsServiceRequest` (protobuf), the inverse of decodeMetricsProto:
 * gauges, sums, histograms, exponential histograms and summaries, every field of the model.
 */
export function encodeMetricsProto(data: MetricsData, writer = new ProtobufWriter(64 * 1024)): Buffer {
  for (const rm of data.resourceMetrics) writeResourceMetrics(writer.tag(1, LEN).fork(), rm).join();
  return writer.finish();
}

function writeResourceMetrics(w: ProtobufWriter, rm: ResourceMetrics): ProtobufWriter {
  writeResource(w.tag(1, LEN).fork(), rm.resource).join();
  for (const sm of rm.scopeMetrics) {
    w.tag(2, LEN).fork();
    writeScope(w.tag(1, LEN).fork(), sm.scope).join();
    for (const m of sm.metrics) writeMetric(w.tag(2, LEN).fork(), m).join();
    if (sm.schemaUrl !== '') w.tag(3, LEN).string(sm.schemaUrl);
    w.join();
  }
  if (rm.schemaUrl !== '') w.tag(3, LEN).string(rm.schemaUrl);
  return w;
}

function writeMetric(w: ProtobufWriter, m: Metric): ProtobufWriter {
  if (m.name !== '') w.tag(1, LEN).string(m.name);
  if (m.description !== '') w.tag(2, LEN).string(m.description);
  if (m.unit !== '') w.tag(3, LEN).string(m.unit);
  const d = m.data;
  switch (d.type) {
    case 'gauge':
      w.tag(5, LEN).fork();
      for (const p of d.points) writeNumberPoint(w.tag(1, LEN).fork(), p).join();
      w.join();
      break;
    case 'sum':
      w.tag(7, LEN).fork();
      for (const p of d.points) writeNumberPoint(w.tag(1, LEN).fork(), p).join();
      if (d.temporality !== 0) w.tag(2, VARINT).int32(d.temporality);
      if (d.monotonic) w.tag(3, VARINT).varint(1);
      w.join();
      break;
    case 'histogram':
      w.tag(9, LEN).fork();
      for (const p of d.points) writeHistogramPoint(w.tag(1, LEN).fork(), p).join();
      if (d.temporality !== 0) w.tag(2, VARINT).int32(d.temporality);
      w.join();
      break;
    case 'exponentialHistogram':
      w.tag(10, LEN).fork();
      for (const p of d.points) {
        w.tag(1, LEN).fork();
        writeAttributes(w, 1, p.attributes);
        writeTimes(w, p.startTimeUnixNano, p.timeUnixNano);
        if (p.count !== 0) w.tag(4, I64).fixed64Number(p.count);
        if (p.sum !== undefined) w.tag(5, I64).double(p.sum);
        if (p.scale !== 0) w.tag(6, VARINT).sint32(p.scale);
        if (p.zeroCount !== 0) w.tag(7, I64).fixed64Number(p.zeroCount);
        for (const [field, b] of [[8, p.positive], [9, p.negative]] as const) {
          if (b.offset === 0 && b.bucketCounts.length === 0) continue;
          w.tag(field, LEN).fork();
          if (b.offset !== 0) w.tag(1, VARINT).sint32(b.offset);
          if (b.bucketCounts.length > 0) {
            w.tag(2, LEN).fork();
            for (const c of b.bucketCounts) w.varint(c);
            w.join();
          }
          w.join();
        }
        if (p.flags !== 0) w.tag(10, VARINT).varint(p.flags);
        for (const x of p.exemplars) writeExemplar(w.tag(11, LEN).fork(), x).join();
        if (p.min !== undefined) w.tag(12, I64).double(p.min);
        if (p.max !== undefined) w.tag(13, I64).double(p.max);
        if (p.zeroThreshold !== 0) w.tag(14, I64).double(p.zeroThreshold);
        w.join();
      }
      if (d.temporality !== 0) w.tag(2, VARINT).int32(d.temporality);
      w.join();
      break;
    case 'summary':
      w.tag(11, LEN).fork();
      for (const p of d.points) {
        w.tag(1, LEN).fork();
        writeTimes(w, p.startTimeUnixNano, p.timeUnixNano);
        if (p.count !== 0) w.tag(4, I64).fixed64Number(p.count);
        if (p.sum !== 0) w.tag(5, I64).double(p.sum);
        for (const q of p.quantileValues) {
          w.tag(6, LEN).fork();
          if (q.quantile !== 0) w.tag(1, I64).double(q.quantile);
          if (q.value !== 0) w.tag(2, I64).double(q.value);
          w.join();
        }
        writeAttributes(w, 7, p.attributes);
        if (p.flags !== 0) w.tag(8, VARINT).varint(p.flags);
        w.join();
      }
      w.join();
      break;
    case 'empty':
      break;
  }
  writeAttributes(w, 12, m.metadata);
  return w;
}

function writeTimes(w: ProtobufWriter, start: bigint, time: bigint): void {
  if (start !== 0n) w.tag(2, I64).fixed64(start);
  if (time !== 0n) w.tag(3, I64).fixed64(time);
}

function writeNumberPoint(w: ProtobufWriter, p: NumberPoint): ProtobufWriter {
  writeTimes(w, p.startTimeUnixNano, p.timeUnixNano);
  if (typeof p.value === 'bigint') w.tag(6, I64).sfixed64(p.value);
  else w.tag(4, I64).double(p.value);
  for (const x of p.exemplars) writeExemplar(w.tag(5, LEN).fork(), x).join();
  writeAttributes(w, 7, p.attributes);
  if (p.flags !== 0) w.tag(8, VARINT).varint(p.flags);
  return w;
}

function writeHistogramPoint(w: ProtobufWriter, p: HistogramPoint): ProtobufWriter {
  writeTimes(w, p.startTimeUnixNano, p.timeUnixNano);
  if (p.count !== 0) w.tag(4, I64).fixed64Number(p.count);
  if (p.sum !== undefined) w.tag(5, I64).double(p.sum);
  if (p.bucketCounts.length > 0) {
    w.tag(6, LEN).fork();
    for (const c of p.bucketCounts) w.fixed64Number(c);
    w.join();
  }
  if (p.explicitBounds.length > 0) {
    w.tag(7, LEN).fork();
    for (const b of p.explicitBounds) w.double(b);
    w.join();
  }
  for (const x of p.exemplars) writeExemplar(w.tag(8, LEN).fork(), x).join();
  writeAttributes(w, 9, p.attributes);
  if (p.flags !== 0) w.tag(10, VARINT).varint(p.flags);
  if (p.min !== undefined) w.tag(11, I64).double(p.min);
  if (p.max !== undefined) w.tag(12, I64).double(p.max);
  return w;
}

function writeExemplar(w: ProtobufWriter, x: Exemplar): ProtobufWriter {
  if (x.timeUnixNano !== 0n) w.tag(2, I64).fixed64(x.timeUnixNano);
  if (typeof x.value === 'bigint') w.tag(6, I64).sfixed64(x.value);
  else w.tag(3, I64).double(x.value);
  if (x.spanId !== '') w.tag(4, LEN).hexBytes(x.spanId);
  if (x.traceId !== '') w.tag(5, LEN).hexBytes(x.traceId);
  writeAttributes(w, 7, x.filteredAttributes);
  return w;
}
