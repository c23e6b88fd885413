import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startAlertmanager, type RunningServer } from '../../demo/launcher/monitoring.js';
import { ROOT } from './collector-process.js';
import { waitFor } from './processes.js';
import { requireProgram } from './system-packages.js';

/** One alert of an Alertmanager webhook notification (the webhook payload, version 4). */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

/** A webhook notification as Alertmanager POSTs it. */
export interface WebhookNotification {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: NotifiedAlert[];
}

/** One alert as it reached the webhook: the path it was posted to, the receiver, and when. */
export interface Received extends NotifiedAlert {
  path: string;
  receiver: string;
  /** `Date.now()` when the notification arrived. */
  at: number;
}

/**
 * The receiving end of Alertmanager's webhook_configs: an HTTP server on a free loopback port that
 * keeps every notification, each alert of it flattened with the path it came on.
 */
export class WebhookReceiver {
  private constructor(
    private readonly server: http.Server,
    /** `http://127.0.0.1:PORT`. */
    readonly url: string,
    /** Every notification so far, with the path it was posted to and when it arrived. */
    readonly notifications: { path: string; at: number; body: WebhookNotification }[],
  ) {}

  static async start(): Promise<WebhookReceiver> {
    const notifications: { path: string; at: number; body: WebhookNotification }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          notifications.push({ path: req.url ?? '', at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookNotification });
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`, notifications);
  }

  /** Every alert of every notification so far, in the order they arrived. */
  alerts(): Received[] {
    return this.notifications.flatMap((n) => n.body.alerts.map((a) => ({ ...a, path: n.path, receiver: n.body.receiver, at: n.at })));
  }

  /** Waits for an alert that `accept` takes, and returns it. */
  waitForAlert(what: string, accept: (a: Received) => boolean, timeoutMs: number): Promise<Received> {
    return waitFor(`a webhook notification with ${what}`, () => this.alerts().find(accept), timeoutMs, 100);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A real Alertmanager (Debian package `prometheus-alertmanager`) on a free loopback port, no cluster. */
export async function startTestAlertmanager(config: object): Promise<RunningServer> {
  requireProgram('prometheus-alertmanager');
  return startAlertmanager(config);
}

interface RouteConfig {
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: RouteConfig[];
  [key: string]: unknown;
}

/**
 * The shipped example, alerts/alertmanager.example.yml, made testable: every webhook URL points
 * at `webhookUrl` (same path), and each route's timers that it sets are shortened to `timers`,
 * so that notifications arrive within seconds; routing, grouping and inhibitions stay as shipped.
 */
export function exampleAlertmanagerConfig(webhookUrl: string, timers: { group_wait: string; group_interval: string; repeat_interval: string }): {
  config: Record<string, unknown>;
  receivers: Map<string, { url: string; send_resolved: boolean }[]>;
} {
  const config = parse(readFileSync(join(ROOT, 'alerts', 'alertmanager.example.yml'), 'utf8')) as {
    route: RouteConfig;
    receivers: { name: string; webhook_configs?: { url: string; send_resolved?: boolean }[] }[];
    [key: string]: unknown;
  };
  const shorten = (route: RouteConfig) => {
    for (const key of ['group_wait', 'group_interval', 'repeat_interval'] as const) if (route[key] !== undefined || route === config.route) route[key] = timers[key];
    for (const child of route.routes ?? []) shorten(child);
  };
  shorten(config.route);
  const receivers = new Map<string, { url: string; send_resolved: boolean }[]>();
  for (const r of config.receivers) {
    for (const w of r.webhook_configs ?? []) w.url = `${webhookUrl}${new URL(w.url).pathname}`;
    receivers.set(
      r.name,
      (r.webhook_configs ?? []).map((w) => ({ url: w.url, send_resolved: w.send_resolved ?? true })),
    );
  }
  return { config, receivers };
}
