/**
 * A pod process of the example mesh: the applications of its instances and the proxy in front of
 * them. In sidecar mode it is one pod (one application, its sidecar, the OpenTelemetry NodeSDK);
 * in per-node mode it is one node (several applications behind one node proxy). The launcher
 * drives it over IPC (protocol.ts).
 */
import type { App } from '../apps/http-app.js';
import type { Fault } from '../apps/faults.js';
import { startApp } from '../apps/services.js';
import { MeshProxy, type Endpoint, type ProxyPorts, type ServedInstance } from '../proxy/proxy.js';
import { nodeProxyTelemetry, sidecarTelemetry } from '../proxy/telemetry.js';
import { TruthRecorder } from '../truth.js';
import type { FromPod, ToPod } from './protocol.js';

let registry = new Map<string, Endpoint[]>();
let faults: Record<string, Fault> = {};
const truth = new TruthRecorder();
const apps: App[] = [];
let served: ServedInstance[] = [];
let proxy: MeshProxy | undefined;
let ports: ProxyPorts | undefined;

function send(message: FromPod): void {
  process.send?.(message);
}

async function start(message: Extract<ToPod, { type: 'start' }>): Promise<ProxyPorts> {
  faults = message.faults;
  const telemetry = message.telemetry.proxyMode === 'sidecar' ? sidecarTelemetry : nodeProxyTelemetry;
  served = [];
  for (const { instance, tls } of message.instances) {
    const app = await startApp(instance.service.name, () => ports!.outbound[instance.pod]!, () => faults[instance.service.name]);
    apps.push(app);
    served.push({ instance, tls, telemetry: telemetry(instance, message.telemetry), appPort: app.port });
  }
  proxy = new MeshProxy(served, () => registry, truth);
  ports = await proxy.start();
  return ports;
}

async function handle(message: ToPod): Promise<void> {
  try {
    switch (message.type) {
      case 'start':
        send({ type: 'started', id: message.id, ports: await start(message) });
        return;
      case 'registry':
        registry = new Map(message.registry);
        break;
      case 'faults':
        faults = message.faults;
        break;
      case 'truth':
        send({ type: 'truth', id: message.id, entries: truth.snapshot() });
        return;
      case 'flush':
        await Promise.all(served.map((s) => s.telemetry.flush()));
        break;
      case 'proxy':
        if (message.action === 'stop') await proxy?.stop();
        else if (proxy !== undefined && ports !== undefined) await proxy.start(ports);
        break;
      case 'shutdown':
        await proxy?.stop();
        await Promise.all(apps.map((a) => a.close()));
        await Promise.all(served.map((s) => s.telemetry.shutdown()));
        send({ type: 'done', id: message.id });
        process.disconnect?.();
        return;
    }
    send({ type: 'done', id: message.id });
  } catch (e) {
    send({ type: 'failed', id: message.id, error: (e as Error).stack ?? String(e) });
  }
}

process.on('message', (message: ToPod) => void handle(message));
// The launcher going away (even killed) takes its pods with it.
process.on('disconnect', () => process.exit(0));
