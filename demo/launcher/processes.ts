import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** A program started and seen ready. */
export interface Started {
  readonly child: ChildProcess;
  /** The match of the ready pattern in its output. */
  readonly ready: RegExpMatchArray;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once it has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/** Whether a program is on the PATH. */
export function installed(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Spawns a program and resolves once its output matches `readyPattern`; rejects with its
 * output when it exits first or does not get ready within `timeoutMs`.
 */
export function startUntilReady(
  command: string,
  args: readonly string[],
  readyPattern: RegExp,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; ownGroup?: boolean } = {},
): Promise<Started> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  // `ownGroup`: the program leads a process group of its own, and a SIGKILL goes to the whole
  // group, so that programs it started die with it (tests: a collector killed after its grace
  // period must not leave its Prometheus behind). Not for what a terminal's Ctrl-C must reach.
  const group = options.ownGroup === true;
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
  const kill = () => {
    if (group && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
        return;
      } catch {
        // The group is gone already.
      }
    }
    child.kill('SIGKILL');
  };
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const escalation = setTimeout(kill, graceMs);
    const code = await exited;
    clearTimeout(escalation);
    return code;
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      kill();
      settle(() => reject(new Error(`${command} was not ready within ${timeoutMs}ms; output:\n${out}`)));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const ready = readyPattern.exec(out);
      if (ready !== null) settle(() => resolve({ child, ready, output: () => out, exited, stop }));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => settle(() => reject(new Error(`cannot start ${command}: ${e.message}`))));
    void exited.then((code) => settle(() => reject(new Error(`${command} exited with code ${code} before it was ready; output:\n${out}`))));
  });
}
