import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type StartedProcess } from './processes.js';

/** The repository root (where package.json is). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI, as `npx meshtel` runs it (package.json `bin`). */
export const CLI = join(ROOT, 'dist', 'collector', 'cli', 'meshtel.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ (`npm run build`'s tsc) when the CLI is missing or older than a source file, so that
 * tests of the CLI never run yesterday's code. A build error fails the caller with tsc's output.
 */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(CLI).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(...['collector', 'exporters', 'demo'].map((d) => newestSource(join(ROOT, d))), statSync(join(ROOT, 'package.json')).mtimeMs);
  if (built >= sources) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const out = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm run build failed, so the CLI cannot be tested:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`, { cause: e });
  }
}

/** The environment of the test process without any MESHTEL_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MESHTEL_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CollectorProcess {
  readonly process: StartedProcess;
  /** `host:port` the OTLP/HTTP receiver bound. */
  readonly otlp: string;
  /** `host:port` the admin server bound. */
  readonly admin: string;
  /** Every JSON log line so far, parsed. */
  logs(): Record<string, unknown>[];
}

/**
 * Spawns `node NODE_ARGS meshtel run ARGS` (the built CLI; `nodeArgs` e.g. `--max-old-space-size`,
 * which the memory limits are relative to) and resolves once it logged "meshtel collector
 * started", with the addresses it logged there. Stop it with `process.stop()` (SIGTERM) or
 * processes' `stopAll()`.
 */
export async function startCollector(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): Promise<CollectorProcess> {
  const p = await startProcess(process.execPath, [...(options.nodeArgs ?? []), CLI, 'run', ...args], {
    readyPattern: /^(\{.*"msg":"meshtel collector started".*\})$/m,
    env: cleanEnv(options.env),
    cwd: ROOT,
    timeoutMs: options.timeoutMs ?? 15_000,
  });
  const started = JSON.parse(p.ready[1]!) as { otlp: string; admin: string };
  return {
    process: p,
    otlp: started.otlp,
    admin: started.admin,
    logs: () =>
      p
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its exit code and output. */
export function run(command: string, args: readonly string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${options.timeoutMs ?? 15_000}ms; output:\n${stdout}${stderr}`));
    }, options.timeoutMs ?? 15_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the built CLI (`node dist/collector/cli/meshtel.js ARGS`). */
export function meshtel(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return run(process.execPath, [CLI, ...args], options);
}
