import { spawn, type ChildProcess } from 'node:child_process';

export interface StartedProcess {
  readonly child: ChildProcess;
  /** The match of `readyPattern` that marked the process ready. */
  readonly ready: RegExpMatchArray;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

const running = new Set<StartedProcess>();

export interface StartOptions {
  /** Output (stdout or stderr) that means the process is ready; its match is returned. */
  readyPattern: RegExp;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Spawns a real program and resolves once its output matches `readyPattern` (or rejects with
 * its output when it exits or times out first). Every process is stopped by `stopAll()`.
 */
export function startProcess(command: string, args: readonly string[], options: StartOptions): Promise<StartedProcess> {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} was not ready within ${options.timeoutMs ?? 30_000}ms; output:\n${out}`));
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = options.readyPattern.exec(out);
      if (m === null || settled) return;
      settled = true;
      clearTimeout(timer);
      const p: StartedProcess = {
        child,
        ready: m,
        output: () => out,
        exited,
        stop: async (signal = 'SIGTERM', graceMs = 10_000) => {
          running.delete(p);
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill(signal);
          const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const code = await exited;
          clearTimeout(kill);
          return code;
        },
      };
      running.add(p);
      resolve(p);
    };
    let settled = false;
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`cannot start ${command}: ${e.message}`));
    });
    void exited.then((code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${command} exited with code ${code} before it was ready; output:\n${out}`));
    });
  });
}

/** Stops every process still running (call from afterAll/afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with
 * the last value seen. Tests wait on conditions this way, never on fixed sleeps.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
