import type { Admission, Group } from '../admission/admission.js';
import type { MetricsData } from '../model/metrics.js';
import { countPoints } from '../model/metrics.js';
import type { TracesData } from '../model/traces.js';
import { countSpans } from '../model/traces.js';
import { stringAttribute } from '../model/common.js';
import { countMetricsProto, countTracesProto } from '../otlp/count-proto.js';
import { DecodeError } from '../otlp/decode-error.js';
import { decodeMetricsJson } from '../otlp/decode-metrics-json.js';
import { decodeMetricsProto } from '../otlp/decode-metrics-proto.js';
import { decodeTracesJson } from '../otlp/decode-traces-json.js';
import { TracesProtoDecoder } from '../otlp/decode-traces-proto.js';
import type { Encoding, Signal } from '../otlp/responses.js';
import type { ConsumeResult, MetricsConsumer, Source, TracesConsumer } from '../pipeline/consumer.js';
import type { ReceiverMetrics } from './receiver-metrics.js';
import { removeInvalidPoints, removeInvalidSpans } from './validate.js';

/** What became of one request's data; each receiver answers it in its own protocol. */
export type IntakeOutcome =
  /** Undecodable: answer 400 (OTLP/HTTP), skip the message (Kafka). */
  | { kind: 'invalid'; message: string }
  /** Refused as a whole for now: 429 or 503 with Retry-After. */
  | { kind: 'refused'; status: 429 | 503; retryAfterSeconds: number; message: string }
  /** Taken, except `rejected` items (partial success naming them when there are any). */
  | { kind: 'taken'; rejected: number; message: string };

export interface IntakeDeps {
  traces: TracesConsumer;
  metrics: MetricsConsumer;
  admission: Admission | undefined;
  metricsOf: ReceiverMetrics;
  /**
   * Whether admission applies per-source budgets here (default true). The Kafka receiver says
   * false: gateways limited the sources already, and rejecting part of a message would lose data
   * Kafka had safely; over a global limit the message is refused whole and its partition waits.
   */
  sourceLimits?: boolean;
}

type Data = TracesData | MetricsData;

/**
 * The steps every receiver takes with a request body, in order: count its items per resource
 * (for protobuf without decoding them), ask admission, decode (protobuf traces in slices, letting
 * the event loop answer other requests between them), drop what admission or validation
 * rejected, hand the rest to the pipeline, and count every item exactly once on the way.
 */
export class Intake {
  constructor(
    private readonly receiver: string,
    private readonly deps: IntakeDeps,
  ) {
    deps.metricsOf.zero(receiver);
  }

  /**
   * `body` is the decompressed request; `wireBytes` its size as received (for byte budgets);
   * `tenant` the tenant header's value, when one is configured.
   */
  async accept(signal: Signal, encoding: Encoding, body: Buffer, wireBytes: number, tenant: string | undefined): Promise<IntakeOutcome> {
    const { admission, metricsOf } = this.deps;
    let data: Data | undefined;
    let groups: Group[];
    try {
      if (encoding === 'json') {
        data = signal === 'traces' ? decodeTracesJson(body) : decodeMetricsJson(body);
        groups = groupsOf(data, admission?.resourceKey);
      } else {
        groups = admission === undefined ? [] : signal === 'traces' ? countTracesProto(body, admission.resourceKey) : countMetricsProto(body, admission.resourceKey);
      }
    } catch (e) {
      return this.invalid(signal, encoding, e);
    }

    const decision = admission?.decide(signal, groups, wireBytes, tenant, this.deps.sourceLimits ?? true) ?? ACCEPT;
    if (decision.kind === 'refuse') {
      metricsOf.request(this.receiver, signal, 'refused');
      metricsOf.refusedItems(this.receiver, signal, groups.reduce((n, g) => n + g.items, 0), decision.reason);
      return { kind: 'refused', status: decision.status, retryAfterSeconds: decision.retryAfterSeconds, message: decision.message };
    }
    try {
      try {
        data ??= signal === 'traces' ? await decodeTracesInSlices(body) : decodeMetricsProto(body);
      } catch (e) {
        return this.invalid(signal, encoding, e);
      }
      const rejections: { items: number; reason: string; message: string }[] = [];
      if (decision.kind === 'partial') {
        dropResources(data, decision.rejected);
        rejections.push({ items: decision.rejectedItems, reason: decision.reason, message: decision.message });
      }
      const source: Source = { receiver: this.receiver, tenant };
      let items: number;
      let result: ConsumeResult;
      if ('resourceSpans' in data) {
        const invalid = removeInvalidSpans(data);
        rejections.push({ items: invalid.invalid, reason: 'invalid', message: invalid.message });
        items = countSpans(data);
        result = items === 0 ? ACCEPT_RESULT : await consume(() => this.deps.traces.consumeTraces({ data: data as TracesData, items, source }));
      } else {
        const invalid = removeInvalidPoints(data);
        rejections.push({ items: invalid.invalid, reason: 'invalid', message: invalid.message });
        items = countPoints(data);
        result = items === 0 ? ACCEPT_RESULT : await consume(() => this.deps.metrics.consumeMetrics({ data: data as MetricsData, items, source }));
      }
      if (result.kind === 'refused') {
        metricsOf.request(this.receiver, signal, 'refused');
        // Refused downstream: everything in the request, also what admission or validation
        // would have rejected, is to be resent; count it all as refused.
        metricsOf.refusedItems(this.receiver, signal, groups.length > 0 ? groups.reduce((n, g) => n + g.items, 0) : items, result.reason);
        return { kind: 'refused', status: result.status, retryAfterSeconds: wholeSeconds(result.retryAfterSeconds), message: result.message };
      }
      if (result.kind === 'partial') rejections.push({ items: result.rejected, reason: result.reason, message: result.message });
      const rejected = rejections.reduce((n, r) => n + r.items, 0);
      metricsOf.request(this.receiver, signal, rejected > 0 ? 'partial' : 'accepted');
      metricsOf.takenItems(this.receiver, signal, items - (result.kind === 'partial' ? result.rejected : 0), rejections);
      return { kind: 'taken', rejected, message: rejections.filter((r) => r.items > 0 && r.message !== '').map((r) => r.message).join('; ') };
    } finally {
      admission?.release(wireBytes);
    }
  }

