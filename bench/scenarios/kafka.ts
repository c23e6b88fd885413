/**
 * The Kafka tier (`kafka`): a gateway and an aggregator, each `meshtel run` in its own process,
 * with librdkafka's mock cluster (three brokers, through Debian's `kcat`) between them.
 * - Baseline: an `all`-mode collector process taking the ingest load (closed loop), on the same
 *   machine in the same run.
 * - Capacity: the same closed loop to the gateway; what it acknowledged, what the aggregator
 *   aggregated meanwhile, and end to end until the aggregator caught up.
 * - Sustained: an open loop at half the end-to-end capacity (a fleet of proxies sending steadily),
 *   with the consumer lag sampled every 250 ms: what the lag is when the tier keeps up.
 * The gateway compresses with gzip: the mock cluster keeps only about 5 MB per partition, and an
 * uncompressed backlog of the capacity phase would outgrow it (the run fails rather than report
 * figures over skipped messages).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startUntilReady, type Started } from '../../demo/launcher/processes.js';
import { PACKAGE_ROOT } from '../../collector/version.js';
import { dec, int } from '../measure/format.js';
import { runLoad, type LoadResult } from '../measure/load.js';
import { latency, type Latency } from '../measure/stats.js';
import type { BuiltMesh } from '../mesh/build.js';
import { PayloadCycle } from '../mesh/payloads.js';
import type { BenchOptions } from '../options.js';
import type { MeshSummary } from '../results.js';
import { fetchSender } from './clients.js';
import { openLoop } from '../measure/open-loop.js';

export interface KafkaRun {
  /** The `all`-mode collector process taking the same closed-loop load: the baseline. */
  baseline: LoadResult;
  /** Capacity phase, the gateway under the closed loop: spans/s acknowledged (written to Kafka), request latency. */
  gateway: LoadResult;
  /** Capacity phase: spans aggregated per second while the load ran. */
  aggregatorSpansPerSecond: number;
  /** Capacity phase: spans aggregated per second, from its start until the aggregator caught up. */
  endToEndSpansPerSecond: number;
  /** Capacity phase: how long after the load stopped the aggregator caught up. */
  drainMs: number;
  /** Sustained phase (open loop at half the end-to-end capacity): spans/s acknowledged, and spans not (refused, failed, or not sent). */
  sustainedSpansPerSecond: number;
  sustainedRefused: number;
  /** Sustained phase: consumer lag (messages) sampled every 250 ms, and its largest sample. */
  lagMessages: Latency;
  maxLagMessages: number;
  /** Spans per message written (one message per trace per request). */
  spansPerMessage: number;
}

export interface KafkaScenarioResult {
  scenario: 'kafka';
  mesh: MeshSummary;
  run: KafkaRun;
}

const CLI = join(PACKAGE_ROOT, 'dist', 'collector', 'cli', 'meshtel.js');

interface Meshtel {
  process: Started;
  otlp: string;
  admin: string;
}

async function meshtel(args: readonly string[]): Promise<Meshtel> {
  const p = await startUntilReady(process.execPath, [CLI, 'run', '--admin-endpoint', '127.0.0.1:0', ...args], /^(\{.*"msg":"meshtel collector started".*\})$/m, { timeoutMs: 30_000 });
  const started = JSON.parse(p.ready[1]!) as { otlp?: string; admin: string };
  return { process: p, otlp: started.otlp ?? '', admin: started.admin };
}

/** The sum of a metric's samples (with `labels` among theirs) in a collector's /metrics. */
async function scrape(admin: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (!line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A config file, in `dir`, that turns on gzip for the gateway's producer. */
function gzipConfig(dir: string): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'kafka:\n  producer:\n    compression: gzip\n');
  return file;
}

