import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { TrafficStore } from '../aggregation/traffic/traffic-store.js';
import { formatDuration, parseDuration } from '../config/units.js';
import type { Lifecycle } from '../pipeline/consumer.js';
import { createHttpApp, listen } from '../server/http-app.js';
import type { AdminConfig } from './config.js';
import { edgesView, statView } from './views.js';

export interface AdminServerDeps {
  /** Renders the Prometheus exposition in the format the scraper's Accept header asks for. */
  renderMetrics: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
  traffic: TrafficStore;
  /** Smallest window a query may ask for (the slot length). */
  minWindowMs: number;
  /** How long an open-connection count stays valid without a refresh. */
  gaugeStaleMs: number;
  /** Whether the collector accepts data (false while starting and shutting down). */
  ready: () => boolean;
  now: () => number;
  logger: Logger;
}

const DEFAULT_WINDOW = '1m';

/**
 * The admin server: `GET /metrics` (Prometheus exposition), `/healthz` (the process is up),
 * `/readyz` (receivers accept data), and the query API `/api/v1/stat` and `/api/v1/edges`
 * (`?window=1m&namespace=NS`).
 */
export class AdminServer implements Lifecycle {
  readonly app: FastifyInstance;
  private boundAddress = '';
  private scraped: (() => void)[] = [];

  constructor(
    private readonly config: AdminConfig,
    private readonly deps: AdminServerDeps,
  ) {
    this.app = this.build();
  }

  get address(): string {
    return this.boundAddress;
  }

  async start(): Promise<void> {
    this.boundAddress = await listen(this.app, this.config.endpoint, 'admin server (/metrics, /api/v1/stat, /api/v1/edges)');
  }

  /** Resolves once a /metrics response that started after this call has been sent, or after `timeoutMs`; true if scraped. */
  nextScrape(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.scraped = this.scraped.filter((f) => f !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.scraped.push(done);
    });
  }

  async shutdown(): Promise<void> {
    await this.app.close();
  }

  private build(): FastifyInstance {
    const d = this.deps;
    const app = createHttpApp(d.logger, { component: 'admin' });

    app.get('/metrics', async (req, reply) => {
      const waiting = this.scraped;
      this.scraped = [];
      if (waiting.length > 0) reply.raw.once('finish', () => waiting.forEach((done) => done()));
      const { contentType, body } = await d.renderMetrics(req.headers.accept);
      return reply.type(contentType).header('vary', 'Accept').send(body);
    });
    app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
    app.get('/readyz', (_req, reply) => (d.ready() ? reply.send({ status: 'ready' }) : reply.code(503).send({ status: 'not ready' })));

    app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/stat', (req, reply) => {
      const w = this.window(req.query.window);
      if (typeof w === 'string') return reply.code(400).send({ error: w });
      return reply.send(statView(d.traffic, w.label, w.ms, d.now(), d.gaugeStaleMs, nonEmpty(req.query.namespace)));
    });
    app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/edges', (req, reply) => {
      const w = this.window(req.query.window);
      if (typeof w === 'string') return reply.code(400).send({ error: w });
      return reply.send(edgesView(d.traffic, w.label, w.ms, d.now(), nonEmpty(req.query.namespace)));
    });
    return app;
  }

  /** The window a query asked for, or the message explaining why it cannot be served. */
  private window(raw: string | undefined): { label: string; ms: number } | string {
    const label = raw ?? DEFAULT_WINDOW;
    const ms = parseDuration(label);
    const max = this.deps.traffic.maxWindowMs;
    if (ms === undefined) return `window must be a duration like "30s", "1m" or "10m" (got ${JSON.stringify(label.slice(0, 32))})`;
    if (ms < this.deps.minWindowMs || ms > max) {
      return `window must be between ${formatDuration(this.deps.minWindowMs)} and ${formatDuration(max)} (aggregation.windows.max_window), got ${label}`;
    }
    return { label, ms };
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
