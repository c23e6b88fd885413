/**
 * The Kafka tier when things break, with real processes on a real wire protocol (librdkafka's
 * mock cluster): an aggregator killed with SIGKILL mid-stream, and the whole cluster hanging
 * under the gateway. Spans come from the official OpenTelemetry SDK and exporter, which retries
 * what it is refused; the ground truth is every span the SDK ended.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBuilt, startCollector, type CollectorProcess } from '../support/collector-process.js';
import { scrape, SdkSource, sum, WireTap, type Samples } from '../support/flood.js';
import { MockKafka, startAggregator } from '../support/kafka.js';
import { JaegerOtlpStandin } from '../support/jaeger-standins.js';
import { stopAll, waitFor } from '../support/processes.js';

const GROUP = 'meshtel-aggregators';
const TOPICS = ['otlp_spans', 'otlp_metrics'];
const COMMIT_EVERY = 10;
/** Spans per Kafka message at most: a trace of the flood has two spans, ended in one export batch or two. */
const SPANS_PER_MESSAGE = 2;

/**
 * Spans the gateway refused because Kafka did not acknowledge them in time: their clients resend
 * them, and a write that landed late is then in Kafka twice (at least once, on the gateway's side).
 */
function resentBy(gatewayFinal: Samples): number {
  return sum(gatewayFinal, 'meshtel_kafka_produce_failed_items_total', { topic: 'otlp_spans' });
}