  private invalid(signal: Signal, encoding: Encoding, e: unknown): IntakeOutcome {
    if (!(e instanceof DecodeError)) throw e;
    this.deps.metricsOf.request(this.receiver, signal, 'invalid');
    return { kind: 'invalid', message: `cannot decode ${encoding === 'json' ? 'OTLP/JSON' : 'OTLP/protobuf'} ${signal}: ${e.message}` };
  }
}

const ACCEPT = { kind: 'accept' } as const;
const ACCEPT_RESULT: ConsumeResult = Object.freeze({ kind: 'accepted' });

/**
 * Bytes of OTLP/protobuf traces decoded before letting the event loop run: ~0.3 ms of decoding.
 * Requests waiting to be refused (or scraped, or queried) then wait behind a slice, not behind a
 * whole batch (a 512-span batch of ~230 KiB takes ~1.2 ms to decode).
 */
const DECODE_SLICE_BYTES = 64 * 1024;

async function decodeTracesInSlices(body: Buffer): Promise<TracesData> {
  const decoder = new TracesProtoDecoder(body);
  while (!decoder.step(DECODE_SLICE_BYTES)) await new Promise<void>((resolve) => setImmediate(resolve));
  return decoder.data;
}

/**
 * Hands a batch to the next consumer. A consumer that throws or rejects (with anything, even
 * `undefined`) or answers something that is not a ConsumeResult has not taken the batch: that is
 * a retryable refusal (503), never a request error the client would drop its data for.
 */
async function consume(next: () => ConsumeResult | Promise<ConsumeResult>): Promise<ConsumeResult> {
  try {
    const result = await next();
    if (result?.kind === 'accepted' || result?.kind === 'partial' || result?.kind === 'refused') return result;
  } catch {
    // reported as the refusal below
  }
  return CONSUMER_FAILED;
}

const CONSUMER_FAILED: ConsumeResult = Object.freeze({
  kind: 'refused',
  status: 503,
  reason: 'internal_error',
  retryAfterSeconds: 1,
  message: 'internal error; retry later',
});

/** Whole seconds, at least 1, for Retry-After, whatever number a consumer gave. */
function wholeSeconds(seconds: number): number {
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 1;
}

/** Per resource of decoded data: its items and the value of `key` among its attributes. */
function groupsOf(data: Data, key: string | undefined): Group[] {
  const resources = 'resourceSpans' in data ? data.resourceSpans : data.resourceMetrics;
  return resources.map((r) => ({
    key: key === undefined ? '' : (stringAttribute(r.resource.attributes, key) ?? ''),
    items: 'scopeSpans' in r ? r.scopeSpans.reduce((n, ss) => n + ss.spans.length, 0) : countPoints({ resourceMetrics: [r] }),
  }));
}

function dropResources(data: Data, rejected: readonly boolean[]): void {
  if ('resourceSpans' in data) data.resourceSpans = data.resourceSpans.filter((_, i) => !rejected[i]);
  else data.resourceMetrics = data.resourceMetrics.filter((_, i) => !rejected[i]);
}
