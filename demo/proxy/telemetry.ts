import { X509Certificate } from 'node:crypto';
import { metrics, trace, type Counter, type Histogram, type Meter, type Tracer, type UpDownCounter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ParentBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { NAMESPACE, type Instance } from '../topology.js';
import { ConsistentProbabilitySampler } from './sampler.js';

export interface TelemetryOptions {
  /** OTLP/HTTP base URL of the collector (`http://127.0.0.1:4318`). */
  collector: string;
  /** Share of traces kept, in (0, 1]. Metrics always count every request. */
  sampling: number;
  exportIntervalMs: number;
  proxyMode: 'sidecar' | 'node';
}

/**
 * The metric instruments of a proxy, named as Linkerd's proxy names them, so that meshtel's
 * golden metrics read them exactly as they would read a Linkerd mesh's.
 */
export interface ProxyInstruments {
  requests: Counter;
  responses: Counter;
  latency: Histogram;
  openConnections: UpDownCounter;
  /** Connections that closed, by `errno`: the error's code, empty for a clean close. */
  closedConnections: Counter;
}

/** What one proxy needs to report for one workload instance it serves. */
export interface InstanceTelemetry {
  tracer: Tracer;
  instruments: ProxyInstruments;
  meter: Meter;
  /** Exports everything recorded so far (what tests wait on instead of sleeping). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Latency buckets (ms): Linkerd's proxy layout, plus 0.5 ms for loopback hops. */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

const SCOPE = 'meshtel-demo-proxy';

/** The OpenTelemetry resource of a workload instance, as a Kubernetes pod would describe it. */
export function instanceResource(instance: Instance, proxyMode: 'sidecar' | 'node'): Resource {
  return resourceFromAttributes({
    'service.name': instance.service.name,
    'service.namespace': NAMESPACE,
    'service.instance.id': instance.pod,
    'k8s.namespace.name': NAMESPACE,
    'k8s.deployment.name': instance.service.name,
    'k8s.pod.name': instance.pod,
    'k8s.node.name': instance.node,
    'meshtel.proxy.mode': proxyMode,
  });
}

function exporters(options: TelemetryOptions) {
  const spans = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: `${options.collector}/v1/traces` }),
    scheduledDelayMillis: 500,
    maxQueueSize: 8192,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${options.collector}/v1/metrics` }),
    exportIntervalMillis: options.exportIntervalMs,
  });
  const sampler = new ParentBasedSampler({ root: new ConsistentProbabilitySampler(options.sampling) });
  return { spans, reader, sampler };
}

/** The proxy's instruments on `meter` (also what the benchmark's synthetic proxies record on). */
export function proxyInstruments(meter: Meter): ProxyInstruments {
  return {
    requests: meter.createCounter('request_total', { description: 'Requests the proxy forwarded.' }),
    responses: meter.createCounter('response_total', { description: 'Responses the proxy forwarded, by classification and status.' }),
    latency: meter.createHistogram('response_latency_ms', {
      description: 'Time from request to complete response, as the proxy saw it.',
      unit: 'ms',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS_MS },
    }),
    openConnections: meter.createUpDownCounter('tcp_open_connections', { description: 'TCP connections open now.' }),
    closedConnections: meter.createCounter('tcp_close_total', { description: 'TCP connections closed (or that failed to open), by errno; empty errno for a clean close.' }),
  };
}

/**
 * Reports, as Linkerd's proxy does, when the identity certificate the proxy presents for a
 * workload instance expires: `identity_cert_expiration_timestamp_seconds`, its notAfter in Unix
 * seconds, read from the certificate itself.
 */
export function reportCertificateExpiry(meter: Meter, certificatePem: string): void {
  const notAfter = Date.parse(new X509Certificate(certificatePem).validTo) / 1000;
  meter
    .createObservableGauge('identity_cert_expiration_timestamp_seconds', { description: 'When the proxy identity certificate expires, in seconds since the epoch.', unit: 's' })
    .addCallback((r) => r.observe(notAfter));
}

/**
 * A sidecar's telemetry: the OpenTelemetry NodeSDK of its pod's process, one resource for the
 * one workload instance it serves.
 */
export function sidecarTelemetry(instance: Instance, options: TelemetryOptions): InstanceTelemetry {
  const { spans, reader, sampler } = exporters(options);
  const sdk = new NodeSDK({
    resource: instanceResource(instance, 'sidecar'),
    autoDetectResources: false,
    resourceDetectors: [],
    sampler,
    spanProcessors: [spans],
    metricReaders: [reader],
    instrumentations: [],
  });
  sdk.start();
  const meter = metrics.getMeter(SCOPE);
  return {
    tracer: trace.getTracer(SCOPE),
    meter,
    instruments: proxyInstruments(meter),
    flush: async () => {
      await Promise.all([spans.forceFlush(), reader.forceFlush()]);
    },
    shutdown: () => sdk.shutdown(),
  };
}

/**
 * A per-node proxy's telemetry for one of the workload instances it serves. NodeSDK is one per
 * process and one resource; a node proxy speaks for several workloads, so it keeps a tracer and
 * a meter provider per instance, built from the same SDK packages NodeSDK assembles.
 */
export function nodeProxyTelemetry(instance: Instance, options: TelemetryOptions): InstanceTelemetry {
  const { spans, reader, sampler } = exporters(options);
  const resource = instanceResource(instance, 'node');
  const tracerProvider = new TracerProvider({ resource, sampler, spanProcessors: [spans] });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const meter = meterProvider.getMeter(SCOPE);
  return {
    tracer: tracerProvider.getTracer(SCOPE),
    meter,
    instruments: proxyInstruments(meter),
    flush: async () => {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
