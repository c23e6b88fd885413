/**
 * End to end: the built `meshtel` CLI as users run it. `run` on free ports, fed by the official
 * OpenTelemetry SDK; `stat` and `edges` against it (tables and JSON); graceful shutdown with
 * requests in flight; `check-config`; configuration precedence; startup failures; `npx meshtel`.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EdgesResponse, StatResponse } from '../../collector/api/views.js';
import { CLI, ensureBuilt, meshtel, ROOT, run, startCollector, type CollectorProcess } from '../support/collector-process.js';
import { stopAll, waitFor } from '../support/processes.js';
import { driveTopology, type GroundTruth } from '../support/sdk-topology.js';

let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'meshtel-e2e-cli-'));
});

afterAll(async () => {
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = await listening();
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function listening(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Parses a table as `renderTable` draws it: the header's columns, and for every row the cell that
 * starts exactly where its header starts (checking that the columns are aligned and separated by
 * at least three spaces).
 */
function parseTable(text: string, header: readonly string[]): string[][] {
  const [head, ...rows] = text.replace(/\n$/, '').split('\n');
  const columns = [...head!.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  expect(columns.map((c) => c.name)).toEqual(header);
  for (let i = 1; i < columns.length; i++) {
    expect(columns[i]!.start - (columns[i - 1]!.start + columns[i - 1]!.name.length), `space before ${columns[i]!.name}`).toBeGreaterThanOrEqual(3);
  }
  return rows.map((row) => {
    const cells = columns.map((c, i) => {
      const end = columns[i + 1]?.start;
      const cell = row.slice(c.start, end);
      if (i > 0) expect(row[c.start - 1], `"${row}": column ${c.name} starts at ${c.start}`).toBe(' ');
      expect(cell.startsWith(' '), `"${row}": column ${c.name} starts at ${c.start}`).toBe(false);
      if (end !== undefined) expect(cell.endsWith('   '), `"${row}": three spaces after ${c.name}`).toBe(true);
      return cell.trimEnd();
    });
    return cells;
  });
}

const percent = (requests: number, failures: number) => `${((1 - failures / requests) * 100).toFixed(2)}%`;
const RPS = /^\d+\.\drps$|^\d{3,}rps$/;
const LATENCY = /^(\d+(\.\d)?ms|\d+(\.\d)?s)$/;

describe('meshtel run, stat and edges', () => {
  let collector: CollectorProcess;
  let truth: GroundTruth;
  let adminUrl: string;

  beforeAll(async () => {
    const config = file('run.yaml', 'aggregation:\n  service_graph:\n    store_ttl: 1s\n');
    collector = await startCollector(['--config', config, '--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', '127.0.0.1:0']);
    adminUrl = `http://${collector.admin}`;
    expect(collector.otlp).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(collector.otlp).not.toBe('127.0.0.1:0');
    truth = await driveTopology(collector.otlp);
    await waitFor('the service-graph store to drain', async () => {
      const text = await (await fetch(`${adminUrl}/metrics`)).text();
      return /^meshtel_servicegraph_store_items 0$/m.test(text) ? true : undefined;
    }, 10_000);
  });

  afterAll(async () => {
    await collector?.process.stop();
  });

  test('stat: the documented columns, aligned, one row per workload with the known success rates', async () => {
    const r = await meshtel(['stat', '--admin', adminUrl]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = parseTable(r.stdout, ['NAME', 'NAMESPACE', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN']);
    expect(rows.map(([name, namespace, meshed, success, , , , , tcp]) => [name, namespace, meshed, success, tcp])).toEqual(
      truth.stat.map((w) => [w.name, w.namespace, w.meshed ? 'yes' : 'no', percent(w.requests, w.failures), w.tcp_connections === null ? '-' : String(w.tcp_connections)]),
    );
    for (const [i, row] of rows.entries()) {
      expect(row[4]).toMatch(RPS);
      const noLatency = truth.stat[i]!.latencies.length === 0;
      for (const cell of row.slice(5, 8)) expect(cell).toMatch(noLatency ? /^-$/ : LATENCY);
    }
  });

  test('stat -o json: the admin API document, whichever way the admin address is given', async () => {
    const api = (await (await fetch(`${adminUrl}/api/v1/stat?window=30s`)).json()) as StatResponse;
    const byFlag = await meshtel(['stat', '--admin', adminUrl, '-o', 'json', '-w', '30s']);
    const byHostPort = await meshtel(['stat', '--admin', collector.admin, '--output', 'json', '--window', '30s']);
    const byEnv = await meshtel(['stat', '-o', 'json', '--window', '30s'], { env: { MESHTEL_ADMIN_URL: adminUrl } });
    for (const r of [byFlag, byHostPort, byEnv]) {
      expect(r.code, r.stderr).toBe(0);
      const stat = JSON.parse(r.stdout) as StatResponse;
      expect(stat.window).toBe('30s');
      // rps moves with the clock between two calls; everything else is the same document.
      const strip = (s: StatResponse) => s.workloads.map(({ rps: _rps, ...w }) => w);
      expect(strip(stat)).toEqual(strip(api));
      expect(stat.workloads.map((w) => [w.namespace, w.name, w.requests])).toEqual(truth.stat.map((w) => [w.namespace, w.name, w.requests]));
    }

    const payments = await meshtel(['stat', '--admin', adminUrl, '-n', 'payments', '-o', 'json']);
    expect((JSON.parse(payments.stdout) as StatResponse).workloads.map((w) => w.name)).toEqual(['payments']);
  });

  test('edges: table with virtual nodes and mTLS, and -o json equal to the admin API', async () => {
    const r = await meshtel(['edges', '--admin', adminUrl]);
    expect(r.code, r.stderr).toBe(0);
    const rows = parseTable(r.stdout, ['SRC', 'DST', 'SRC_NS', 'DST_NS', 'SECURED', 'RPS', 'SUCCESS']);
    const name = (n: { name: string; virtual?: true }) => (n.virtual ? `${n.name} (virtual)` : n.name);
    expect(rows.map(([src, dst, srcNs, dstNs, secured, , success]) => [src, dst, srcNs, dstNs, secured, success])).toEqual(
      truth.edges.map((e) => [name(e.src), name(e.dst), e.src.namespace || '-', e.dst.namespace || '-', e.secured ? 'yes' : 'no', percent(e.requests, e.failures)]),
    );
    for (const row of rows) expect(row[5]).toMatch(RPS);
    expect(rows.find((row) => row[0] === 'user (virtual)')?.[2]).toBe('-');

    const json = await meshtel(['edges', '--admin', collector.admin, '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const edges = JSON.parse(json.stdout) as EdgesResponse;
    const api = (await (await fetch(`${adminUrl}/api/v1/edges`)).json()) as EdgesResponse;
    const strip = (e: EdgesResponse) => e.edges.map(({ rps: _rps, ...x }) => x);
    expect(strip(edges)).toEqual(strip(api));
    expect(edges.edges.map((e) => [e.src.name, e.dst.name, e.requests, e.failures, e.secured])).toEqual(
      truth.edges.map((e) => [e.src.name, e.dst.name, e.requests, e.failures, e.secured]),
    );
  });

  test('stat and edges reject a bad window or output format with a one-line reason', async () => {
    const window = await meshtel(['stat', '--admin', adminUrl, '--window', 'soon']);
    expect(window.code).toBe(1);
    expect(window.stderr).toMatch(/^meshtel: .*answered 400: window must be a duration/);
    const output = await meshtel(['edges', '--admin', adminUrl, '-o', 'yaml']);
    expect(output.code).toBe(2);
    expect(output.stderr).toContain('-o must be table or json (got "yaml")');
  });
});

test('stat and edges say clearly when the collector cannot be reached, and exit 1', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const [stat, edges] = await Promise.all([meshtel(['stat', '--admin', url]), meshtel(['edges'], { env: { MESHTEL_ADMIN_URL: `127.0.0.1:${port}` } })]);
  for (const r of [stat, edges]) {
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cannot reach the meshtel admin API at ${url} (connection refused)`);
    expect(r.stderr).toContain('Is the collector running?');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }
});

test('SIGTERM with requests in flight: they are answered, the collector logs its stop and exits 0', async () => {
  const c = await startCollector(['--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', '127.0.0.1:0']);
  const [host, port] = c.otlp.split(':') as [string, string];
  const span = (i: number) => ({
    traceId: `${'0'.repeat(30)}${i.toString(16).padStart(2, '0')}`,
    spanId: `${'0'.repeat(14)}${i.toString(16).padStart(2, '0')}`,
    name: 'GET /inflight',
    kind: 2,
    startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Date.now() + 5) * 1_000_000n),
  });
  const body = Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'inflight' } }] }, scopeSpans: [{ spans: [span(1), span(2)] }] }] }));

  // Two exports whose headers the collector has read (it answered 100 Continue) but whose bodies are not complete.
  const inflight = [0, 1].map(() => {
    const req = request({ host, port: Number(port), method: 'POST', path: '/v1/traces', headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' } });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
    });
    const continued = new Promise((resolve) => req.once('continue', resolve));
    req.flushHeaders();
    return { req, answered, continued };
  });
  await Promise.all(inflight.map((x) => x.continued));
  for (const x of inflight) x.req.write(body.subarray(0, 20));

  c.process.child.kill('SIGTERM');
  await waitFor('the collector to log that it is shutting down', () => (c.process.output().includes('shutting down') ? true : undefined), 10_000, 20);
  expect(c.process.output()).not.toContain('meshtel collector stopped'); // it waits for the requests
  for (const x of inflight) x.req.end(body.subarray(20));
  const answers = await Promise.all(inflight.map((x) => x.answered));
  expect(answers).toEqual([
    { status: 200, body: '{}' },
    { status: 200, body: '{}' },
  ]);
  expect(await c.process.exited).toBe(0);
  const logs = c.logs();
  const shutting = logs.find((l) => String(l.msg).startsWith('shutting down'));
  const stopped = logs.find((l) => l.msg === 'meshtel collector stopped');
  expect(shutting).toMatchObject({ signal: 'SIGTERM' });
  expect(stopped).toBeDefined();
  // Answered requests must not hold their keep-alive connections (and the shutdown) open for
  // the server's keepAliveTimeout (5s).
  expect(Number(stopped!.time) - Number(shutting!.time)).toBeLessThan(4_000);
});

test('a reader of its logs that goes away (`meshtel run | head -1`) does not keep it from exiting on SIGTERM', async () => {
  const child = spawn(process.execPath, [CLI, 'run', '--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    // As `head` does: read the first lines (up to the one saying the collector runs, its signal
    // handlers set), then close the pipe; the next log line meets a broken pipe.
    let stdout = '';
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"mode":"all"')) resolve(undefined);
      });
      child.once('exit', () => reject(new Error(`meshtel run exited before it ran: ${stderr}`)));
    });
    child.stdout.destroy();
    child.kill('SIGTERM');
    const code = await waitFor('meshtel run to exit after SIGTERM', () => child.exitCode ?? undefined, 15_000, 50);
    expect(code).toBe(0);
    expect(stderr).toBe('');
  } finally {
    child.kill('SIGKILL');
  }
});

describe('meshtel check-config', () => {
  test('a valid file: exit 0', async () => {
    const path = file(
      'valid.yaml',
      [
        'receivers:',
        '  otlp:',
        '    endpoint: 0.0.0.0:4318',
        '    max_body_size: 8MiB',
        'admin:',
        '  endpoint: 127.0.0.1:9464',
        'aggregation:',
        '  service_graph:',
        '    store_ttl: 5s',
        '  windows:',
        '    slot: 5s',
        'log:',
        '  level: warn',
        'shutdown_timeout: 20s',
        '',
      ].join('\n'),
    );
    const r = await meshtel(['check-config', path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${path}: valid`);
  });

  test('an invalid file: exit 1, every error named by its path, a did-you-mean hint for a typo', async () => {
    const path = file(
      'invalid.yaml',
      [
        'receivers:',
        '  otlp:',
        '    endpoint: localhost',
        'admin:',
        '  endpoint: 127.0.0.1:99999',
        'aggregation:',
        '  servce_graph:',
        '    store_ttl: 2s',
        '  span_metrics:',
        '    histogram_buckets: [10ms, 5ms]',
        'log:',
        '  level: verbose',
        'shutdown_timeout: soon',
        '',
      ].join('\n'),
    );
    const r = await meshtel(['check-config', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const errors = r.stderr.split('\n').map((l) => l.trim()).filter((l) => /^[a-z_.]+: /.test(l));
    const byPath = Object.fromEntries(errors.map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
    expect(Object.keys(byPath).sort()).toEqual([
      'admin.endpoint',
      'aggregation.servce_graph',
      'aggregation.span_metrics.histogram_buckets',
      'log.level',
      'receivers.otlp.endpoint',
      'shutdown_timeout',
    ]);
    expect(byPath['receivers.otlp.endpoint']).toMatch(/^must be HOST:PORT.*\(got "localhost"\)$/);
    expect(byPath['admin.endpoint']).toMatch(/^must be HOST:PORT.*\(got "127\.0\.0\.1:99999"\)$/);
    expect(byPath['aggregation.servce_graph']).toBe('unknown key (did you mean "service_graph"?)');
    expect(byPath['aggregation.span_metrics.histogram_buckets']).toMatch(/strictly increasing/);
    expect(byPath['log.level']).toMatch(/^must be one of .*"info"/);
    expect(byPath.shutdown_timeout).toMatch(/^must be a duration.*\(got "soon"\)$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('unreadable or malformed files and a missing argument', async () => {
    const missing = join(dir, 'missing.yaml');
    const syntax = file('syntax.yaml', 'receivers:\n  otlp:\n    endpoint: [oops\n');
    const [noFile, badYaml, noArg] = await Promise.all([meshtel(['check-config', missing]), meshtel(['check-config', syntax]), meshtel(['check-config'])]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain(`${missing}: cannot read the config file (no such file)`);
    expect(badYaml.code).toBe(1);
    expect(badYaml.stderr).toMatch(new RegExp(`${syntax.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    expect(noArg.code).toBe(2);
    expect(noArg.stderr).toContain('usage: meshtel check-config FILE');
  });
});

describe('configuration precedence: flags > environment > file > defaults', () => {
  test('each source overrides only the keys it sets', async () => {
    // 127.0.0.0/8 is loopback: the host each endpoint binds tells which source won.
    const config = file('precedence.yaml', 'receivers:\n  otlp:\n    endpoint: 127.0.0.2:0\nadmin:\n  endpoint: 127.0.0.4:0\n');
    const host = (address: string) => address.slice(0, address.lastIndexOf(':'));
    const [fromFile, fromEnv, fromFlag] = await Promise.all([
      startCollector(['--config', config]),
      startCollector([], { env: { MESHTEL_CONFIG: config, MESHTEL_OTLP_ENDPOINT: '127.0.0.3:0' } }),
      startCollector(['--config', config, '--otlp-endpoint', '127.0.0.1:0'], { env: { MESHTEL_OTLP_ENDPOINT: '127.0.0.3:0' } }),
    ]);
    expect([host(fromFile.otlp), host(fromFile.admin)]).toEqual(['127.0.0.2', '127.0.0.4']);
    expect([host(fromEnv.otlp), host(fromEnv.admin)]).toEqual(['127.0.0.3', '127.0.0.4']);
    expect([host(fromFlag.otlp), host(fromFlag.admin)]).toEqual(['127.0.0.1', '127.0.0.4']);
    const codes = await Promise.all([fromFile, fromEnv, fromFlag].map((c) => c.process.stop()));
    expect(codes).toEqual([0, 0, 0]);
  });

  test('an invalid value names its key and where it came from', async () => {
    const r = await meshtel(['run', '--admin-endpoint', 'nowhere'], { env: { MESHTEL_OTLP_ENDPOINT: '127.0.0.1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/receivers\.otlp\.endpoint \(from MESHTEL_OTLP_ENDPOINT\): must be HOST:PORT.*\(got "127\.0\.0\.1"\)/);
    expect(r.stderr).toMatch(/admin\.endpoint \(from --admin-endpoint\): must be HOST:PORT.*\(got "nowhere"\)/);
  });
});

test('startup on a port in use fails with a clear message naming the flag, and exit code 1', async () => {
  const busy = await listening();
  const port = (busy.address() as { port: number }).port;
  try {
    const [otlp, admin] = await Promise.all([
      meshtel(['run', '--otlp-endpoint', `127.0.0.1:${port}`, '--admin-endpoint', '127.0.0.1:0']),
      meshtel(['run', '--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', `127.0.0.1:${port}`]),
    ]);
    for (const [r, flag] of [[otlp, '--otlp-endpoint'], [admin, '--admin-endpoint']] as const) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`meshtel: cannot listen on 127.0.0.1:${port}: the address is already in use`);
      expect(r.stderr).toContain(`Choose another port with ${flag}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  } finally {
    await new Promise((r) => busy.close(r));
  }
});

test('npx meshtel --help runs the package\'s own bin from the repository', async () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  // npm_config_yes=false: never download a package of that name from the registry.
  const r = await run('npx', ['meshtel', '--help'], { cwd: ROOT, env: { npm_config_yes: 'false' }, timeoutMs: 30_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`meshtel ${version}: the telemetry pipeline of a service mesh`);
  for (const command of ['meshtel run', 'meshtel stat', 'meshtel edges', 'meshtel check-config']) expect(r.stdout).toContain(command);
  for (const flag of ['--otlp-endpoint', '--admin-endpoint', 'MESHTEL_OTLP_ENDPOINT', '--config']) expect(r.stdout).toContain(flag);

  const [none, unknown] = await Promise.all([meshtel([]), meshtel(['frobnicate'])]);
  expect(none.code).toBe(2);
  expect(none.stdout).toContain('Usage:');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown command "frobnicate"');
});