/** The aggregator's consumer state, for a timeout's message. */
async function kafkaState(admin: string): Promise<string> {
  const text = await (await fetch(`http://${admin}/metrics`)).text();
  return text.split('\n').filter((l) => /^meshtel_(kafka_(consumer|consumed|assigned|rebalances|redelivered)|receiver_refused|admission)/.test(l)).join('; ');
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, state?: () => Promise<string>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`kafka bench: timed out waiting for ${what}${state ? ` (${await state()})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function kafkaScenario(options: BenchOptions, { summary, set }: BuiltMesh): Promise<KafkaScenarioResult> {
  const started: Started[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'meshtel-bench-'));
  try {
    // The baseline: one process doing everything, the same load.
    const all = await meshtel(['--otlp-endpoint', '127.0.0.1:0']);
    started.push(all.process);
    const baselineCycle = new PayloadCycle(set);
    const baseline = await runLoad(fetchSender(`http://${all.otlp}/v1/traces`, baselineCycle), options);
    await all.process.stop();

    const kcat = await startUntilReady('kcat', ['-C', '-t', 'keepalive', '-X', 'test.mock.num.brokers=3', '-b', '127.0.0.1:1'], /replaced with (\S+)/, { timeoutMs: 10_000 });
    started.push(kcat);
    const brokers = kcat.ready[1]!;
    const aggregator = await meshtel(['--mode', 'aggregator', '--kafka-brokers', brokers]);
    started.push(aggregator.process);
    await until('the aggregator to hold partitions', async () => (await scrape(aggregator.admin, 'meshtel_kafka_assigned_partitions')) > 0, 30_000);
    const gateway = await meshtel(['--mode', 'gateway', '--kafka-brokers', brokers, '--otlp-endpoint', '127.0.0.1:0', '--config', gzipConfig(dir)]);
    started.push(gateway.process);
    await until('the gateway to connect', async () => (await fetch(`http://${gateway.admin}/readyz`)).ok, 30_000);

    const aggregated = () => scrape(aggregator.admin, 'meshtel_receiver_accepted_spans_total', 'receiver="kafka"');
    const written = () => scrape(gateway.admin, 'meshtel_kafka_produced_items_total', 'topic="otlp_spans"');
    const caughtUp = async (what: string) => {
      const target = await written();
      await until(what, async () => (await aggregated()) >= target, 120_000, async () => `${await aggregated()} of ${target} spans aggregated; aggregator: ${await kafkaState(aggregator.admin)}`);
    };

    // Capacity: closed loop, as hard as the gateway takes it.
    let atStart = 0;
    let startedAt = 0;
    const cycle = new PayloadCycle(set);
    const send = fetchSender(`http://${gateway.otlp}/v1/traces`, cycle);
    const gatewayRun = await runLoad(send, options, () => {
      startedAt = performance.now();
      void aggregated().then((n) => (atStart = n));
    });
    const loadEnded = performance.now();
    const atEnd = await aggregated();
    await caughtUp('the aggregator to catch up after the capacity phase');
    const drained = performance.now();
    const endToEnd = ((await aggregated()) - atStart) / ((drained - startedAt) / 1000);

    // Sustained: open loop at half the end-to-end capacity, lag sampled.
    const rate = endToEnd / 2;
    const lags: number[] = [];
    const sampling = setInterval(() => void scrape(aggregator.admin, 'meshtel_kafka_consumer_lag').then((lag) => lags.push(lag)), 250);
    const sustained = await openLoop(`http://${gateway.otlp}/v1/traces`, cycle, rate / summary.batchSize, options.durationMs, 64);
    clearInterval(sampling);
    await caughtUp('the aggregator to catch up after the sustained phase');

    const skipped = await scrape(aggregator.admin, 'meshtel_kafka_skipped_offsets_total');
    if (skipped > 0) throw new Error(`kafka bench: the aggregator skipped ${skipped} offsets deleted by the mock cluster's retention: the figures would not mean anything`);
    const messages = await scrape(gateway.admin, 'meshtel_kafka_produced_messages_total', 'topic="otlp_spans"');
    return {
      scenario: 'kafka',
      mesh: summary,
      run: {
        baseline,
        gateway: gatewayRun,
        endToEndSpansPerSecond: endToEnd,
        aggregatorSpansPerSecond: (atEnd - atStart) / ((loadEnded - startedAt) / 1000),
        drainMs: drained - loadEnded,
        sustainedSpansPerSecond: sustained.acceptedSpans / (sustained.elapsedMs / 1000),
        sustainedRefused: sustained.refusedSpans + sustained.other + sustained.skipped,
        lagMessages: latency(lags),
        maxLagMessages: Math.max(0, ...lags),
        spansPerMessage: (await written()) / messages,
      },
    };
  } finally {
    for (const p of started.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function kafkaReportLines({ run, mesh }: KafkaScenarioResult): string[] {
  const lagMs = (messages: number) => (messages * run.spansPerMessage * 1000) / run.sustainedSpansPerSecond;
  return [
    `Kafka tier: gateway -> Kafka (librdkafka mock cluster, 3 brokers, gzip) -> aggregator, each its own process, ${mesh.batchSize}-span requests to the gateway`,
    `  baseline, the same closed loop to one collector in mode all:  ${int(run.baseline.itemsPerSecond)} spans/s, request p50 ${dec(run.baseline.latencyMs.p50, 1)} ms, p99 ${dec(run.baseline.latencyMs.p99, 1)} ms`,
    `  capacity, gateway: spans/s written to Kafka and acknowledged:  ${int(run.gateway.itemsPerSecond)} spans/s, request p50 ${dec(run.gateway.latencyMs.p50, 1)} ms, p99 ${dec(run.gateway.latencyMs.p99, 1)} ms, ${int(run.gateway.failed)} refused`,
    `  capacity, aggregator: spans/s aggregated during the load:      ${int(run.aggregatorSpansPerSecond)} spans/s`,
    `  capacity, end to end until the aggregator caught up:          ${int(run.endToEndSpansPerSecond)} spans/s (caught up ${dec(run.drainMs / 1000, 1)} s after the load stopped)`,
    `  sustained at half that, open loop:                             ${int(run.sustainedSpansPerSecond)} spans/s, ${int(run.sustainedRefused)} spans not acknowledged`,
    `  consumer lag, sustained: p50 ${int(run.lagMessages.p50)}, p99 ${int(run.lagMessages.p99)}, max ${int(run.maxLagMessages)} messages ` +
      `(p99 ~${int(lagMs(run.lagMessages.p99))} ms of traffic; ${dec(run.spansPerMessage, 1)} spans per message: one per trace per request)`,
    "  gateway, aggregator, brokers and client share the machine's cores; the baseline had them for one process and the client.",
    '',
  ];
}
