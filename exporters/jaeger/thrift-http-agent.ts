import type http from 'node:http';
import type { TraceExporterConfig } from './config.js';
import { connectionPool } from './connection-pool.js';

/** What became of the one HTTP request a send made: the answer's status and Retry-After, or the error. */
export interface Exchange {
  status?: number;
  retryAfter?: string | string[] | undefined;
  error?: Error;
}

type AddRequest = (req: http.ClientRequest, options: object) => void;

/**
 * The connection pool of one lane of a ThriftTransport, handed to jaeger-client's HTTPSender in
 * place of its own, for what HTTPSender cannot do: TLS with a CA or a client certificate, the
 * configured headers, a timeout that ends the request (HTTPSender sets one but never acts on it:
 * a silent backend would hang the send), cancellation on shutdown, and above all the answer's
 * status and Retry-After as data (HTTPSender reports only the text "server responded with HTTP
 * 503", and no Retry-After at all).
 *
 * It does so in `addRequest(req)`, which Node's ClientRequest calls with every request before
 * writing its headers (the hook agent-base and the proxy agents use; not in @types/node). A lane
 * sends one request at a time, so `expect()` opens the record of the next one.
 */
export class ExchangeAgent {
  readonly agent: http.Agent;
  private exchange: Exchange = {};
  private signal: AbortSignal | undefined;

  constructor(url: URL, config: Pick<TraceExporterConfig, 'headers' | 'tls' | 'timeout'>) {
    this.agent = connectionPool(url, config.tls);
    const headers = Object.entries(config.headers);
    const timeout = config.timeout;
    const pool = this.agent as unknown as { addRequest: AddRequest };
    const addRequest = pool.addRequest.bind(this.agent);
    pool.addRequest = (req, options) => {
      const exchange = this.exchange;
      for (const [name, value] of headers) req.setHeader(name, value);
      req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.once('response', (res) => {
        exchange.status = res.statusCode;
        exchange.retryAfter = res.headers['retry-after'];
      });
      req.once('error', (e) => (exchange.error ??= e));
      const signal = this.signal;
      if (signal !== undefined) {
        const abort = () => req.destroy(new Error('shutting down'));
        if (signal.aborted) abort();
        else {
          signal.addEventListener('abort', abort, { once: true });
          req.once('close', () => signal.removeEventListener('abort', abort));
        }
      }
      addRequest(req, options);
    };
  }

  /** The record of the next request, cancelled when `signal` aborts. */
  expect(signal: AbortSignal): Exchange {
    this.exchange = {};
    this.signal = signal;
    return this.exchange;
  }

  destroy(): void {
    this.agent.destroy();
  }
}
