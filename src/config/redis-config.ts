/** Where Redis is and how long a command may wait for it; part of AppConfig. */
export interface RedisConfig {
  /** Unset (and no sentinels): the service starts a private redis-server in `dataDir`. */
  readonly redisUrl?: string;
  /** Bull queue prefix and prefix of every other key the service writes. */
  readonly redisPrefix: string;
  /**
   * Sentinel addresses; when set, the primary is asked for by `redisSentinelName`
   * (REDIS_URL only adds credentials, db, tls).
   */
  readonly redisSentinels?: ReadonlyArray<{ host: string; port: number }>;
  readonly redisSentinelName: string;
  /** A command that a connected but silent Redis does not answer within this fails (503 for a request). */
  readonly redisCommandTimeoutMs: number;
  /** Absolute folder of the embedded redis-server's append-only file and socket. */
  readonly dataDir: string;
}