/** A collector config (YAML) for these tests: quick expiry, quick refusals, small commit intervals. */
function writeConfig(dir: string, extra = ''): string {
  const file = join(dir, `meshtel-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      'aggregation:',
      '  service_graph:',
      '    store_ttl: 1s',
      'kafka:',
      '  producer:',
      '    timeout: 2s',
      '  consumer:',
      `    commit_every: ${COMMIT_EVERY}`,
      '    session_timeout: 6s',
      extra,
    ].join('\n'),
  );
  return file;
}

/** A source of the flood: the SDK's BatchSpanProcessor and OTLP exporter, patient enough to outlast a hang. */
function source(name: string, endpoint: string): SdkSource {
  return new SdkSource(name, { endpoint, maxQueueSize: 100_000, maxExportBatchSize: 200, scheduledDelayMillis: 100, timeoutMillis: 60_000 });
}

const calls = (s: Samples, service: string) => sum(s, 'traces_span_metrics_calls_total', { service_name: service });

describe('an aggregator killed with SIGKILL mid-stream', () => {
  let dir: string;
  let kafka: MockKafka;
  let gateway: CollectorProcess;
  let killed: CollectorProcess;
  let survivor: CollectorProcess;
  let ended: number;
  /** The killed aggregator's last state: everything it counted before it died. */
  let lastWords: Samples;
  let survivorFinal: Samples;
  let gatewayFinal: Samples;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'meshtel-kafka-kill-'));
    kafka = await MockKafka.start(3);
    const common = ['--config', writeConfig(dir), '--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
    killed = await startAggregator(common);
    survivor = await startAggregator(common);
    gateway = await startCollector([...common, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
    await waitFor('both aggregators to hold partitions', async () => {
      const [a, b] = await Promise.all([scrape(killed.admin), scrape(survivor.admin)]);
      return sum(a, 'meshtel_kafka_assigned_partitions') > 0 && sum(b, 'meshtel_kafka_assigned_partitions') > 0 ? true : undefined;
    }, 45_000, 200);
    await waitFor('the gateway to be ready', async () => ((await fetch(`http://${gateway.admin}/readyz`)).ok ? true : undefined), 15_000);

    const web = source('shop-web', `http://${gateway.otlp}`);
    const sending = web.send(400, 5_000);
    await waitFor('the doomed aggregator to be busy', async () => (sum(await scrape(killed.admin), 'meshtel_kafka_consumed_messages_total', { topic: 'otlp_spans' }) >= 50 ? true : undefined), 20_000, 50);

    // Hang the cluster first, so that the doomed aggregator can take no further step (every step
    // needs a broker), and read what it counted once its counters stopped moving: its last words.
    kafka.freeze();
    let previous = '';
    let still = 0;
    lastWords = await waitFor('the doomed aggregator to stand still', async () => {
      const s = await scrape(killed.admin);
      const now = `${sum(s, 'meshtel_receiver_accepted_spans_total', { receiver: 'kafka' })}/${sum(s, 'meshtel_kafka_consumed_messages_total')}`;
      still = now === previous ? still + 1 : 0;
      previous = now;
      return still >= 5 ? s : undefined;
    }, 20_000, 200);
    await killed.process.stop('SIGKILL');
    kafka.thaw();

    await sending;
    await web.shutdown();
    ended = web.ended.size;
    // The survivor takes over the dead one's partitions after its session times out, and reads
    // on from the last offsets the dead one committed.
    await waitFor('the consumer group to commit everything', async () => ((await kafka.groupLag(GROUP, TOPICS)) === 0 ? true : undefined), 60_000, 250);
    [survivorFinal, gatewayFinal] = await Promise.all([scrape(survivor.admin), scrape(gateway.admin)]);
  });

  afterAll(async () => {
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the survivor took every partition over', () => {
    expect(sum(survivorFinal, 'meshtel_kafka_assigned_partitions', { topic: 'otlp_spans' })).toBe(4);
    expect(sum(survivorFinal, 'meshtel_kafka_assigned_partitions', { topic: 'otlp_metrics' })).toBe(4);
    expect(sum(survivorFinal, 'meshtel_kafka_rebalances_total')).toBeGreaterThanOrEqual(2);
  });

  test('no span is lost: what both counted is at least every span the SDK ended', () => {
    // Both spans of each trace are in span metrics once per processing.
    const counted = calls(lastWords, 'shop-web') + calls(survivorFinal, 'shop-web');
    expect(ended).toBeGreaterThan(1000);
    expect(counted).toBeGreaterThanOrEqual(ended);
  });

  test('duplicates are bounded by what the dead aggregator had not committed', () => {
    const counted = calls(lastWords, 'shop-web') + calls(survivorFinal, 'shop-web');
    const duplicates = counted - ended;
    // Redelivered: at most COMMIT_EVERY - 1 messages per partition the dead one held; resent by
    // clients: writes that timed out while the cluster hung but landed after it came back.
    const held = sum(lastWords, 'meshtel_kafka_assigned_partitions', { topic: 'otlp_spans' });
    expect(duplicates).toBeLessThanOrEqual((COMMIT_EVERY - 1) * held * SPANS_PER_MESSAGE + resentBy(gatewayFinal));
    // The gateway wrote each span it acknowledged; the SDK resent what it was refused.
    expect(sum(gatewayFinal, 'meshtel_kafka_produced_items_total', { topic: 'otlp_spans' })).toBe(sum(gatewayFinal, 'meshtel_receiver_accepted_spans_total', { receiver: 'otlp_http' }));
  });
});

/**
 * A flood through a gateway to `initial` aggregators, whose group `change` changes mid-stream;
 * resolves once the group committed everything, with the gateway's final metrics.
 */
