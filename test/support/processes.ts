import { startUntilReady, type Started } from '../../demo/launcher/processes.js';

export type StartedProcess = Started;

const running = new Set<Started>();

export interface StartOptions {
  /** Output (stdout or stderr) that means the process is ready; its match is returned. */
  readyPattern: RegExp;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Spawns a real program and resolves once its output matches `readyPattern` (or rejects with
 * its output when it exits or times out first). Every process is stopped by `stopAll()`; one
 * that must be killed takes the processes it started with it (its own process group).
 */
export async function startProcess(command: string, args: readonly string[], options: StartOptions): Promise<Started> {
  const p = await startUntilReady(command, args, options.readyPattern, { ...options, ownGroup: true });
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
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
