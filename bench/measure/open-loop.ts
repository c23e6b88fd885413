/**
 * An open-loop load: requests leave on schedule whether or not earlier ones were answered, as a
 * fleet of independent clients would send them (a closed loop slows down with the server and
 * hides its queueing).
 */
import http from 'node:http';
import type { PayloadCycle } from '../mesh/payloads.js';

export interface OpenLoopResult {
  elapsedMs: number;
  offered: number;
  skipped: number;
  acceptedSpans: number;
  refusedSpans: number;
  /** Answers other than 200 and 429. */
  other: number;
  acceptedMs: number[];
  refusedMs: number[];
  retryAfter: number[];
}

/**
 * Keep-alive connections for the load: node:http rather than fetch, whose per-request cost
 * (streams, promises, header objects) would make the client the bottleneck at hundreds of
 * requests per second on the same machine.
 */
const agent = new http.Agent({ keepAlive: true });

/** POSTs one OTLP/protobuf body and reads the whole answer. */
function post(url: URL, body: Buffer): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends `requestsPerSecond` requests of the cycle's payloads to `url` for `durationMs`, on a
 * 1 ms tick that catches up with the schedule, at most `maxInFlight` at once (a request due
 * beyond that is not sent, and counted as skipped); waits for the last answers.
 */
export async function openLoop(url: string, cycle: PayloadCycle, requestsPerSecond: number, durationMs: number, maxInFlight: number): Promise<OpenLoopResult> {
  const r: OpenLoopResult = { elapsedMs: 0, offered: 0, skipped: 0, acceptedSpans: 0, refusedSpans: 0, other: 0, acceptedMs: [], refusedMs: [], retryAfter: [] };
  const pending = new Set<Promise<void>>();
  const target = new URL(url);
  const one = async () => {
    const payload = cycle.next();
    const t0 = performance.now();
    try {
      const { status, retryAfter } = await post(target, payload.bytes);
      const ms = performance.now() - t0;
      if (status === 200) {
        r.acceptedSpans += payload.spans;
        r.acceptedMs.push(ms);
      } else if (status === 429) {
        r.refusedSpans += payload.spans;
        r.refusedMs.push(ms);
        r.retryAfter.push(Number(retryAfter));
      } else r.other++;
    } catch {
      r.other++;
    }
  };
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let issued = 0;
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - started, durationMs);
      const due = Math.floor((elapsed * requestsPerSecond) / 1000);
      for (; issued < due; issued++) {
        r.offered++;
        if (pending.size >= maxInFlight) {
          r.skipped++;
          continue;
        }
        const p = one().finally(() => pending.delete(p));
        pending.add(p);
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  r.elapsedMs = performance.now() - started;
  return r;
}
