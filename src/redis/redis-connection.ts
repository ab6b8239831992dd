import { Logger } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import { EmbeddedRedisServer } from './embedded-redis.server';

/** Where the whole process finds Redis: REDIS_URL, or a private redis-server it started. */
export class RedisConnection {
  private readonly logger = new Logger('Redis');
  private readonly clients = new Set<Redis>();

  private constructor(
    private readonly redisOptions: Readonly<RedisOptions>,
    /** REDIS_URL when set; undefined for the embedded server. */
    readonly url: string | undefined,
    private readonly embedded?: EmbeddedRedisServer,
  ) {}

  /** Call before creating the Nest app: REDIS_URL if set, else starts redis-server (throws what to install). */
  static async start(config: Pick<AppConfig, 'redisUrl'>): Promise<RedisConnection> {
    if (config.redisUrl) return RedisConnection.fromUrl(config.redisUrl);
    const server = await EmbeddedRedisServer.start();
    return new RedisConnection({ path: server.socketPath }, undefined, server);
  }

  /** A connection description only: nothing connects until createClient(). */
  static fromUrl(url: string): RedisConnection {
    return new RedisConnection(optionsFromUrl(url), url);
  }

  /** The unix socket of the embedded server; undefined with REDIS_URL. */
  get socketPath(): string | undefined {
    return this.embedded?.socketPath;
  }

  /** ioredis options (host/port/db/credentials/tls, or path); never a keyPrefix. */
  options(): RedisOptions {
    return { ...this.redisOptions };
  }

  /**
   * For `BullModule.forRoot({ redis: connection.bullRedisOptions(), prefix: config.redisPrefix })`.
   * Bull's own client factory already adds `maxRetriesPerRequest: null` to its subscriber and
   * blocking clients; its command client keeps ioredis' bounded retries so a Redis outage fails
   * requests instead of hanging them.
   */
  bullRedisOptions(): RedisOptions {
    return { ...this.redisOptions, enableReadyCheck: false };
  }

  /** A new client, named in CLIENT LIST; stop() disconnects any still open. */
  createClient(name: string, extra: RedisOptions = {}): Redis {
    const client = new Redis({ ...this.redisOptions, connectionName: name, ...extra });
    let lastError = '';
    client.on('error', (error: Error) => {
      // ioredis repeats the same error on every reconnect attempt; say it once.
      if (error.message !== lastError) this.logger.warn(`${name}: ${error.message}`);
      lastError = error.message;
    });
    client.on('ready', () => (lastError = ''));
    client.once('end', () => this.clients.delete(client));
    this.clients.add(client);
    return client;
  }

  /** Disconnects leftover clients and stops the embedded server (removing its folder). */
  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    await this.embedded?.stop();
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
