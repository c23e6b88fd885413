/**
 * `npm run bench`: meshtel's ingest benchmark. The parent builds the payloads; each scenario runs
 * in a fresh child process started with --expose-gc, which receives them over IPC, so that its
 * memory figures are the collector's and the load's, not payload generation's. The parent prints
 * one report.
 *
 *   node dist/bench/run.js                     every scenario (~2 min)
 *   node dist/bench/run.js --quick             a short smoke run
 *   node dist/bench/run.js --scenario NAME     one scenario in this process, payloads built here
 *                                              too (RSS then includes generation)
 *   node dist/bench/run.js --only a,b          only these scenarios
 *   node dist/bench/run.js --profile DIR       also write each child's CPU profile to DIR; read
 *                                              them with `node dist/bench/profile.js FILE`
 *
 * `kafka` starts its own processes from the child (a gateway, an aggregator, librdkafka's mock
 * cluster through kcat, and an `all`-mode collector as its baseline).
 *
 * `overload` runs the collector in the child too (behind a global admission limit), the open-loop
 * load at ten times that limit from the parent.
 *
 * See bench/README.md for what each scenario measures and how to profile.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TopologyOptions } from './mesh/topology.js';
import { buildMesh, revive, type BuiltMesh } from './mesh/build.js';
import { parseArgs, REMOTE_LABEL, SCENARIO_MESH, type BenchOptions, type Scenario } from './options.js';
import { driveCollector, serveCollector } from './remote.js';
import { machineBusy } from './measure/stats.js';
import { formatReport } from './report.js';
import { decodeRates } from './scenarios/decode.js';
import { edgesLoad, manyEdges } from './scenarios/edges.js';
import type { BenchResult } from './results.js';
import { exportScenario } from './scenarios/export.js';
import { clientAlone, ingestInject, ingestOverHttp } from './scenarios/ingest.js';
import { driveOverload, overloadInProcess, serveOverloaded } from './scenarios/overload.js';
import { kafkaScenario } from './scenarios/kafka.js';
import { metricsRates } from './scenarios/metrics.js';
import { renderMetrics } from './scenarios/render.js';

function runScenario(scenario: Scenario, options: BenchOptions, mesh: BuiltMesh): Promise<BenchResult> | BenchResult {
  switch (scenario) {
    case 'ingest-remote':
    case 'ingest-http':
      return ingestOverHttp(options, mesh);
    case 'ingest-inject':
      return ingestInject(options, mesh);
    case 'client':
      return clientAlone(options, mesh);
    case 'decode':
      return decodeRates(options, mesh);
    case 'metrics':
      return metricsRates(options);
    case 'edges':
      return manyEdges(options, mesh, renderCount(scenario, options));
    case 'render':
      return renderMetrics(options, mesh);
    case 'overload':
      return overloadInProcess(options, mesh);
    case 'export':
      return exportScenario(options, mesh);
    case 'kafka':
      return kafkaScenario(options, mesh);
  }
}

function renderCount(scenario: Scenario, options: BenchOptions): number {
  return scenario === 'edges' ? Math.max(3, Math.round(options.renders / 3)) : 0;
}

/**
 * Runs one scenario in a child process and resolves to what it measured: either the child runs
 * it on `mesh`, or (REMOTE_LABEL scenarios) the child runs the collector and this process the load.
 */
async function runInChild(scenario: Scenario, args: readonly string[], mesh: BuiltMesh, options: BenchOptions): Promise<BenchResult> {
  const child = fork(fileURLToPath(import.meta.url), [...args, '--scenario', scenario], {
    execArgv: ['--expose-gc', ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${scenario}.cpuprofile`])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`scenario ${scenario} failed (${signal ?? `exit code ${code}`})`))));
  });
  const label = REMOTE_LABEL[scenario];
  let result: Promise<BenchResult>;
  if (scenario === 'overload') {
    result = driveOverload(child, mesh, options);
  } else if (label !== undefined) {
    result = driveCollector(child, label, mesh, scenario === 'edges' ? edgesLoad(options) : options).then(({ run, renders }) =>
      scenario === 'edges' ? { scenario: 'edges', mesh: mesh.summary, run, renders } : { scenario: 'ingest', mesh: mesh.summary, runs: [run] },
    );
  } else {
    result = new Promise((resolve) => child.once('message', (m) => resolve(m as BenchResult)));
    child.send(mesh);
  }
  // Whichever comes first: the result, or the child failing without one.
  const value = await Promise.race([result, exited.then(() => result)]);
  await exited;
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { options, scenario } = parseArgs(args);
  if (scenario !== undefined) {
    const send = process.send?.bind(process);
    if (send !== undefined && scenario === 'overload') {
      await serveOverloaded();
      process.exit(0);
    }
    if (send !== undefined && REMOTE_LABEL[scenario] !== undefined) {
      await serveCollector(renderCount(scenario, options));
      process.exit(0);
    }
    const mesh =
      send === undefined
        ? buildMesh(SCENARIO_MESH[scenario], options.batches, options.batchSize)
        : revive(await new Promise<BuiltMesh>((resolve) => process.once('message', (m) => resolve(m as BuiltMesh))));
    const result = await runScenario(scenario, options, mesh);
    if (send === undefined) console.log(formatReport([result], options));
    else await new Promise<void>((resolve, reject) => send(result, (e: Error | null) => (e ? reject(e) : resolve())));
    // Keep-alive sockets and prom-client's timers would keep a child alive: the result is out.
    process.exit(0);
  }
  const before = await machineBusy();
  const started = performance.now();
  const meshes = new Map<TopologyOptions, BuiltMesh>();
  const results: BenchResult[] = [];
  for (const s of options.only) {
    process.stderr.write(`bench: ${s}...\n`);
    const topology = SCENARIO_MESH[s];
    let mesh = meshes.get(topology);
    if (mesh === undefined) meshes.set(topology, (mesh = buildMesh(topology, options.batches, options.batchSize)));
    results.push(await runInChild(s, args, mesh, options));
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await machineBusy();
  console.log(`\n${formatReport(results, options, { before, after })}`);
  console.log(`\n(bench took ${seconds.toFixed(0)} s)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
