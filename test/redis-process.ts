import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './service-process';
import { sleep } from './utils';

/** A redis-server (or sentinel) the test owns: its own process on a loopback port, stopped and started at will. */
export class RedisProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  output = '';

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** A redis-server on 127.0.0.1:<free port> with its files in `dir` (append-only unless `extra` says otherwise). */
  static async server(dir: string, extra: string[] = []): Promise<RedisProcess> {
    const port = await freePort();
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--daemonize',
      'no',
      ...extra,
    ];
    const redis = new RedisProcess(port, args);
    await redis.start();
    return redis;
  }

  /** A sentinel watching `primaryPort` as `name` (quorum 1: any one sentinel may decide), config in `dir`. */
  static async sentinel(dir: string, name: string, primaryPort: number): Promise<RedisProcess> {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 2000`,
        '',
      ].join('\n'),
    );
    const redis = new RedisProcess(port, [conf, '--sentinel']);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    while (!(await this.answers())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited at start:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} not answering:\n${this.output}`);
      await sleep(50);
    }
  }

  /** Stops the process with `signal` (SIGKILL: nothing flushed beyond what the append-only file already has). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** A short-lived client for the test's own commands. */
  client(): Redis {
    return new Redis({
      port: this.port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
  }

  private async answers(): Promise<boolean> {
    const client = this.client();
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}
