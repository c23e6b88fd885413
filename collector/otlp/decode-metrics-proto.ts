import type {
  Exemplar,
  ExponentialBuckets,
  ExponentialHistogramPoint,
  HistogramPoint,
  Metric,
  MetricData,
  MetricsData,
  NumberPoint,
  QuantileValue,
  ResourceMetrics,
  ScopeMetrics,
  SummaryPoint,
  Temporality,
} from '../model/metrics.js';
import { rethrowWithin } from './decode-error.js';
import { excerpt, readKeyValue, readResource, readScope } from './proto-common.js';
import { ProtobufReader, WireType } from './protobuf-reader.js';

/**
 * Decodes an OTLP `ExportMetricsServiceRequest` (protobuf): gauges, sums, histograms,
 * exponential histograms and summaries. Unknown fields are skipped; anything malformed throws
 * a DecodeError naming the path to the bad field.
 */
export function decodeMetricsProto(body: Uint8Array): MetricsData {
  const r = new ProtobufReader(body);
  const resourceMetrics: ResourceMetrics[] = [];
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag >>> 3 === 1) {
      r.expect(tag & 7, WireType.LEN);
      try {
        resourceMetrics.push(readResourceMetrics(r, r.message()));
      } catch (e) {
        rethrowWithin(e, `resourceMetrics[${resourceMetrics.length}]`);
      }
    } else r.skip(tag & 7);
  }
  return { resourceMetrics };
}

function readResourceMetrics(r: ProtobufReader, end: number): ResourceMetrics {
  const rm: ResourceMetrics = { resource: { attributes: [], droppedAttributesCount: 0 }, scopeMetrics: [], schemaUrl: '' };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        try {
          rm.resource = readResource(r, r.message());
        } catch (e) {
          rethrowWithin(e, 'resource');
        }
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        try {
          rm.scopeMetrics.push(readScopeMetrics(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `scopeMetrics[${rm.scopeMetrics.length}]`);
        }
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        rm.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return rm;
}

function readScopeMetrics(r: ProtobufReader, end: number): ScopeMetrics {
  const sm: ScopeMetrics = {
    scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 },
    metrics: [],
    schemaUrl: '',
  };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.LEN);
        try {
          sm.scope = readScope(r, r.message());
        } catch (e) {
          rethrowWithin(e, 'scope');
        }
        break;
      case 2:
        r.expect(tag & 7, WireType.LEN);
        try {
          sm.metrics.push(readMetric(r, r.message()));
        } catch (e) {
          rethrowWithin(e, `metrics[${sm.metrics.length}]`);
        }
        break;
      case 3:
        r.expect(tag & 7, WireType.LEN);
        sm.schemaUrl = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return sm;
}

function readMetric(r: ProtobufReader, end: number): Metric {
  const metric: Metric = { name: '', description: '', unit: '', data: { type: 'empty' }, metadata: [] };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    const field = tag >>> 3;
    switch (field) {
      case 1:
        r.expect(wire, WireType.LEN);
        metric.name = r.string();
        break;
      case 2:
        r.expect(wire, WireType.LEN);
        metric.description = r.string();
        break;
      case 3:
        r.expect(wire, WireType.LEN);
        metric.unit = r.string();
        break;
      case 5:
      case 7:
      case 9:
      case 10:
      case 11:
        r.expect(wire, WireType.LEN);
        try {
          metric.data = readData(r, r.message(), field);
        } catch (e) {
          rethrowWithin(e, metric.name === '' ? DATA_FIELD[field]! : `${DATA_FIELD[field]}("${excerpt(metric.name)}")`);
        }
        break;
      case 12:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), metric.metadata, 0);
        break;
      default:
        r.skip(wire);
    }
  }
  return metric;
}

const DATA_FIELD: Record<number, string> = {
  5: 'gauge',
  7: 'sum',
  9: 'histogram',
  10: 'exponentialHistogram',
  11: 'summary',
};

