import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startCollector, type CollectorProcess } from './collector-process.js';
import { scrape, sum } from './flood.js';
import { startProcess, waitFor, type StartedProcess } from './processes.js';
import { requireProgram } from './system-packages.js';

/**
 * A Kafka cluster that speaks the real wire protocol: librdkafka's mock cluster, started through
 * Debian's `kcat` (a consumer of a keepalive topic whose bootstrap address is replaced by the mock
 * cluster's), with `brokers` brokers on free loopback ports. Topics are created on first use, with
 * 4 partitions each. `kcat` is also the independent client tests read and write topics with.
 */
export class MockKafka {
  private constructor(
    private readonly process: StartedProcess,
    /** `host:port,...` of the brokers, for `--kafka-brokers`. */
    readonly bootstrap: string,
  ) {}

  static async start(brokers = 3): Promise<MockKafka> {
    requireProgram('kcat');
    const p = await startProcess('kcat', ['-C', '-t', 'keepalive', '-X', `test.mock.num.brokers=${brokers}`, '-b', '127.0.0.1:1'], {
      readyPattern: /replaced with (\S+)/,
      timeoutMs: 10_000,
    });
    return new MockKafka(p, p.ready[1]!);
  }

  /** Freezes every broker (SIGSTOP): connections stay open and nothing answers, as a hung cluster. */
  freeze(): void {
    this.process.child.kill('SIGSTOP');
  }

  /** Lets a frozen cluster go on where it stopped (SIGCONT). */
  thaw(): void {
    this.process.child.kill('SIGCONT');
  }

  /**
   * Every message of `topic` so far, read by kcat (librdkafka, not meshtel's client) from the
   * beginning of each partition to its end; compressed batches come back decompressed.
   */
  read(topic: string): KafkaRecord[] {
    const out = execFileSync('kcat', ['-C', '-b', this.bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %S %k\\n%s'], { timeout: 30_000, maxBuffer: 256 << 20 });
    const records: KafkaRecord[] = [];
    let at = 0;
    while (at < out.length) {
      const eol = out.indexOf(0x0a, at);
      const [partition, offset, length, key] = out.subarray(at, eol).toString().split(' ');
      const start = eol + 1;
      const end = start + Number(length);
      records.push({ partition: Number(partition), offset: Number(offset), key: key ?? '', value: out.subarray(start, end) });
      at = end;
    }
    return records;
  }

  /** Writes each of `values` as one message keyed `key` (so all to one partition, in order), with kcat. */
  write(topic: string, key: string, values: readonly Uint8Array[]): void {
    const dir = mkdtempSync(join(tmpdir(), 'meshtel-kcat-'));
    try {
      const files = values.map((v, i) => {
        const file = join(dir, `message-${i}`);
        writeFileSync(file, v);
        return file;
      });
      execFileSync('kcat', ['-P', '-b', this.bootstrap, '-t', topic, '-k', key, ...files], { timeout: 30_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Messages of `topics` the consumer group has not committed yet (each partition's end minus the
   * group's committed offset), asked of the brokers with an admin client.
   */
  async groupLag(groupId: string, topics: readonly string[]): Promise<number> {
    const admin = new Kafka({ clientId: 'meshtel-test-admin', brokers: this.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      let lag = 0;
      const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
      for (const { topic, partitions } of committed) {
        const ends = await admin.fetchTopicOffsets(topic);
        for (const end of ends) {
          const at = partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          lag += Number(end.high) - (Number(at) < 0 ? Number(end.low) : Number(at));
        }
      }
      return lag;
    } finally {
      await admin.disconnect();
    }
  }

  /** The first (`low`, after what retention deleted) and next (`high`) offset of a partition. */
  async offsets(topic: string, partition: number): Promise<{ low: number; high: number }> {
    const admin = new Kafka({ clientId: 'meshtel-test-admin', brokers: this.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const found = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition);
      if (found === undefined) throw new Error(`${topic} has no partition ${partition}`);
      return { low: Number(found.low), high: Number(found.high) };
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    this.thaw();
    await this.process.stop();
  }
}

/** One message as kcat read it. */
export interface KafkaRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
}

/**
 * `meshtel run --mode aggregator ARGS`, resolved once it holds partitions of the spans topic.
 * Start aggregators one after the other this way: librdkafka's mock cluster can answer members
 * that join at the same instant with an error the client gives up on (which meshtel survives by
 * starting a new consumer, but only once the broken member's session has timed out).
 */
export async function startAggregator(args: readonly string[]): Promise<CollectorProcess> {
  const aggregator = await startCollector([...args, '--mode', 'aggregator'], { timeoutMs: 30_000 });
  await waitFor('the aggregator to hold partitions', async () => (sum(await scrape(aggregator.admin), 'meshtel_kafka_assigned_partitions', { topic: 'otlp_spans' }) > 0 ? true : undefined), 45_000, 100);
  return aggregator;
}
