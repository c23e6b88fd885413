import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NO_FAULT, validFault, type Fault } from '../apps/faults.js';
import { LoadGenerator } from '../load/load-generator.js';
import { MeshCA } from '../pki.js';
import type { FromPod, ToPod } from '../pod/protocol.js';
import type { Endpoint, ProxyPorts } from '../proxy/proxy.js';
import type { TelemetryOptions } from '../proxy/telemetry.js';
import { NAMESPACE, SERVICES, instances, type Instance } from '../topology.js';
import { summarize, type Truth, type TruthEntry } from '../truth.js';

export interface MeshOptions extends TelemetryOptions {
  /** Requests per second the load generator sends to `student`; 0 starts without load. */
  rate: number;
  faults: Record<string, Fault>;
  /** How long the workloads' identity certificates are valid from the mesh's start. */
  certValidityMs: number;
}

interface PodProcess {
  name: string;
  instances: Instance[];
  child: ChildProcess;
  ports: ProxyPorts;
}

const POD_MAIN = fileURLToPath(new URL('../pod/pod-main.js', import.meta.url));

/**
 * The example mesh: generates the mesh CA, starts one process per pod (sidecar mode) or per node
 * (per-node mode), tells every proxy where the others are, and drives the load. It also answers
 * for the mesh as a whole: the ground truth, faults, stopping a proxy, flushing telemetry.
 */
