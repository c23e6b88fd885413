import pino, { type Logger } from 'pino';

/**
 * The JSON logger of a long-running command, on standard output, written synchronously.
 *
 * pino's default stdout is asynchronous and flushes on exit with a retry loop that never gives
 * up on a reader that went away (`meshtel run | head`): the process would hang at exit, SIGTERM or
 * not. A synchronous write learns of the broken pipe at once, and pino then stops writing. These
 * commands log a few lines a minute at most, so writing them synchronously costs nothing.
 */
export function stdoutLogger(level: string, service: string): Logger {
  return pino({ level, base: { service } }, pino.destination({ fd: 1, sync: true }));
}
