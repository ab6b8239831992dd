import {
  context,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
} from '@opentelemetry/api';

/**
 * Trace propagation through the queues. Every helper returns at once while tracing is off (no
 * OTLP endpoint: src/tracing.ts never starts the SDK), so an untraced service pays one boolean test.
 */
let enabled = false;

/** Called by src/tracing.ts once the SDK has started. */
export function markTracingEnabled(): void {
  enabled = true;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** What a queued payload carries: the W3C trace context of the request, and when it was queued. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
  queuedAtMs: number;
}

const tracer = () => trace.getTracer('pyexec-service');

/** Submit side: the payload plus the active trace context (unchanged when tracing is off). */
export function injectTraceContext<T extends object>(data: T, jobId?: string): T {
  if (!enabled) return data;
  const carrier: TraceCarrier = { queuedAtMs: Date.now() };
  propagation.inject(context.active(), carrier);
  if (jobId) trace.getActiveSpan()?.setAttribute('pyexec.job_id', jobId);
  return { ...data, trace: carrier };
}

/**
 * Worker side: runs `fn` in a span that continues the trace the payload carries (a new trace if it
 * carries none). With `queueSpan`, a span for the time the payload waited in the queue comes first.
 */
export async function withExtractedContext<R>(
  data: object,
  name: string,
  options: { jobId: string; queueSpan?: string },
  fn: () => Promise<R>,
): Promise<R> {
  if (!enabled) return fn();
  const carrier = (data as { trace?: TraceCarrier }).trace;
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  const attributes: Attributes = { 'pyexec.job_id': options.jobId };
  if (options.queueSpan && carrier?.queuedAtMs) {
    tracer()
      .startSpan(options.queueSpan, { kind: SpanKind.INTERNAL, startTime: carrier.queuedAtMs, attributes }, parent)
      .end();
  }
  return tracer().startActiveSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent, (span) => endAfter(span, fn));
}

/** A child span of the active one around `fn`; `fn` may add attributes (an outcome) to it. */
export async function inSpan<R>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<R>,
): Promise<R> {
  if (!enabled) return fn(undefined);
  return tracer().startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes }, (span) =>
    endAfter(span, () => fn(span)),
  );
}

/** Adds attributes to the active span (e.g. an outcome learnt deep inside a traced step). */
export function annotateActiveSpan(attributes: Attributes): void {
  if (enabled) trace.getActiveSpan()?.setAttributes(attributes);
}

async function endAfter<R>(span: Span, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
