import type { ExportScenarioResult } from './scenarios/export.js';
import type { KafkaScenarioResult } from './scenarios/kafka.js';
import type { GcStats } from './measure/gc.js';
import type { LoadResult } from './measure/load.js';
import type { Memory } from './measure/memory.js';
import type { Latency } from './measure/stats.js';

/** What each scenario measured; JSON-serializable, sent from the child process to the parent. */

export interface MeshSummary {
  services: number;
  namespaces: number;
  nodes: number;
  /** Distinct service-graph edges the payloads exercise. */
  edges: number;
  batches: number;
  batchSize: number;
  attributesPerSpan: number;
  resourcesPerBatch: number;
  bytesPerBatch: number;
  errorRatio: number;
  generationMs: number;
}

/** The aggregation's state at the end of a run, read from its own metric families. */
export interface AggregationState {
  edgeSeries: number;
  spanMetricSeries: number;
  /** Half-edges waiting for their other half. */
  pending: number;
  dropped: number;
  unpaired: number;
  duplicates: number;
}

export type { Memory };

export interface IngestRun {
  label: string;
  load: LoadResult;
  /** RSS once the collector and payloads were ready, before the load (after GC), MiB. */
  rssBefore: number;
  afterGc: Memory;
  state: AggregationState | undefined;
}

export interface RateRun {
  label: string;
  /** Spans or data points, whichever the payloads hold. */
  itemsPerSecond: number;
  bytesPerSecond: number;
  /** Mean time for one payload (batch). */
  msPerBatch: number;
}

export interface RenderRun {
  label: string;
  latencyMs: Latency;
  /** Sample lines (Prometheus series) and all lines (with # HELP / # TYPE) of one exposition. */
  series: number;
  lines: number;
  bytes: number;
}

/** The collector's own counts of spans (meshtel_receiver_*), over the measured phase. */
export interface OverloadCounters {
  received: number;
  accepted: number;
  rateLimited: number;
  memoryLimited: number;
}

/** The overload scenario: open-loop load at a multiple of the collector's admission limit. */
export interface OverloadRun {
  label: string;
  /** Spans/s the schedule offered, and those actually sent (the rest skipped: too many in flight). */
  offeredSpansPerSecond: number;
  sentSpansPerSecond: number;
  /** Spans/s answered 200, and refused with 429. */
  acceptedSpansPerSecond: number;
  refusedSpansPerSecond: number;
  /** Response times of refusals (429) and of accepted requests (200), ms, seen by the client. */
  refusalMs: Latency;
  acceptedMs: Latency;
  /** The same measured by the receiver (headers in to answer out, body reading included). */
  serverRefusalMs: Latency;
  serverAcceptedMs: Latency;
  /** Answers neither 200 nor 429, or no answer. */
  other: number;
  /** Retry-After of the refusals, seconds: [min, max]. */
  retryAfter: [number, number];
  /** Spans the client saw accepted and refused, to compare with the collector's counters. */
  clientAccepted: number;
  clientRefused: number;
  /** The collector's process: CPU (cores), memory at the peak RSS, idle before, after GC. */
  cpu: number;
  peak: Memory;
  rssBefore: number;
  afterGc: Memory;
  counters: OverloadCounters;
  /** The collector process's garbage collections over the measured phase. */
  gc: GcStats;
}

export type ScenarioResult =
  | { scenario: 'ingest'; mesh: MeshSummary; runs: IngestRun[] }
  | { scenario: 'decode'; mesh: MeshSummary; runs: RateRun[] }
  /** The golden-metrics path: what the proxies of the ingest mesh export, decoded and aggregated. */
  | { scenario: 'metrics'; proxies: number; payloads: number; pointsPerPayload: number; bytesPerPayload: number; generationMs: number; runs: RateRun[] }
  | { scenario: 'edges'; mesh: MeshSummary; run: IngestRun; renders: RenderRun[] }
  | { scenario: 'render'; mesh: MeshSummary; state: AggregationState; renders: RenderRun[] }
  | { scenario: 'overload'; mesh: MeshSummary; run: OverloadRun; control: OverloadRun };

/** What a scenario of the benchmark reports, those with result types of their own included. */
export type BenchResult = ScenarioResult | ExportScenarioResult | KafkaScenarioResult;
