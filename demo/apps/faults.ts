/**
 * Fault injection, per service, changeable while the mesh runs: added latency, and a share of
 * requests answered with an error (HTTP 500, gRPC UNAVAILABLE).
 */
export interface Fault {
  /** Share of requests that fail, 0 to 1. */
  errorRate: number;
  /** Added to every request, in milliseconds. */
  latencyMs: number;
}

export type Faults = Record<string, Fault>;

export const NO_FAULT: Fault = Object.freeze({ errorRate: 0, latencyMs: 0 });

/** Applies the fault of a service to one request: waits, then says whether it must fail. */
export async function injectFault(fault: Fault | undefined): Promise<boolean> {
  if (fault === undefined) return false;
  if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
  return fault.errorRate > 0 && Math.random() < fault.errorRate;
}

/** Parses `auth:error=0.2,latency=50ms` (the `--fault` flag). */
export function parseFault(text: string): [service: string, fault: Fault] {
  const m = /^([a-z0-9-]+):(.+)$/.exec(text.trim());
  if (m === null) throw new Error(`--fault must look like SERVICE:error=0.1,latency=50ms (got "${text}")`);
  const fault = { ...NO_FAULT };
  for (const part of m[2]!.split(',')) {
    const [key, value = ''] = part.split('=');
    if (key === 'error') fault.errorRate = Number(value);
    else if (key === 'latency') fault.latencyMs = Number(value.replace(/ms$/, ''));
    else throw new Error(`--fault: unknown setting "${key}" (use error= and latency=)`);
  }
  return [m[1]!, validFault(fault)];
}

export function validFault(f: Fault): Fault {
  if (!(f.errorRate >= 0 && f.errorRate <= 1)) throw new Error(`error rate must be between 0 and 1 (got ${f.errorRate})`);
  if (!(f.latencyMs >= 0 && f.latencyMs <= 60_000)) throw new Error(`latency must be between 0 and 60000 ms (got ${f.latencyMs})`);
  return f;
}
