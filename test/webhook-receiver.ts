import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from './utils';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAtMs: number;
}

/** How the receiver answers one request: a status (with optional headers), or never. */
export type Reply = number | { status: number; headers: Record<string, string> } | 'hang';

/**
 * A real local HTTP server standing in for a webhook receiver. Each path answers with its script
 * of replies in order (the last one repeats); unscripted paths answer 200.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripts = new Map<string, Reply[]>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAtMs: Date.now(),
      });
      this.answer(path, res);
    });
  });
  port = 0;

  /** Listens on :: (dual stack), so 127.0.0.1, ::1 and localhost all reach it. */
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  script(path: string, replies: Reply[]): string {
    this.scripts.set(path, [...replies]);
    return path;
  }

  at(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async waitFor(path: string, count: number, timeoutMs = 20_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.at(path).length < count) {
      if (Date.now() > deadline)
        throw new Error(`${path}: ${this.at(path).length} of ${count} requests within ${timeoutMs} ms`);
      await sleep(20);
    }
    return this.at(path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(path: string, res: ServerResponse): void {
    const script = this.scripts.get(path);
    const reply: Reply = script ? (script.length > 1 ? script.shift()! : script[0]) : 200;
    if (reply === 'hang') return;
    const { status, headers } = typeof reply === 'number' ? { status: reply, headers: {} } : reply;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end('ok');
  }
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