async function rebalanceMidStream(
  name: string,
  extraConfig: string,
  initial: number,
  change: (common: string[], members: CollectorProcess[]) => Promise<void>,
): Promise<{ ended: number; members: CollectorProcess[]; gatewayFinal: Samples; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), `meshtel-kafka-${name}-`));
  const kafka = await MockKafka.start(3);
  const common = ['--config', writeConfig(dir, extraConfig), '--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
  const members: CollectorProcess[] = [];
  for (let i = 0; i < initial; i++) members.push(await startAggregator(common));
  const gateway = await startCollector([...common, '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
  await waitFor('the gateway to be ready', async () => ((await fetch(`http://${gateway.admin}/readyz`)).ok ? true : undefined), 15_000);
  const web = source('shop-web', `http://${gateway.otlp}`);
  // The load lasts until the change is done, however long the machine takes to make it.
  let changed = () => {};
  const sending = web.send(400, 5_000, new Promise<void>((resolve) => (changed = resolve)));
  await waitFor('the first aggregator to be busy', async () => (sum(await scrape(members[0]!.admin), 'meshtel_kafka_consumed_messages_total', { topic: 'otlp_spans' }) >= 50 ? true : undefined), 20_000, 50);
  await change(common, members);
  changed();
  await sending;
  await web.shutdown();
  await waitFor('the consumer group to commit everything', async () => ((await kafka.groupLag(GROUP, TOPICS)) === 0 ? true : undefined), 30_000, 250);
  return { ended: web.ended.size, members, gatewayFinal: await scrape(gateway.admin), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('an aggregator leaving mid-stream (SIGTERM)', () => {
  let ended: number;
  let leaverLast: Samples;
  let stayerFinal: Samples;
  let gatewayFinal: Samples;
  let cleanup = () => {};

  beforeAll(async () => {
    ensureBuilt();
    // The leaver waits for a final scrape, so that everything it counted is seen.
    const run = await rebalanceMidStream('leave', 'admin:\n  final_scrape_wait: 20s\nshutdown_timeout: 30s', 2, async (_common, members) => {
      const leaver = members[0]!;
      leaver.process.child.kill('SIGTERM');
      await waitFor('the leaver to wait for its final scrape', () => (leaver.logs().some((l) => l.msg === 'waiting for a final scrape of /metrics') ? true : undefined), 20_000, 50);
      leaverLast = await scrape(leaver.admin);
      expect(await leaver.process.exited).toBe(0);
    });
    ({ ended, cleanup, gatewayFinal } = run);
    stayerFinal = await scrape(run.members[1]!.admin);
  });

  afterAll(async () => {
    await stopAll();
    cleanup();
  });

  test('the leaver finished its batch and committed before giving its partitions up: nothing lost, nothing read twice', () => {
    expect(ended).toBeGreaterThan(1000);
    expect(calls(leaverLast, 'shop-web')).toBeGreaterThan(0);
    expect(calls(stayerFinal, 'shop-web')).toBeGreaterThan(0);
    const counted = calls(leaverLast, 'shop-web') + calls(stayerFinal, 'shop-web');
    expect(counted).toBeGreaterThanOrEqual(ended);
    // The only duplicates allowed are the gateway's, not the group's: a write it timed out on (a
    // loaded machine) may land in Kafka all the same while its client resends it.
    expect(counted - ended).toBeLessThanOrEqual(resentBy(gatewayFinal));
    expect(sum(stayerFinal, 'meshtel_kafka_assigned_partitions', { topic: 'otlp_spans' })).toBe(4);
  });
});

describe('an aggregator joining mid-stream', () => {
  let ended: number;
  let final: Samples[];
  let gatewayFinal: Samples;
  let cleanup = () => {};

  beforeAll(async () => {
    ensureBuilt();
    const run = await rebalanceMidStream('join', '', 1, async (common, members) => {
      const joiner = await startAggregator(common);
      members.push(joiner);
      await waitFor('the new aggregator to consume', async () => (sum(await scrape(joiner.admin), 'meshtel_kafka_consumed_messages_total', { topic: 'otlp_spans' }) >= 10 ? true : undefined), 60_000, 100);
    });
    ({ ended, cleanup, gatewayFinal } = run);
    final = await Promise.all(run.members.map((a) => scrape(a.admin)));
  });

  afterAll(async () => {
    await stopAll();
    cleanup();
  });

  test('no span is lost, and what is counted twice is bounded by the commits the group refused', () => {
    expect(ended).toBeGreaterThan(1000);
    expect(final.map((s) => calls(s, 'shop-web')).every((n) => n > 0)).toBe(true);
    const counted = calls(final[0]!, 'shop-web') + calls(final[1]!, 'shop-web');
    expect(counted).toBeGreaterThanOrEqual(ended);
    // Kafka accepts commits while a group prepares to rebalance; librdkafka's mock cluster
    // refuses them as soon as a member asks to join. The partitions that move then carry at
    // most COMMIT_EVERY - 1 processed but uncommitted messages each to the new member; what
    // stays is skipped by the first (meshtel_kafka_redelivered_messages_total). And the gateway's
    // timed-out writes that landed anyway, as in the other tests.
    const moved = sum(final[1]!, 'meshtel_kafka_assigned_partitions', { topic: 'otlp_spans' });
    expect(counted - ended).toBeLessThanOrEqual((COMMIT_EVERY - 1) * moved * SPANS_PER_MESSAGE + resentBy(gatewayFinal));
    expect(sum(final[0]!, 'meshtel_kafka_rebalances_total')).toBeGreaterThanOrEqual(2);
  });
});

describe('the Kafka cluster hanging under the gateway', () => {
  let dir: string;
  let kafka: MockKafka;
  let gateway: CollectorProcess;
  let aggregator: CollectorProcess;
  let tap: WireTap;
  let sink: JaegerOtlpStandin;
  let web: SdkSource;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'meshtel-kafka-hang-'));
    kafka = await MockKafka.start(3);
    sink = await new JaegerOtlpStandin().start();
    const common = ['--kafka-brokers', kafka.bootstrap, '--admin-endpoint', '127.0.0.1:0'];
    const exporters = ['exporters:', '  traces:', `    - endpoint: ${sink.endpoint}`, '      batch:', '        timeout: 50ms'].join('\n');
    aggregator = await startAggregator([...common, '--config', writeConfig(dir, exporters)]);
    gateway = await startCollector([...common, '--config', writeConfig(dir), '--mode', 'gateway', '--otlp-endpoint', '127.0.0.1:0']);
    await waitFor('the gateway to be ready', async () => ((await fetch(`http://${gateway.admin}/readyz`)).ok ? true : undefined), 15_000);
    tap = await WireTap.start(`http://${gateway.otlp}`);

    web = source('shop-web', tap.url);
    const sending = web.send(300, 6_000);
    await waitFor('spans to flow', () => ((tap.total().byStatus[200] ?? 0) > 100 ? true : undefined), 20_000, 50);
    kafka.freeze();
    await waitFor('the gateway to refuse', () => ((tap.total().byStatus[503] ?? 0) > 0 ? true : undefined), 20_000, 50);
    kafka.thaw();
    await sending;
    await web.shutdown();
  });

  afterAll(async () => {
    await tap?.stop();
    await sink?.stop();
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('clients were refused with 503 and Retry-After while Kafka hung', () => {
    const t = tap.total();
    expect(t.byStatus[503]).toBeGreaterThan(0);
    expect(Object.keys(t.byStatus).sort()).toEqual(['200', '503']);
    expect(t.retryAfter.length).toBeGreaterThan(0);
    for (const seconds of t.retryAfter) expect(seconds).toBeGreaterThanOrEqual(1);
  });

  test('nothing was acknowledged that was not written', async () => {
    const g = await scrape(gateway.admin);
    const t = tap.total();
    const accepted = sum(g, 'meshtel_receiver_accepted_spans_total', { receiver: 'otlp_http' });
    expect(accepted).toBe(t.byStatus[200]);
    expect(sum(g, 'meshtel_kafka_produced_items_total', { topic: 'otlp_spans' })).toBe(accepted);
    expect(sum(g, 'meshtel_kafka_produce_failed_items_total', { topic: 'otlp_spans', reason: 'unavailable' })).toBe(t.byStatus[503]);
    expect(sum(g, 'meshtel_receiver_refused_spans_total', { receiver: 'otlp_http' })).toBe(t.byStatus[503]);
  });

  test('after Kafka came back, every span arrived: in the metrics and at the trace backend', async () => {
    expect(web.ended.size).toBeGreaterThan(1000);
    await waitFor('every span the SDK ended to reach the trace backend', () => {
      const seen = new Set<string>();
      for (const d of sink.accepted) for (const rs of d.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) seen.add(s.spanId);
      return [...web.ended].every((id) => seen.has(id)) ? true : undefined;
    }, 60_000, 250);
    await waitFor('the consumer group to commit everything', async () => ((await kafka.groupLag(GROUP, TOPICS)) === 0 ? true : undefined), 30_000, 250);
    const s = await scrape(aggregator.admin);
    const g = await scrape(gateway.admin);
    expect(calls(s, 'shop-web')).toBeGreaterThanOrEqual(web.ended.size);
    // More only where a write timed out while the cluster hung, landed later, and was resent too.
    expect(calls(s, 'shop-web')).toBeLessThanOrEqual(web.ended.size + sum(g, 'meshtel_kafka_produce_failed_items_total', { topic: 'otlp_spans' }));
  });
});
