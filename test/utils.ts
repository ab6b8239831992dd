import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { createApp } from '../src/app.setup';
import { AppConfig, loadConfig } from '../src/config/app-config';
import { RedisConnection } from '../src/redis/redis-connection';

export const KEY = 'test-key-one';
export const OTHER_KEY = 'test-key-two';
/** The machine's shared Redis; every test app writes only under its own prefix and deletes it. */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  prefix: string;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * TEST_TIME_SCALE (default 1): multiplies the bounds that are only about time (how soon an answer
 * comes), never what a run may do. Set where everything is slow, e.g. scripts/test-hostile-cgroup2.sh
 * in an emulated VM.
 */
export const TIME_SCALE = Math.max(1, Number(process.env.TEST_TIME_SCALE) || 1);

/** A time bound in ms, times TEST_TIME_SCALE. */
export function scaledMs(ms: number): number {
  return ms * TIME_SCALE;
}

/** A run's `timeout` (s) where it is only about time, times TEST_TIME_SCALE, at most the API's 300. */
export function scaledTimeoutSec(seconds: number): number {
  return Math.min(300, seconds * TIME_SCALE);
}

export function uniquePrefix(): string {
  return `pyexec-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const prefix = env.REDIS_PREFIX ?? uniquePrefix();
  const config = loadConfig({
    REDIS_URL: SHARED_REDIS_URL,
    API_KEYS: `${KEY},${OTHER_KEY}`,
    SANDBOX_SERVERS: '2',
    LOG_LEVEL: 'error',
    PATH: process.env.PATH,
    SANDBOX_START_TIMEOUT_MS: String(scaledMs(10_000)), // the service's default, times TEST_TIME_SCALE
    ...env,
    REDIS_PREFIX: prefix,
  });
  const connection = await RedisConnection.start(config);
  const app = await createApp(config, connection);
  await app.init();
  return {
    app,
    config,
    prefix,
    http: request(app.getHttpServer()),
    async close() {
      await app.close();
      await deleteKeys(prefix);
      await connection.stop();
    },
  };
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(SHARED_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Pids on the host whose command line contains `marker` (looks in the host's /proc). */
export function hostPidsWith(marker: string): number[] {
  const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first truthy answer of `probe` (polled every 50 ms); fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
