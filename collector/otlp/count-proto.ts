import { ProtobufReader, WireType } from './protobuf-reader.js';

/** The items of one resource of a request, and the value of the attribute admission keys it by. */
export interface ResourceCount {
  /** The resource attribute's string value, '' when absent. */
  key: string;
  items: number;
}

/**
 * Counts the spans of each resource of an OTLP `ExportTraceServiceRequest` without decoding
 * them, and reads one resource attribute (`keyAttribute`, e.g. `service.name`): what admission
 * needs to decide before paying for a full decode. Malformed input throws a DecodeError, as the
 * full decoder would.
 */
export function countTracesProto(body: Uint8Array, keyAttribute: string | undefined): ResourceCount[] {
  return countResources(body, keyAttribute, (r, end) => countNested(r, end, 2));
}

/** The same for an `ExportMetricsServiceRequest`, counting data points. */
export function countMetricsProto(body: Uint8Array, keyAttribute: string | undefined): ResourceCount[] {
  return countResources(body, keyAttribute, (r, end) => {
    // ScopeMetrics.metrics (2) -> Metric.{gauge 5, sum 7, histogram 9, exponential 10, summary 11}.data_points (1)
    let points = 0;
    while (r.more(end)) {
      const tag = r.tag();
      if (tag >>> 3 === 2 && (tag & 7) === WireType.LEN) {
        const metricEnd = r.message();
        while (r.more(metricEnd)) {
          const t = r.tag();
          const field = t >>> 3;
          if ((t & 7) === WireType.LEN && (field === 5 || field === 7 || field === 9 || field === 10 || field === 11)) {
            const dataEnd = r.message();
            while (r.more(dataEnd)) {
              const d = r.tag();
              if (d >>> 3 === 1) points++;
              r.skip(d & 7);
            }
          } else r.skip(t & 7);
        }
      } else r.skip(tag & 7);
    }
    return points;
  });
}

function countResources(body: Uint8Array, keyAttribute: string | undefined, countScope: (r: ProtobufReader, end: number) => number): ResourceCount[] {
  const r = new ProtobufReader(body);
  const out: ResourceCount[] = [];
  while (r.pos < r.limit) {
    const tag = r.tag();
    if (tag >>> 3 !== 1 || (tag & 7) !== WireType.LEN) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.message();
    const resource: ResourceCount = { key: '', items: 0 };
    while (r.more(end)) {
      const t = r.tag();
      const field = t >>> 3;
      if (field === 1 && (t & 7) === WireType.LEN && keyAttribute !== undefined) {
        resource.key = readAttribute(r, r.message(), keyAttribute);
      } else if (field === 2 && (t & 7) === WireType.LEN) {
        resource.items += countScope(r, r.message());
      } else r.skip(t & 7);
    }
    out.push(resource);
  }
  return out;
}

/** The string value of attribute `key` in a Resource message ending at `end` ('' when absent). */
function readAttribute(r: ProtobufReader, end: number, key: string): string {
  let value = '';
  while (r.more(end)) {
    const tag = r.tag();
    if (tag >>> 3 !== 1 || (tag & 7) !== WireType.LEN) {
      r.skip(tag & 7);
      continue;
    }
    const kvEnd = r.message();
    let k = '';
    let v = '';
    while (r.more(kvEnd)) {
      const t = r.tag();
      if (t >>> 3 === 1 && (t & 7) === WireType.LEN) k = r.string();
      else if (t >>> 3 === 2 && (t & 7) === WireType.LEN) {
        const anyEnd = r.message();
        while (r.more(anyEnd)) {
          const a = r.tag();
          if (a >>> 3 === 1 && (a & 7) === WireType.LEN) v = r.string();
          else r.skip(a & 7);
        }
      } else r.skip(t & 7);
    }
    if (k === key && value === '') value = v;
  }
  return value;
}

/** Counts the `field` entries of each nested message: ScopeSpans.spans (2). */
function countNested(r: ProtobufReader, end: number, field: number): number {
  let n = 0;
  while (r.more(end)) {
    const tag = r.tag();
    if (tag >>> 3 === field) n++;
    r.skip(tag & 7);
  }
  return n;
}
