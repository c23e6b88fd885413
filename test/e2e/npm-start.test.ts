/**
 * `npm start` (`meshtel run --demo`): the collector with the example mesh (and Prometheus and
 * Alertmanager, installed here). Within 15 seconds `meshtel stat` shows the four workloads with
 * traffic and `meshtel edges` the three edges, secured; Ctrl-C stops everything, leaving nothing.
 * Ports 0 here, so that nothing collides with a developer's running collector.
 */
import { afterAll, expect, it } from 'vitest';
import type { EdgesResponse, StatResponse } from '../../collector/api/views.js';
import { CLI, cleanEnv, ensureBuilt, run } from '../support/collector-process.js';
import { startProcess, waitFor, type StartedProcess } from '../support/processes.js';
import { requireProgram } from '../support/system-packages.js';

let start: StartedProcess | undefined;
afterAll(async () => {
  await start?.stop('SIGKILL');
});

async function json<T>(args: string[]): Promise<T> {
  const r = await run(process.execPath, [CLI, ...args, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

it('shows four workloads and three secured edges within 15 s, and Ctrl-C stops everything', async () => {
  requireProgram('prometheus');
  requireProgram('prometheus-alertmanager');
  ensureBuilt();
  const began = Date.now();
  start = await startProcess(process.execPath, [CLI, 'run', '--demo', '--otlp-endpoint', '127.0.0.1:0', '--admin-endpoint', '127.0.0.1:0'], {
    readyPattern: /Next, in another terminal:/,
    env: cleanEnv(),
    timeoutMs: 30_000,
  });
  const banner = start.output();
  const admin = /metrics\s+http:\/\/([\d.:]+)\/metrics/.exec(banner)![1]!;
  const prometheus = /Prometheus\s+(http:\/\/[\d.:]+)/.exec(banner)![1]!;
  const alertmanager = /Alertmanager\s+(http:\/\/[\d.:]+)/.exec(banner)![1]!;
  const control = /control: (http:\/\/[\d.:]+)/.exec(banner)?.[1] ?? /--control (http:\/\/[\d.:]+)/.exec(banner)![1]!;
  expect(banner).toContain('npx meshtel stat');

  const stat = await waitFor(
    'meshtel stat to show the four workloads with traffic',
    async () => {
      const s = await json<StatResponse>(['stat', '--admin', admin]);
      return s.workloads.filter((w) => w.requests > 0).length === 4 ? s : undefined;
    },
    15_000 - (Date.now() - began),
    250,
  );
  expect(stat.workloads.map((w) => w.name)).toEqual(['auth', 'number', 'score', 'student']);
  const meshEdges = await waitFor(
    'meshtel edges to show the three edges of the mesh',
    async () => {
      const e = await json<EdgesResponse>(['edges', '--admin', admin]);
      const proxied = e.edges.filter((x) => x.source === 'proxy').map((x) => `${x.src.name}->${x.dst.name} secured=${x.secured}`);
      return proxied.length === 3 ? proxied : undefined;
    },
    15_000 - (Date.now() - began),
    250,
  );
  expect(meshEdges).toEqual(['number->score secured=true', 'student->auth secured=true', 'student->number secured=true']);
  expect(Date.now() - began).toBeLessThan(15_000);

  // Prometheus is scraping the collector.
  await waitFor('Prometheus to scrape the collector', async () => {
    const r = (await (await fetch(`${prometheus}/api/v1/query?query=up{job="meshtel"}`)).json()) as { data: { result: { value: [number, string] }[] } };
    return r.data.result[0]?.value[1] === '1' ? true : undefined;
  });
  expect(await answers(alertmanager)).toBe(true);
  expect(await answers(`${control}/status`)).toBe(true);

  // Ctrl-C: everything it started goes away, and it exits 0.
  start.child.kill('SIGINT');
  expect(await start.exited).toBe(0);
  for (const url of [`http://${admin}/metrics`, prometheus, alertmanager, `${control}/status`]) {
    expect(await answers(url), url).toBe(false);
  }
});
