import { createRequire } from 'node:module';
import { Aggregator } from '../../collector/aggregation/aggregator.js';
import { loadConfig } from '../../collector/config/load.js';
import { countSpans } from '../../collector/model/traces.js';
import { decodeTracesProto } from '../../collector/otlp/decode-traces-proto.js';
import { removeInvalidSpans } from '../../collector/receivers/validate.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle, type Payload } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { RateRun, ScenarioResult } from '../results.js';

interface ProtobufjsRoot {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(bytes: Uint8Array): unknown } } } } } };
}

/** The baseline: protobufjs code generated from the official OTLP protos (otlp-transformer 0.208). */
function protobufjsDecoder(): (bytes: Uint8Array) => unknown {
  const root = createRequire(import.meta.url)('otlp-transformer-protobufjs/build/src/generated/root.js') as ProtobufjsRoot;
  const message = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
  return (bytes) => message.decode(bytes);
}

/**
 * Decode and aggregation rates on the same payloads, without HTTP: the protobufjs baseline, our
 * decoder alone, and the receiver's steps called directly with the time of each step.
 */
export function decodeRates(options: BenchOptions, { summary, set }: BuiltMesh): ScenarioResult {
  const warmupMs = options.warmupMs / 2;
  const durationMs = options.durationMs / 2;
  const decode = protobufjsDecoder();
  const runs: RateRun[] = [
    rate('protobufjs decode (official OTLP protos)', new PayloadCycle(set), warmupMs, durationMs, (p) => decode(p.bytes)),
    rate('decodeTracesProto (meshtel)', new PayloadCycle(set), warmupMs, durationMs, (p) => decodeTracesProto(p.bytes)),
  ];

  // The receiver's steps, each timed: decode, validate + count, aggregate.
  const aggregator = new Aggregator(loadConfig().aggregation);
  const steps = [0, 0, 0];
  const source = { receiver: 'bench' };
  let nextTick = performance.now() + 1000;
  const pipeline = (p: Payload) => {
    const t0 = performance.now();
    const data = decodeTracesProto(p.bytes);
    const t1 = performance.now();
    removeInvalidSpans(data);
    const items = countSpans(data);
    const t2 = performance.now();
    aggregator.consumeTraces({ data, items, source });
    const t3 = performance.now();
    steps[0]! += t1 - t0;
    steps[1]! += t2 - t1;
    steps[2]! += t3 - t2;
    // The collector expires half-edges every second; so does this loop.
    if (t3 >= nextTick) {
      aggregator.tick();
      nextTick = t3 + 1000;
    }
  };
  const all = rate('decode + validate + aggregate, direct calls', new PayloadCycle(set), warmupMs, durationMs, pipeline, () => steps.fill(0));
  const elapsed = steps[0]! + steps[1]! + steps[2]!;
  const share = (ms: number, label: string): RateRun => ({
    label,
    spansPerSecond: (all.spansPerSecond * elapsed) / ms,
    bytesPerSecond: (all.bytesPerSecond * elapsed) / ms,
    msPerBatch: (all.msPerBatch * ms) / elapsed,
  });
  runs.push(
    all,
    share(steps[0]!, '  of which decodeTracesProto'),
    share(steps[1]!, '  of which removeInvalidSpans + countSpans'),
    share(steps[2]!, '  of which Aggregator.consumeTraces'),
  );
  return { scenario: 'decode', mesh: summary, runs };
}

/** Runs `work` over the payloads round-robin for `warmupMs`, then measures it for `durationMs`. */
function rate(label: string, cycle: PayloadCycle, warmupMs: number, durationMs: number, work: (p: Payload) => unknown, onMeasure?: () => void): RateRun {
  for (const end = performance.now() + warmupMs; performance.now() < end; ) work(cycle.next());
  onMeasure?.();
  let spans = 0;
  let bytes = 0;
  let batches = 0;
  const start = performance.now();
  const end = start + durationMs;
  let now = start;
  while (now < end) {
    const p = cycle.next();
    work(p);
    spans += p.spans;
    bytes += p.bytes.length;
    batches++;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { label, spansPerSecond: spans / seconds, bytesPerSecond: bytes / seconds, msPerBatch: (now - start) / batches };
}
