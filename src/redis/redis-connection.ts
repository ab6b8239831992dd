import { Logger } from '@nestjs/common';
import type { QueueOptions } from 'bull';
import Redis, { RedisOptions } from 'ioredis';
import { EventEmitter } from 'node:events';
import type { AppConfig } from '../config/app-config';
import { EmbeddedRedisServer } from './embedded-redis.server';

export type ConnectionSettings = Pick<
  AppConfig,
  'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisCommandTimeoutMs' | 'dataDir'
>;

/**
 * Reconnect quickly (100 ms, doubling, at most 500 ms apart): a returning Redis is found within half a
 * second, and with maxRetriesPerRequest 1 a command waiting for a dead Redis fails within about a second.
 */
const reconnectDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, 500);

/**
 * Settings every Bull queue here takes. After a command fails (Redis went away mid-fetch), Bull's
 * worker loop sleeps retryProcessDelay before fetching again: its default, 5 s, left jobs accepted
 * just after Redis came back waiting that long for a worker. Half a second matches the reconnect delay.
 */
export const QUEUE_RECOVERY_SETTINGS = { retryProcessDelay: 500 } as const;

/**
 * Where the whole process finds Redis (REDIS_URL, Sentinel, or a private redis-server it started),
 * and how long a command may wait for it: ioredis' offline queue is bounded, so an outage fails
 * commands within about REDIS_COMMAND_TIMEOUT_MS instead of holding them (and their HTTP requests).
 */
export class RedisConnection {
  private readonly logger = new Logger('Redis');
  private readonly clients = new Set<Redis>();
  private readonly down = new Set<Redis>();
  private readonly availability = new EventEmitter();

  private constructor(
    private readonly redisOptions: Readonly<RedisOptions>,
    /** REDIS_URL when set; undefined for the embedded server and for Sentinel. */
    readonly url: string | undefined,
    private readonly commandTimeoutMs: number,
    private readonly embedded?: EmbeddedRedisServer,
  ) {
    this.availability.setMaxListeners(0);
  }

  /** Before the Nest app: Sentinel, REDIS_URL, or redis-server started in DATA_DIR (throws a one-line reason). */
  static async start(config: ConnectionSettings): Promise<RedisConnection> {
    const timeoutMs = config.redisCommandTimeoutMs;
    if (config.redisSentinels?.length) {
      const node = config.redisUrl ? optionsFromUrl(config.redisUrl) : {};
      const { host: _host, port: _port, ...credentials } = node;
      const options: RedisOptions = {
        ...credentials,
        sentinels: config.redisSentinels.map((s) => ({ ...s })),
        name: config.redisSentinelName,
        sentinelRetryStrategy: reconnectDelayMs,
      };
      return new RedisConnection(options, undefined, timeoutMs);
    }
    if (config.redisUrl) return RedisConnection.fromUrl(config.redisUrl, timeoutMs);
    const server = await EmbeddedRedisServer.start(config.dataDir);
    return new RedisConnection({ path: server.socketPath }, undefined, timeoutMs, server);
  }

  /** A connection description only: nothing connects until createClient(). */
  static fromUrl(url: string, commandTimeoutMs = 1000): RedisConnection {
    return new RedisConnection(optionsFromUrl(url), url, commandTimeoutMs);
  }

  /** The unix socket of the embedded server; undefined otherwise. */
  get socketPath(): string | undefined {
    return this.embedded?.socketPath;
  }

  /** Where to connect: host/port/db/credentials/tls, a socket path, or sentinels + name; never a keyPrefix. */
  options(): RedisOptions {
    return { ...this.redisOptions };
  }

  /**
   * For `BullModule.forRoot({ ...connection.bullQueueOptions(), prefix })`. Bull's blocking client and
   * subscriber wait for Redis as long as it takes (Bull requires maxRetriesPerRequest null and no ready
   * check there); its command client fails commands within the bound, like ours.
   */
  bullQueueOptions(): Pick<QueueOptions, 'createClient'> {
    return {
      createClient: (type) =>
        type === 'client' ? this.createClient('bull') : this.createWaitingClient(`bull-${type}`),
    };
  }

  /** A client for commands: named in CLIENT LIST, bounded waits; stop() disconnects any still open. */
  createClient(name: string, extra: RedisOptions = {}): Redis {
    return this.track(name, {
      ...this.commonOptions(name),
      // A command waits through at most one reconnect attempt, and never longer than the timeout.
      maxRetriesPerRequest: 1,
      commandTimeout: this.commandTimeoutMs,
      ...extra,
    });
  }

  /** A client for blocking commands or subscriptions: waits through outages, resubscribes after them. */
  createWaitingClient(name: string): Redis {
    return this.track(name, { ...this.commonOptions(name), maxRetriesPerRequest: null, enableReadyCheck: false });
  }

  /** False from the moment any client loses its connection until every one is back. */
  isAvailable(): boolean {
    return this.down.size === 0;
  }

  /** Calls `listener(available)` on every change; returns the unsubscribe function. */
  onAvailabilityChange(listener: (available: boolean) => void): () => void {
    this.availability.on('change', listener);
    return () => this.availability.off('change', listener);
  }

  /** Disconnects leftover clients and stops the embedded server (its data stays in DATA_DIR). */
  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    this.down.clear();
    await this.embedded?.stop();
  }

  private commonOptions(name: string): RedisOptions {
    return {
      ...this.redisOptions,
      connectionName: name,
      connectTimeout: Math.min(this.commandTimeoutMs, 5000),
      retryStrategy: reconnectDelayMs,
      // After a failover the old primary answers writes with READONLY: reconnect (to the new one) and resend.
      reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    };
  }

  private track(name: string, options: RedisOptions): Redis {
    const client = new Redis(options);
    let lastError = '';
    client.on('error', (error: Error) => {
      // ioredis repeats the same error on every reconnect attempt; say it once.
      if (error.message !== lastError) this.logger.warn(`${name}: ${error.message}`);
      lastError = error.message;
    });
    client.on('ready', () => {
      lastError = '';
      this.mark(client, true);
    });
    // 'reconnecting', not 'close': a client closed on purpose (disconnect, quit) is not an outage.
    client.on('reconnecting', () => this.mark(client, false));
    client.once('end', () => {
      this.clients.delete(client);
      this.mark(client, true);
    });
    this.clients.add(client);
    return client;
  }

  private mark(client: Redis, up: boolean): void {
    const before = this.isAvailable();
    if (up) this.down.delete(client);
    else if (this.clients.has(client)) this.down.add(client);
    const after = this.isAvailable();
    if (before !== after) {
      if (!after) this.logger.warn('Redis connection lost: requests that need Redis answer 503 until it is back');
      else this.logger.log('Redis connection restored');
      this.availability.emit('change', after);
    }
  }
}

function optionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}
