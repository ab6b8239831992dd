import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from './utils';

/** One span as an OTLP/HTTP JSON export carries it, with the pid of the process that sent it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  pid: number;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const valueOf = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? '';
const attributes = (list: Array<{ key: string; value: AnyValue }> = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** A local OTLP/HTTP receiver (JSON encoding: OTEL_EXPORTER_OTLP_PROTOCOL=http/json) on 127.0.0.1. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces')
        this.collect(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  ofTrace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Resolves with the trace's spans once `done` holds for them. */
  async waitForTrace(
    traceId: string,
    done: (spans: ReceivedSpan[]) => boolean,
    timeoutMs = 20_000,
  ): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.ofTrace(traceId))) {
      if (Date.now() > deadline) {
        const seen = this.ofTrace(traceId).map((s) => `${s.name}@${s.pid}`);
        throw new Error(
          `trace ${traceId}: condition not met within ${timeoutMs} ms; spans: ${seen.join(', ') || 'none'}`,
        );
      }
      await sleep(50);
    }
    return this.ofTrace(traceId);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private collect(body: {
    resourceSpans?: Array<{ resource?: { attributes?: never[] }; scopeSpans?: Array<{ spans?: never[] }> }>;
  }): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const pid = Number(attributes(resourceSpans.resource?.attributes)['process.pid']);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of (scope.spans ?? []) as Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          attributes?: never[];
        }>) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            attributes: attributes(span.attributes),
            pid,
          });
        }
      }
    }
  }
}
