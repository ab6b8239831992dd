/**
 * OpenTelemetry tracing, configured only by the standard OTEL_* variables; started by src/tracing.ts.
 * With no OTLP endpoint (or OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none) nothing is loaded.
 * Only the trace SDK, the OTLP/HTTP exporters and three instrumentations are loaded (not
 * @opentelemetry/sdk-node, whose metrics, logs, gRPC and Zipkin exporters took 180 MB of the image).
 */
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { markTracingEnabled } from './trace-context';

let provider: NodeTracerProvider | undefined;

export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  const set = (name: string) => (env[name]?.trim() ?? '') !== '';
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.split(',').some((e) => e.trim() === 'none')) return false;
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
}

/**
 * Starts tracing when it is wanted. The endpoint, headers, OTEL_BSP_* and OTEL_TRACES_SAMPLER(_ARG) are
 * read by the exporter, span processor and provider themselves; the resource from OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, the host and the process; propagation is W3C trace context and baggage.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider || !tracingWanted(env)) return Boolean(provider);
  env.OTEL_SERVICE_NAME ??= 'pyexec-service';

  const { NodeTracerProvider: Provider } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { detectResources, envDetector, hostDetector, processDetector } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { registerInstrumentations } =
    require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');

  provider = new Provider({
    resource: detectResources({ detectors: [envDetector, processDetector, hostDetector] }),
    spanProcessors: [new BatchSpanProcessor(otlpExporter(env))],
  });
  provider.register();
  const probes = new Set(['/health/live', '/health/ready', '/metrics']);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Probes and scrapes every few seconds would drown the traces that matter.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => probes.has((request.url ?? '').split('?')[0]),
        // Outgoing requests are webhooks: their path and query may carry the receiver's tokens
        // (logs show the origin only).
        startOutgoingSpanHook: (request) => ({
          'url.full': `${request.protocol ?? 'http:'}//${request.hostname ?? request.host ?? ''}${request.port ? `:${request.port}` : ''}/`,
        }),
      }),
      new ExpressInstrumentation(),
      // The command name only: arguments carry users' code, stdin, output and job records.
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  markTracingEnabled();
  return true;
}

/** OTLP over HTTP, protobuf (the default) or JSON as OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says; gRPC is not bundled. */
function otlpExporter(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol =
    (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim() || 'http/protobuf';
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } =
      require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  if (protocol !== 'http/protobuf') {
    console.warn(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported (only http/protobuf and http/json): using http/protobuf`,
    );
  }
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

/** Exports what is still buffered; main.ts calls it before the process exits. */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown().catch(() => undefined);
}
