import type { ChildProcess } from 'node:child_process';

/** Either side of a bench child's IPC channel: the child as its parent sees it, or this process. */
export type Endpoint = NodeJS.Process | ChildProcess;

/** The next message of `type` from the other process. */
export function nextMessage<T extends { type: string }>(endpoint: Endpoint, type: T['type']): Promise<T> {
  return new Promise((resolve) => {
    const listener = (message: T) => {
      if (message.type !== type) return;
      endpoint.off('message', listener);
      resolve(message);
    };
    endpoint.on('message', listener);
  });
}
