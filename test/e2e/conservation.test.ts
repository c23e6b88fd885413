/**
 * Nothing lost silently (issue 4): under a burst that meets every limit at once, each span that
 * reaches the collector is counted exactly once, and each accepted span has exactly one fate.
 * Every term of both balances is made non-zero, so that the test would see any of them missing:
 *
 *   sent by the clients = accepted + refused (429: rate) + rejected (partial success: rate, invalid)
 *   accepted = exported + sampled out (export budget) + dropped (queue full) + send failed
 *              (backend refused: permanent; still failing at max_elapsed_time: retries_exhausted)
 *              + still queued + in flight
 *
 * The client side is counted by the test itself from its own requests and the answers it got
 * (partial successes decoded with the official decoder), the collector side from its /metrics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startCollector, type CollectorProcess } from '../support/collector-process.js';
import { rejectedIn, scrape, sum, tracesRequest, type Samples } from '../support/flood.js';
import { JaegerOtlpStandin } from '../support/jaeger-standins.js';
import { waitFor } from '../support/processes.js';

const SOURCES = ['orders', 'payments', 'search', 'catalog', 'cart', 'users'];
/** Per source: 2,000 spans/s (its bucket holds one second's worth). */
const PER_SOURCE = 2000;
const SPANS = 400;

