import http from 'node:http';
import { serviceHost } from '../topology.js';

/** What the load generator did, for the ground truth. */
export interface LoadStats {
  sent: number;
  completed: number;
  by_status: Record<string, number>;
  /** Requests that got no HTTP answer at all (connection refused or reset). */
  errors: number;
}

/** How long one request may wait for its answer (then it counts as an error). */
const REQUEST_TIMEOUT_MS = 20_000;

/**
 * An unmeshed client calling `student` at a fixed rate (open loop: requests leave on schedule,
 * whatever the answers), in plaintext straight to student's proxy, as an outside client would.
 */
export class LoadGenerator {
  private readonly stats: LoadStats = { sent: 0, completed: 0, by_status: {}, errors: 0 };
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private readonly stages = new Map<object, string>();
  private next = 0;

  constructor(private readonly targets: () => number[]) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts (or changes the rate of) the load, in requests per second. */
  start(rate: number): void {
    this.pause();
    if (rate <= 0) return;
    const tickMs = 50;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += (rate * tickMs) / 1000;
      for (; carry >= 1; carry--) this.fire();
    }, tickMs);
  }

  /** Stops sending and waits for the requests still in flight. */
  async stop(): Promise<void> {
    this.pause();
    await Promise.all([...this.inFlight]);
  }

  snapshot(): LoadStats {
    return { ...this.stats, by_status: { ...this.stats.by_status } };
  }

  close(): void {
    this.pause();
    this.agent.destroy();
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The requests still in flight, by how far they got: `queued` (no connection yet), `sent`, `answering`. */
  inFlightStages(): Record<string, number> {
    const stages: Record<string, number> = {};
    for (const stage of this.stages.values()) stages[stage] = (stages[stage] ?? 0) + 1;
    return stages;
  }

  private fire(): void {
    const ports = this.targets();
    if (ports.length === 0) return;
    const port = ports[this.next++ % ports.length]!;
    const id = 1 + (this.stats.sent % 1000);
    this.stats.sent++;
    const key = {};
    this.stages.set(key, 'queued');
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (status: number | undefined) => {
        if (settled) return;
        settled = true;
        if (status === undefined) this.stats.errors++;
        else {
          this.stats.completed++;
          this.stats.by_status[String(status)] = (this.stats.by_status[String(status)] ?? 0) + 1;
        }
        resolve();
      };
      const req = http.get({ host: '127.0.0.1', port, path: `/v1/student/${id}`, agent: this.agent, headers: { host: serviceHost('student') } }, (res) => {
        this.stages.set(key, 'answering');
        res.resume();
        res.on('end', () => settle(res.statusCode));
        // An answer cut off before its end (the connection closed) is no answer.
        res.on('close', () => settle(undefined));
        res.on('error', () => settle(undefined));
      });
      req.on('socket', () => this.stages.set(key, 'sent'));
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS}ms`)));
      req.on('error', () => settle(undefined));
    });
    this.inFlight.add(done);
    void done.then(() => {
      this.inFlight.delete(done);
      this.stages.delete(key);
    });
  }
}
