import { Aggregator } from '../../collector/aggregation/aggregator.js';
import { loadConfig } from '../../collector/config/load.js';
import { countSpans } from '../../collector/model/traces.js';
import { decodeTracesProto } from '../../collector/otlp/decode-traces-proto.js';
import { removeInvalidSpans } from '../../collector/receivers/validate.js';
import { protobufjsDecoder } from '../measure/protobufjs-baseline.js';
import { pipelineRates, rate } from '../measure/rate.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle, type Payload } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { RateRun, ScenarioResult } from '../results.js';

/**
 * Decode and aggregation rates on the same payloads, without HTTP: the protobufjs baseline, our
 * decoder alone, and the receiver's steps called directly with the time of each step.
 */
export function decodeRates(options: BenchOptions, { summary, set }: BuiltMesh): ScenarioResult {
  const timing = { warmupMs: options.warmupMs / 2, durationMs: options.durationMs / 2 };
  const decode = protobufjsDecoder('trace');
  const cycle = () => {
    const payloads = new PayloadCycle(set);
    return () => payloads.next();
  };
  const spans = (p: Payload) => p.spans;
  const runs: RateRun[] = [
    rate('protobufjs decode (official OTLP protos)', cycle(), spans, timing, (p) => decode(p.bytes)),
    rate('decodeTracesProto (meshtel)', cycle(), spans, timing, (p) => decodeTracesProto(p.bytes)),
  ];

  // The receiver's steps, each timed: decode, validate + count, aggregate.
  const aggregator = new Aggregator(loadConfig().aggregation);
  const source = { receiver: 'bench' };
  let nextTick = performance.now() + 1000;
  runs.push(
    ...pipelineRates('decode + validate + aggregate, direct calls', cycle(), spans, timing, {
      decode: (p) => decodeTracesProto(p.bytes),
      validate: (data) => {
        removeInvalidSpans(data);
        return countSpans(data);
      },
      aggregate: (data, items) => {
        aggregator.consumeTraces({ data, items, source });
        // The collector expires half-edges every second; so does this loop.
        if (performance.now() >= nextTick) {
          aggregator.tick();
          nextTick = performance.now() + 1000;
        }
      },
      labels: ['  of which decodeTracesProto', '  of which removeInvalidSpans + countSpans', '  of which Aggregator.consumeTraces (and expiry)'],
    }),
  );
  return { scenario: 'decode', mesh: summary, runs };
}
