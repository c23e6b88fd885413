import { Aggregator } from '../../collector/aggregation/aggregator.js';
import { loadConfig } from '../../collector/config/load.js';
import { countPoints } from '../../collector/model/metrics.js';
import { decodeMetricsProto } from '../../collector/otlp/decode-metrics-proto.js';
import { removeInvalidPoints } from '../../collector/receivers/validate.js';
import { protobufjsDecoder } from '../measure/protobufjs-baseline.js';
import { pipelineRates, rate } from '../measure/rate.js';
import { buildMetricsPayloads, type MetricsPayload } from '../mesh/metrics.js';
import { buildTopology } from '../mesh/topology.js';
import { INGEST_MESH, type BenchOptions } from '../options.js';
import type { RateRun, ScenarioResult } from '../results.js';

/** Export rounds recorded per proxy (a quick run records fewer). */
const ROUNDS = 16;
/** Requests per peer and round, at most: enough that most label sets have points every round. */
const REQUESTS_PER_PEER = 40;

/**
 * The golden-metrics path without HTTP: what the ingest mesh's proxies export (one
 * `ExportMetricsServiceRequest` per proxy and interval, Linkerd's metric names), decoded by the
 * protobufjs baseline, by our decoder, and taken through the receiver's steps (decode, validate
 * and count, aggregate) with the time of each. Payloads are replayed in export order, every
 * proxy's rounds in turn; when the cycle starts over, each cumulative series goes back to its
 * first value, which the aggregation takes as a proxy restart (one point per series and cycle).
 */
export async function metricsRates(options: BenchOptions): Promise<ScenarioResult> {
  const set = await buildMetricsPayloads(buildTopology(INGEST_MESH), { rounds: options.quick ? 4 : ROUNDS, requestsPerPeer: REQUESTS_PER_PEER, seed: 31 });
  const timing = { warmupMs: options.warmupMs / 2, durationMs: options.durationMs / 2 };
  const cycle = () => {
    let i = 0;
    return () => set.payloads[i++ % set.payloads.length]!;
  };
  const points = (p: MetricsPayload) => p.points;
  const decode = protobufjsDecoder('metrics');
  const runs: RateRun[] = [
    rate('protobufjs decode (official OTLP protos)', cycle(), points, timing, (p) => decode(p.bytes)),
    rate('decodeMetricsProto (meshtel)', cycle(), points, timing, (p) => decodeMetricsProto(p.bytes)),
  ];

  const aggregator = new Aggregator(loadConfig().aggregation);
  const source = { receiver: 'bench' };
  runs.push(
    ...pipelineRates('decode + validate + aggregate, direct calls', cycle(), points, timing, {
      decode: (p) => decodeMetricsProto(p.bytes),
      validate: (data) => {
        removeInvalidPoints(data);
        return countPoints(data);
      },
      aggregate: (data, items) => aggregator.consumeMetrics({ data, items, source }),
      labels: ['  of which decodeMetricsProto', '  of which removeInvalidPoints + countPoints', '  of which Aggregator.consumeMetrics'],
    }),
  );
  return {
    scenario: 'metrics',
    proxies: set.proxies,
    payloads: set.payloads.length,
    pointsPerPayload: set.points / set.payloads.length,
    bytesPerPayload: set.bytes / set.payloads.length,
    generationMs: set.generationMs,
    runs,
  };
}