/** Reads a Gauge, Sum, Histogram, ExponentialHistogram or Summary message, by its Metric field. */
function readData(r: ProtobufReader, end: number, field: number): MetricData {
  const points: unknown[] = [];
  let temporality = 0;
  let monotonic = false;
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1: {
        r.expect(tag & 7, WireType.LEN);
        const pointEnd = r.message();
        try {
          points.push(readPoint(r, pointEnd, field));
        } catch (e) {
          rethrowWithin(e, `dataPoints[${points.length}]`);
        }
        break;
      }
      case 2:
        if (field === 5 || field === 11) r.skip(tag & 7);
        else {
          r.expect(tag & 7, WireType.VARINT);
          temporality = r.int32();
        }
        break;
      case 3:
        if (field === 7) {
          r.expect(tag & 7, WireType.VARINT);
          monotonic = r.bool();
        } else r.skip(tag & 7);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  const t = temporality as Temporality;
  switch (field) {
    case 5:
      return { type: 'gauge', points: points as NumberPoint[] };
    case 7:
      return { type: 'sum', points: points as NumberPoint[], temporality: t, monotonic };
    case 9:
      return { type: 'histogram', points: points as HistogramPoint[], temporality: t };
    case 10:
      return { type: 'exponentialHistogram', points: points as ExponentialHistogramPoint[], temporality: t };
    default:
      return { type: 'summary', points: points as SummaryPoint[] };
  }
}

function readPoint(r: ProtobufReader, end: number, field: number): NumberPoint | HistogramPoint | ExponentialHistogramPoint | SummaryPoint {
  switch (field) {
    case 5:
    case 7:
      return readNumberPoint(r, end);
    case 9:
      return readHistogramPoint(r, end);
    case 10:
      return readExponentialPoint(r, end);
    default:
      return readSummaryPoint(r, end);
  }
}

function readNumberPoint(r: ProtobufReader, end: number): NumberPoint {
  const p: NumberPoint = { attributes: [], startTimeUnixNano: 0n, timeUnixNano: 0n, exemplars: [], flags: 0, value: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 2:
        r.expect(wire, WireType.I64);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        r.expect(wire, WireType.I64);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        r.expect(wire, WireType.I64);
        p.value = r.double();
        break;
      case 5:
        r.expect(wire, WireType.LEN);
        readExemplarInto(r, p.exemplars);
        break;
      case 6:
        r.expect(wire, WireType.I64);
        p.value = r.sfixed64();
        break;
      case 7:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), p.attributes, 0);
        break;
      case 8:
        r.expect(wire, WireType.VARINT);
        p.flags = r.uint32();
        break;
      default:
        r.skip(wire);
    }
  }
  return p;
}

function readHistogramPoint(r: ProtobufReader, end: number): HistogramPoint {
  const p: HistogramPoint = {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    exemplars: [],
    flags: 0,
    count: 0,
    sum: undefined,
    bucketCounts: [],
    explicitBounds: [],
    min: undefined,
    max: undefined,
  };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 2:
        r.expect(wire, WireType.I64);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        r.expect(wire, WireType.I64);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        r.expect(wire, WireType.I64);
        p.count = r.fixed64Number();
        break;
      case 5:
        r.expect(wire, WireType.I64);
        p.sum = r.double();
        break;
      case 6:
        r.repeatedFixed64Number(wire, p.bucketCounts);
        break;
      case 7:
        r.repeatedDouble(wire, p.explicitBounds);
        break;
      case 8:
        r.expect(wire, WireType.LEN);
        readExemplarInto(r, p.exemplars);
        break;
      case 9:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), p.attributes, 0);
        break;
      case 10:
        r.expect(wire, WireType.VARINT);
        p.flags = r.uint32();
        break;
      case 11:
        r.expect(wire, WireType.I64);
        p.min = r.double();
        break;
      case 12:
        r.expect(wire, WireType.I64);
        p.max = r.double();
        break;
      default:
        r.skip(wire);
    }
  }
  return p;
}

