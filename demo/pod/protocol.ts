import type { Fault } from '../apps/faults.js';
import type { TlsMaterial } from '../pki.js';
import type { Endpoint, ProxyPorts } from '../proxy/proxy.js';
import type { TelemetryOptions } from '../proxy/telemetry.js';
import type { Instance } from '../topology.js';
import type { TruthEntry } from '../truth.js';

/**
 * Messages between the mesh launcher and a pod process (a pod with its sidecar, or a node with
 * its node proxy), over Node's IPC channel. Requests carry an id the reply repeats.
 */
export type ToPod =
  | { type: 'start'; id: number; instances: { instance: Instance; tls: TlsMaterial }[]; telemetry: TelemetryOptions; faults: Record<string, Fault> }
  | { type: 'registry'; id: number; registry: [service: string, endpoints: Endpoint[]][] }
  | { type: 'faults'; id: number; faults: Record<string, Fault> }
  | { type: 'truth'; id: number }
  | { type: 'flush'; id: number }
  | { type: 'proxy'; id: number; action: 'stop' | 'start' }
  | { type: 'shutdown'; id: number };

export type FromPod =
  | { type: 'started'; id: number; ports: ProxyPorts }
  | { type: 'truth'; id: number; entries: TruthEntry[] }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; error: string };
