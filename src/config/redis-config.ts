import { resolve } from 'node:path';

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

type Read = (name: string) => string | undefined;
type Int = (name: string, fallback: number, min: number, max: number) => number;
type Fail = (message: string) => Error;

/** Parses the Redis variables; `fail` builds the error (a ConfigError) for the first bad one. */
export function readRedisConfig(read: Read, int: Int, fail: Fail): RedisConfig {
  const redisSentinels = parseSentinels(read('REDIS_SENTINELS'), fail);
  const redisSentinelName = read('REDIS_SENTINEL_NAME') ?? 'mymaster';
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(redisSentinelName)) {
    throw fail(
      `Invalid REDIS_SENTINEL_NAME: ${JSON.stringify(redisSentinelName)} (expected 1..128 characters of A-Z a-z 0-9 . _ -)`,
    );
  }
  return {
    redisUrl: parseRedisUrl(read('REDIS_URL'), fail),
    redisPrefix: parseRedisPrefix(read('REDIS_PREFIX'), fail),
    redisSentinels,
    redisSentinelName,
    // Generous: a slow but alive Redis (load, a CLIENT PAUSE during a switchover) must not fail a running job's writes.
    redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 5000, 50, 60_000),
    dataDir: resolve(read('DATA_DIR') ?? 'data'),
  };
}

function parseRedisUrl(raw: string | undefined, fail: Fail): string | undefined {
  if (raw === undefined) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const valid = (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && /^\/?\d*$/.test(url.pathname);
  if (!valid) {
    // The value is not echoed: it may carry a password.
    throw fail('Invalid REDIS_URL (expected redis://[user:password@]host[:port][/db] or rediss://...)');
  }
  return raw;
}

function parseRedisPrefix(raw: string | undefined, fail: Fail): string {
  if (raw === undefined) return 'pyexec';
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(raw)) {
    throw fail(`Invalid REDIS_PREFIX: ${JSON.stringify(raw)} (expected 1..64 characters of A-Z a-z 0-9 . _ : -)`);
  }
  return raw;
}

function parseSentinels(
  raw: string | undefined,
  fail: Fail,
): ReadonlyArray<{ host: string; port: number }> | undefined {
  if (raw === undefined) return undefined;
  const sentinels = raw.split(',').map((entry) => {
    const match = /^\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\s*$/.exec(entry);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      throw fail(`Invalid REDIS_SENTINELS: ${JSON.stringify(entry.trim())} (expected host:port[,host:port...])`);
    }
    return Object.freeze({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  });
  return Object.freeze(sentinels);
}
