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
  spansPerSecond: number;
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

export type ScenarioResult =
  | { scenario: 'ingest'; mesh: MeshSummary; runs: IngestRun[] }
  | { scenario: 'decode'; mesh: MeshSummary; runs: RateRun[] }
  | { scenario: 'edges'; mesh: MeshSummary; run: IngestRun; renders: RenderRun[] }
  | { scenario: 'render'; mesh: MeshSummary; state: AggregationState; renders: RenderRun[] };