describe('conservation under a burst that meets every limit', () => {
  let dir: string;
  let sink: JaegerOtlpStandin;
  let collector: CollectorProcess;
  let backendDown = true;
  /** What the clients sent and were told, counted by the test. */
  const client = { spans: 0, refused: 0, rejected: 0, taken: 0, requests: 0, other: 0 };
  let m: Samples;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'meshtel-conservation-'));
    sink = await new JaegerOtlpStandin().start();
    // The backend: unavailable (503) at first, so that the first batches retry until they give
    // up; then slow, and refusing every third request for good (400).
    sink.answer = (n) => (backendDown ? { status: 503 } : n % 3 === 0 ? { status: 400 } : { status: 200, delayMs: 100 });
    const config = join(dir, 'meshtel.yaml');
    writeFileSync(
      config,
      [
        'admission:',
        '  per_source:',
        `    spans: { rate: ${PER_SOURCE} }`,
        'exporters:',
        '  traces:',
        '    - name: jaeger',
        `      endpoint: ${sink.endpoint}`,
        '      queue: { capacity: 4000 }',
        '      batch: { max_spans: 500, timeout: 50ms }',
        '      sending_concurrency: 1',
        '      retry: { initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 1s }',
        '      budget:',
        '        spans: { rate: 5000 }',
        '',
      ].join('\n'),
    );
    collector = await startCollector(['--config', config, '--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', '127.0.0.1:0']);

    const post = async (resources: Parameters<typeof tracesRequest>[0]) => {
      const { body } = tracesRequest(resources);
      const res = await fetch(`http://${collector.otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      const answer = new Uint8Array(await res.arrayBuffer());
      const spans = resources.reduce((n, r) => n + r.spans, 0);
      client.requests++;
      client.spans += spans;
      if (res.status === 429) client.refused += spans;
      else if (res.status === 200) {
        const rejected = rejectedIn(answer);
        client.rejected += rejected;
        client.taken += spans - rejected;
      } else client.other++;
    };

    // The burst: every source at once, three waves, some requests carrying two sources (one of
    // them often over its budget by then) and some carrying spans without a valid trace id.
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(
        SOURCES.flatMap((source, i) => [
          // Within every budget in the first wave (1,800 spans of each source): taken, except
          // the invalid spans.
          post([{ service: source, spans: SPANS, invalid: wave === 0 ? 7 : 0 }]),
          post([{ service: source, spans: SPANS }]),
          post([
            { service: source, spans: SPANS },
            { service: SOURCES[(i + 1) % SOURCES.length]!, spans: SPANS / 2 },
          ]),
          post([{ service: source, spans: SPANS }]),
        ]),
      );
      if (wave === 1) {
        // A source with its whole budget beside one that has just spent its own: taken in part
        // (the second part would need 0.75 s of refill).
        await post([{ service: 'spender', spans: PER_SOURCE }]);
        await post([
          { service: 'fresh', spans: 10 },
          { service: 'spender', spans: 1500 },
        ]);
        // The first batches have been failing for over a second by now: they were given up.
        await waitFor('a batch given up after max_elapsed_time', async () => {
          const s = await scrape(collector.admin);
          return sum(s, 'meshtel_exporter_send_failed_spans_total', { reason: 'retries_exhausted' }) > 0 ? true : undefined;
        }, 10_000);
        backendDown = false;
      }
    }
    // Then the backend catches up with what is queued.
    await waitFor('the export queue to drain', async () => {
      const s = await scrape(collector.admin);
      return sum(s, 'meshtel_exporter_queue_size') + sum(s, 'meshtel_exporter_in_flight_spans') === 0 ? true : undefined;
    }, 20_000);
    m = await scrape(collector.admin);
  }, 60_000);

  afterAll(async () => {
    await collector?.process.stop();
    await sink?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts every span the clients sent once: accepted, refused or rejected, each by reason', () => {
    const received = sum(m, 'meshtel_receiver_received_spans_total');
    const accepted = sum(m, 'meshtel_receiver_accepted_spans_total');
    const refused = sum(m, 'meshtel_receiver_refused_spans_total', { reason: 'rate_limited' });
    const rejectedRate = sum(m, 'meshtel_receiver_rejected_spans_total', { reason: 'rate_limited' });
    const rejectedInvalid = sum(m, 'meshtel_receiver_rejected_spans_total', { reason: 'invalid' });
    expect(client.other).toBe(0);
    expect(received).toBe(client.spans);
    expect(accepted + refused + rejectedRate + rejectedInvalid).toBe(received);
    expect(sum(m, 'meshtel_receiver_refused_spans_total')).toBe(refused);
    expect(sum(m, 'meshtel_receiver_rejected_spans_total')).toBe(rejectedRate + rejectedInvalid);
    expect(refused).toBe(client.refused);
    expect(rejectedRate + rejectedInvalid).toBe(client.rejected);
    expect(accepted).toBe(client.taken);
    // Each term really happened.
    for (const [what, n] of Object.entries({ accepted, refused, rejectedRate, rejectedInvalid })) expect(n, what).toBeGreaterThan(0);
    expect(rejectedInvalid).toBe(7 * SOURCES.length);
    expect(sum(m, 'meshtel_receiver_requests_total', { signal: 'traces' })).toBe(client.requests);
  });

  it('gives every accepted span exactly one fate on its way to the backend, each counted', () => {
    const accepted = sum(m, 'meshtel_receiver_accepted_spans_total');
    const e = (name: string, labels: Record<string, string> = {}) => sum(m, `meshtel_exporter_${name}`, { exporter: 'jaeger', ...labels });
    const fates = {
      sent: e('sent_spans_total'),
      sampledOut: e('sampled_out_spans_total', { reason: 'budget' }),
      dropped: e('enqueue_failed_spans_total'),
      permanent: e('send_failed_spans_total', { reason: 'permanent' }),
      exhausted: e('send_failed_spans_total', { reason: 'retries_exhausted' }),
    };
    const sendFailed = e('send_failed_spans_total');
    expect(e('received_spans_total')).toBe(accepted);
    // Drained: nothing queued or in flight, so the fates add up to what was accepted.
    expect(e('queue_size') + e('in_flight_spans')).toBe(0);
    expect(fates.sent + fates.sampledOut + fates.dropped + sendFailed).toBe(accepted);
    // Send failures by reason: the backend's refusals and the given-up batches, nothing else.
    expect(fates.permanent + fates.exhausted).toBe(sendFailed);
    for (const [what, n] of Object.entries(fates)) expect(n, what).toBeGreaterThan(0);
    expect(e('retries_total')).toBeGreaterThan(0);
    // What was sent is what the backend kept.
    expect(fates.sent).toBe(sink.spans);
  });
});
