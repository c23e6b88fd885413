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

/**
 * An unmeshed client calling `student` at a fixed rate (open loop: requests leave on schedule,
 * whatever the answers), in plaintext straight to student's proxy, as an outside client would.
 */
export class LoadGenerator {
  private readonly stats: LoadStats = { sent: 0, completed: 0, by_status: {}, errors: 0 };
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
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

  private fire(): void {
    const ports = this.targets();
    if (ports.length === 0) return;
    const port = ports[this.next++ % ports.length]!;
    const id = 1 + (this.stats.sent % 1000);
    this.stats.sent++;
    const done = new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/v1/student/${id}`, agent: this.agent, headers: { host: serviceHost('student') } }, (res) => {
        res.resume();
        res.on('end', () => {
          this.stats.completed++;
          const status = String(res.statusCode);
          this.stats.by_status[status] = (this.stats.by_status[status] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', () => {
        this.stats.errors++;
        resolve();
      });
    });
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
  }
}
