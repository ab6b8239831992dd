import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.module';
import { WorkerSeen, workerKeys } from './worker-presence';

/** A worker seen this recently is trusted without asking Redis again (one sync submit costs no extra round trip). */
const POSITIVE_CACHE_MS = 1000;

/** The workers that announced themselves in Redis and have not expired: what API processes know of workers. */
@Injectable()
export class WorkerDirectory {
  private readonly keys: ReturnType<typeof workerKeys>;
  private liveUntilMs = 0;

  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {
    this.keys = workerKeys(config.redisPrefix);
  }

  /** Every announced worker, oldest first; ids whose announcement expired are dropped from the set. */
  async list(): Promise<WorkerSeen[]> {
    const ids = await this.redis.smembers(this.keys.ids);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map(this.keys.worker));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) void this.redis.srem(this.keys.ids, ...gone).catch(() => undefined);
    return values
      .filter((value): value is string => value !== null)
      .map((value) => JSON.parse(value) as WorkerSeen)
      .sort((a, b) => a.started_at.localeCompare(b.started_at));
  }

  /** A worker that can run code is announced (always true where this process is a worker itself). */
  async anyReady(): Promise<boolean> {
    if (this.config.role === 'all' || Date.now() < this.liveUntilMs) return true;
    const ready = (await this.list()).some((worker) => worker.sandbox_ready);
    if (ready) this.liveUntilMs = Date.now() + POSITIVE_CACHE_MS;
    return ready;
  }
}
