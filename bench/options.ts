import type { TopologyOptions } from './mesh/topology.js';

/** How long and how hard the benchmark runs; `--quick` shrinks everything for a smoke run. */
export interface BenchOptions {
  quick: boolean;
  /** Requests in flight against the collector (closed loop). */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Distinct payloads, resent round-robin. */
  batches: number;
  batchSize: number;
  /** Timed renders of /metrics (after a few untimed ones). */
  renders: number;
  /** Where child processes write V8 CPU profiles (`--profile DIR`); none when undefined. */
  profileDir: string | undefined;
  /** The scenarios to run (`--only a,b`); all by default. */
  only: Scenario[];
}

export const SCENARIOS = ['ingest-remote', 'ingest-http', 'ingest-inject', 'client', 'decode', 'metrics', 'edges', 'render', 'overload', 'export', 'kafka'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The mesh most measurements use: ~40 services in 4 namespaces, 80 edges. */
export const INGEST_MESH: TopologyOptions = { namespaces: 4, services: 40, edges: 80, seed: 7 };
/** 1,000 distinct service-graph edges: 200 services in 10 namespaces. */
export const EDGES_MESH: TopologyOptions = { namespaces: 10, services: 200, edges: 1000, seed: 11 };
/** Sized so that /metrics holds about 10,000 series (sample lines). */
export const RENDER_MESH: TopologyOptions = { namespaces: 4, services: 36, edges: 78, seed: 13 };

/**
 * Scenarios whose collector runs alone in the child process while the parent sends the load,
 * with their row label; run on their own (no parent), they fall back to an in-process client.
 */
export const REMOTE_LABEL: Partial<Record<Scenario, string>> = {
  'ingest-remote': 'collector over HTTP, client in another process',
  edges: 'collector over HTTP, client in another process',
};

/** The mesh each scenario sends. */
export const SCENARIO_MESH: Record<Scenario, TopologyOptions> = {
  'ingest-remote': INGEST_MESH,
  'ingest-http': INGEST_MESH,
  'ingest-inject': INGEST_MESH,
  client: INGEST_MESH,
  decode: INGEST_MESH,
  metrics: INGEST_MESH,
  edges: EDGES_MESH,
  render: RENDER_MESH,
  overload: INGEST_MESH,
  export: INGEST_MESH,
  kafka: INGEST_MESH,
};

const USAGE = `usage: node dist/bench/run.js [--quick] [--scenario ${SCENARIOS.join('|')}] [--concurrency N] [--duration SECONDS] [--profile DIR] [--only NAME,...]`;

export function parseArgs(argv: readonly string[]): { options: BenchOptions; scenario: Scenario | undefined } {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const scenario = value('--scenario');
  const isScenario = (name: string): name is Scenario => (SCENARIOS as readonly string[]).includes(name);
  const only = value('--only')?.split(',') ?? [...SCENARIOS];
  for (const name of [...only, ...(scenario === undefined ? [] : [scenario])]) {
    if (!isScenario(name)) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
  }
  const known = new Set(['--quick', '--scenario', '--concurrency', '--duration', '--profile', '--only']);
  for (let i = 0; i < argv.length; i++) {
    if (!known.has(argv[i]!)) throw new Error(`unknown argument "${argv[i]!}"\n${USAGE}`);
    if (argv[i] !== '--quick') i++;
  }
  const duration = Number(value('--duration') ?? (quick ? 1 : 5));
  const concurrency = Number(value('--concurrency') ?? 4);
  if (!(duration > 0) || !Number.isInteger(concurrency) || concurrency < 1) throw new Error(USAGE);
  return {
    scenario: scenario as Scenario | undefined,
    options: {
      quick,
      concurrency,
      warmupMs: quick ? 300 : 1500,
      durationMs: duration * 1000,
      batches: quick ? 16 : 32,
      batchSize: 512,
      renders: quick ? 5 : 30,
      profileDir: value('--profile'),
      only: SCENARIOS.filter((s) => only.includes(s)),
    },
  };
}