export class Mesh {
  private readonly pods: PodProcess[] = [];
  private readonly load: LoadGenerator;
  private readonly pending = new Map<number, { resolve: (m: FromPod) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private since = new Date();
  private faults: Record<string, Fault>;

  private constructor(private readonly options: MeshOptions) {
    this.faults = { ...options.faults };
    this.load = new LoadGenerator(() => this.studentPorts());
  }

  static async start(options: MeshOptions): Promise<Mesh> {
    const mesh = new Mesh(options);
    try {
      await mesh.boot();
    } catch (e) {
      await mesh.shutdown();
      throw e;
    }
    return mesh;
  }

  get proxyMode(): 'sidecar' | 'node' {
    return this.options.proxyMode;
  }

  /** Every pod, the process it runs in, and its proxy's ports. */
  status(): { process: string; pods: string[]; ports: ProxyPorts; running: boolean }[] {
    return this.pods.map((p) => ({ process: p.name, pods: p.instances.map((i) => i.pod), ports: p.ports, running: p.child.exitCode === null }));
  }

  private async boot(): Promise<void> {
    const ca = await MeshCA.create(this.options.certValidityMs);
    const all = instances();
    const groups = this.options.proxyMode === 'sidecar' ? all.map((i) => [i.pod, [i]] as const) : [...groupBy(all, (i) => i.node)];
    const identities = new Map(await Promise.all(SERVICES.map(async (s) => [s.name, await ca.issue(s.name)] as const)));
    await Promise.all(
      groups.map(async ([name, members]) => {
        const child = fork(POD_MAIN, [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
        child.on('message', (m: FromPod) => this.reply(m));
        const started = await this.request(child, {
          type: 'start',
          id: 0,
          instances: members.map((instance) => ({ instance, tls: identities.get(instance.service.name)! })),
          telemetry: { collector: this.options.collector, sampling: this.options.sampling, exportIntervalMs: this.options.exportIntervalMs, proxyMode: this.options.proxyMode },
          faults: this.faults,
        }, 60_000);
        if (started.type !== 'started') throw new Error(`${name} did not start`);
        this.pods.push({ name, instances: [...members], child, ports: started.ports });
      }),
    );
    await this.broadcast({ type: 'registry', id: 0, registry: [...this.registry()] });
    this.since = new Date();
    this.load.start(this.options.rate);
  }

  /** Where each service's instances can be reached: their proxies' mutual-TLS ports. */
  private registry(): Map<string, Endpoint[]> {
    const registry = new Map<string, Endpoint[]>();
    for (const p of this.pods) {
      for (const i of p.instances) {
        const list = registry.get(i.service.name) ?? [];
        list.push({ pod: i.pod, port: p.ports.inboundTls });
        registry.set(i.service.name, list);
      }
    }
    return registry;
  }

  private studentPorts(): number[] {
    return this.pods.filter((p) => p.instances.some((i) => i.service.name === 'student')).map((p) => p.ports.inboundPlain);
  }

  /** The ground truth so far, from every proxy and the load generator. */
  async truth(): Promise<Truth> {
    const replies = await Promise.all(this.pods.map((p) => this.request(p.child, { type: 'truth', id: 0 })));
    const entries: TruthEntry[] = replies.flatMap((r) => (r.type === 'truth' ? r.entries : []));
    return {
      since: this.since.toISOString(),
      sampling: this.options.sampling,
      proxy_mode: this.options.proxyMode,
      ...summarize(entries, NAMESPACE),
      load: this.load.snapshot(),
    };
  }

  faultsNow(): Record<string, Fault> {
    return { ...this.faults };
  }

  /** Sets (or clears, with zeros) the fault of one service, effective at once. */
  async setFault(service: string, fault: Fault): Promise<void> {
    if (!SERVICES.some((s) => s.name === service)) throw new Error(`no service "${service}" (services: ${SERVICES.map((s) => s.name).join(', ')})`);
    validFault(fault);
    if (fault.errorRate === 0 && fault.latencyMs === 0) delete this.faults[service];
    else this.faults[service] = { ...NO_FAULT, ...fault };
    await this.broadcast({ type: 'faults', id: 0, faults: this.faults });
  }

  /** Stops or restarts the proxy in front of one pod (its application keeps running). */
  async proxy(pod: string, action: 'stop' | 'start'): Promise<void> {
    const p = this.pods.find((x) => x.instances.some((i) => i.pod === pod));
    if (p === undefined) throw new Error(`no pod "${pod}" (pods: ${this.pods.flatMap((x) => x.instances.map((i) => i.pod)).join(', ')})`);
    await this.request(p.child, { type: 'proxy', id: 0, action });
  }

  /** Sets the load generator's rate (0 pauses it) without waiting. */
  setRate(rate: number): void {
    this.load.start(rate);
  }

  /** Stops the load and waits until the requests in flight are answered, `timeoutMs` at most. */
  async stopLoad(timeoutMs = 30_000): Promise<void> {
    await deadline(this.load.stop(), timeoutMs, () => {
      const s = this.load.snapshot();
      return `requests of the load generator still in flight ${timeoutMs}ms after it stopped: ${s.sent - s.completed - s.errors} (sent ${s.sent}, completed ${s.completed}, errors ${s.errors}; in flight by stage ${JSON.stringify(this.load.inFlightStages())})`;
    });
  }

  /** Exports every span and metric recorded so far, from every proxy. */
  async flush(): Promise<void> {
    await this.broadcast({ type: 'flush', id: 0 });
  }

  async shutdown(): Promise<void> {
    this.load.close();
    await Promise.all(
      this.pods.map(async (p) => {
        if (p.child.exitCode !== null || !p.child.connected) return;
        const exited = new Promise((r) => p.child.once('exit', r));
        await this.request(p.child, { type: 'shutdown', id: 0 }).catch(() => undefined);
        const kill = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(kill);
      }),
    );
  }

  private async broadcast(message: ToPod): Promise<void> {
    await Promise.all(this.pods.map((p) => this.request(p.child, message)));
  }

  /** Sends `message` to a pod process and waits for its answer, `timeoutMs` at most. */
  private request(child: ChildProcess, message: ToPod, timeoutMs = 30_000): Promise<FromPod> {
    const id = this.nextId++;
    return new Promise<FromPod>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('exit', onExit);
        this.pending.delete(id);
      };
      const fail = (e: Error) => {
        done();
        reject(e);
      };
      const onExit = () => fail(new Error(`a pod process exited (code ${child.exitCode})`));
      const timer = setTimeout(() => {
        const pod = this.pods.find((p) => p.child === child)?.name ?? `pid ${child.pid}`;
        fail(new Error(`pod process ${pod} did not answer "${message.type}" within ${timeoutMs}ms (connected: ${child.connected}, exit code: ${child.exitCode})`));
      }, timeoutMs);
      child.once('exit', onExit);
      this.pending.set(id, {
        resolve: (m) => {
          done();
          if (m.type === 'failed') reject(new Error(m.error));
          else resolve(m);
        },
        reject: fail,
      });
      child.send({ ...message, id }, (err) => {
        if (err) fail(err);
      });
    });
  }

  private reply(message: FromPod): void {
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    this.pending.delete(message.id);
    p.resolve(message);
  }
}

/** `promise`, or a rejection saying `what()` once `ms` have passed first. */
async function deadline<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