function readExponentialPoint(r: ProtobufReader, end: number): ExponentialHistogramPoint {
  const p: ExponentialHistogramPoint = {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    exemplars: [],
    flags: 0,
    count: 0,
    sum: undefined,
    scale: 0,
    zeroCount: 0,
    positive: { offset: 0, bucketCounts: [] },
    negative: { offset: 0, bucketCounts: [] },
    min: undefined,
    max: undefined,
    zeroThreshold: 0,
  };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), p.attributes, 0);
        break;
      case 2:
        r.expect(wire, WireType.I64);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        r.expect(wire, WireType.I64);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        r.expect(wire, WireType.I64);
        p.count = r.fixed64Number();
        break;
      case 5:
        r.expect(wire, WireType.I64);
        p.sum = r.double();
        break;
      case 6:
        r.expect(wire, WireType.VARINT);
        p.scale = r.sint32();
        break;
      case 7:
        r.expect(wire, WireType.I64);
        p.zeroCount = r.fixed64Number();
        break;
      case 8:
        r.expect(wire, WireType.LEN);
        p.positive = readBuckets(r, r.message());
        break;
      case 9:
        r.expect(wire, WireType.LEN);
        p.negative = readBuckets(r, r.message());
        break;
      case 10:
        r.expect(wire, WireType.VARINT);
        p.flags = r.uint32();
        break;
      case 11:
        r.expect(wire, WireType.LEN);
        readExemplarInto(r, p.exemplars);
        break;
      case 12:
        r.expect(wire, WireType.I64);
        p.min = r.double();
        break;
      case 13:
        r.expect(wire, WireType.I64);
        p.max = r.double();
        break;
      case 14:
        r.expect(wire, WireType.I64);
        p.zeroThreshold = r.double();
        break;
      default:
        r.skip(wire);
    }
  }
  return p;
}

function readBuckets(r: ProtobufReader, end: number): ExponentialBuckets {
  const b: ExponentialBuckets = { offset: 0, bucketCounts: [] };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.VARINT);
        b.offset = r.sint32();
        break;
      case 2:
        r.repeatedUint64Number(tag & 7, b.bucketCounts);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return b;
}

function readSummaryPoint(r: ProtobufReader, end: number): SummaryPoint {
  const p: SummaryPoint = {
    attributes: [],
    startTimeUnixNano: 0n,
    timeUnixNano: 0n,
    exemplars: [],
    flags: 0,
    count: 0,
    sum: 0,
    quantileValues: [],
  };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 2:
        r.expect(wire, WireType.I64);
        p.startTimeUnixNano = r.fixed64();
        break;
      case 3:
        r.expect(wire, WireType.I64);
        p.timeUnixNano = r.fixed64();
        break;
      case 4:
        r.expect(wire, WireType.I64);
        p.count = r.fixed64Number();
        break;
      case 5:
        r.expect(wire, WireType.I64);
        p.sum = r.double();
        break;
      case 6:
        r.expect(wire, WireType.LEN);
        p.quantileValues.push(readQuantile(r, r.message()));
        break;
      case 7:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), p.attributes, 0);
        break;
      case 8:
        r.expect(wire, WireType.VARINT);
        p.flags = r.uint32();
        break;
      default:
        r.skip(wire);
    }
  }
  return p;
}

function readQuantile(r: ProtobufReader, end: number): QuantileValue {
  const q: QuantileValue = { quantile: 0, value: 0 };
  while (r.more(end)) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag & 7, WireType.I64);
        q.quantile = r.double();
        break;
      case 2:
        r.expect(tag & 7, WireType.I64);
        q.value = r.double();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return q;
}

function readExemplarInto(r: ProtobufReader, out: Exemplar[]): void {
  try {
    out.push(readExemplar(r, r.message()));
  } catch (e) {
    rethrowWithin(e, `exemplars[${out.length}]`);
  }
}

function readExemplar(r: ProtobufReader, end: number): Exemplar {
  const x: Exemplar = { filteredAttributes: [], timeUnixNano: 0n, value: 0, spanId: '', traceId: '' };
  while (r.more(end)) {
    const tag = r.tag();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 2:
        r.expect(wire, WireType.I64);
        x.timeUnixNano = r.fixed64();
        break;
      case 3:
        r.expect(wire, WireType.I64);
        x.value = r.double();
        break;
      case 4:
        r.expect(wire, WireType.LEN);
        x.spanId = r.id(8, 'spanId');
        break;
      case 5:
        r.expect(wire, WireType.LEN);
        x.traceId = r.id(16, 'traceId');
        break;
      case 6:
        r.expect(wire, WireType.I64);
        x.value = r.sfixed64();
        break;
      case 7:
        r.expect(wire, WireType.LEN);
        readKeyValue(r, r.message(), x.filteredAttributes, 0);
        break;
      default:
        r.skip(wire);
    }
  }
  return x;
}
