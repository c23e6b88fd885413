import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TraceExporterConfig } from './config.js';

/**
 * The keep-alive connection pool of an exporter's endpoint: `https:` with the configured CA,
 * client certificate and verification (files read once, here), else plain HTTP.
 */
export function connectionPool(url: URL, tls: TraceExporterConfig['tls']): http.Agent {
  if (url.protocol !== 'https:') return new http.Agent({ keepAlive: true });
  return new https.Agent({
    keepAlive: true,
    ca: tls?.ca_file ? readFileSync(tls.ca_file) : undefined,
    cert: tls?.cert_file ? readFileSync(tls.cert_file) : undefined,
    key: tls?.key_file ? readFileSync(tls.key_file) : undefined,
    rejectUnauthorized: !(tls?.insecure_skip_verify ?? false),
  });
}
