/**
 * Parsers for the human-friendly values of the config file: durations (`500ms`, `2s`, `15m`,
 * `1h`), byte sizes (`512KiB`, `20MiB`, `1GB`) and endpoints (`HOST:PORT`, `[::1]:PORT`).
 * Each returns `undefined` for input it does not understand; the schema turns that into an
 * error naming the key.
 */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for `"250ms"`, `"2s"`, `"1.5m"`, `"1h"`, or a bare number of milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/** Formats milliseconds the way the config file accepts them (`"1m"`, `"10s"`, `"250ms"`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Bytes for `"20MiB"`, `"512KiB"`, `"1GB"`, `"100B"` or a bare number of bytes. */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)\s*$/i.exec(value);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

export interface Endpoint {
  host: string;
  /** 0 means "pick a free port"; the component logs the port it bound. */
  port: number;
}

/** `{host, port}` for `"127.0.0.1:4318"`, `"[::1]:0"`, `"0.0.0.0:9464"` or `":4318"` (all interfaces). */
export function parseEndpoint(value: string): Endpoint | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** The `host:port` a listening server is bound to (IPv6 hosts in brackets, as URLs need them). */
export function boundAddress(server: { address(): unknown }): string {
  const addr = server.address() as { address: string; port: number } | string | null;
  if (addr === null || typeof addr === 'string') return String(addr);
  return `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
}
