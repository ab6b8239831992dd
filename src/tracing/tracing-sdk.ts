/**
 * OpenTelemetry tracing, configured only by the standard OTEL_* variables; started by src/tracing.ts.
 * With no OTLP endpoint (or OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none) nothing is loaded.
 */
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { markTracingEnabled } from './trace-context';

let sdk: NodeSDK | undefined;

export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  const set = (name: string) => (env[name]?.trim() ?? '') !== '';
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.split(',').some((e) => e.trim() === 'none')) return false;
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
}

/** Starts the SDK when tracing is wanted; the exporter, protocol and sampler come from OTEL_* as NodeSDK reads them. */
export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk || !tracingWanted(env)) return Boolean(sdk);
  // Traces only unless the operator asks for more: metrics are Prometheus at /metrics.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  env.OTEL_SERVICE_NAME ??= 'pyexec-service';

  const { NodeSDK: Sdk } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { IORedisInstrumentation } =
    require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');

  const probes = new Set(['/health/live', '/health/ready', '/metrics']);
  sdk = new Sdk({
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
  sdk.start();
  markTracingEnabled();
  return true;
}

/** Exports what is still buffered; main.ts calls it before the process exits. */
export async function stopTracing(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
}
