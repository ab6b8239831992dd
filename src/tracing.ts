/**
 * main.ts imports this module first, so the OpenTelemetry instrumentations (when an OTLP endpoint is
 * configured) patch http, express and ioredis before anything requires them.
 */
import { startTracing, stopTracing } from './tracing/tracing-sdk';

startTracing();

export { stopTracing };
