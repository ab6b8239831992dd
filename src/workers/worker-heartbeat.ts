import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { PythonRunner } from '../execution/runner/python-runner';
import { REDIS_CLIENT } from '../redis/redis.module';
import { HEARTBEAT_INTERVAL_MS, WORKER_TTL_MS, WorkerSeen, workerKeys } from './worker-presence';

/** A worker announces itself in Redis every HEARTBEAT_INTERVAL_MS (TTL WORKER_TTL_MS), and leaves on shutdown. */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('WorkerHeartbeat');
  private readonly keys: ReturnType<typeof workerKeys>;
  /** This worker process's id, in its announcement (and the name of its sessions' stream). */
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;
  private failing = false;

  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly runner: PythonRunner,
  ) {
    this.keys = workerKeys(config.redisPrefix);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Leaves before the drain: API processes stop counting on a worker that takes no new jobs. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis
      .multi()
      .del(this.keys.worker(this.id))
      .srem(this.keys.ids, this.id)
      .exec()
      .catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      const seen: WorkerSeen = {
        id: this.id,
        hostname: hostname(),
        pid: process.pid,
        role: this.config.role === 'all' ? 'all' : 'worker',
        concurrency: this.config.workerConcurrency,
        sandbox_ready: await this.runner.isHealthy().catch(() => false),
        memory_bound: this.runner.memoryBound()?.kind,
        memory_bound_reason: this.runner.memoryBound()?.reason,
        started_at: this.startedAt,
        seen_at: new Date().toISOString(),
      };
      await this.redis
        .multi()
        .set(this.keys.worker(this.id), JSON.stringify(seen), 'PX', WORKER_TTL_MS)
        .sadd(this.keys.ids, this.id)
        // The set goes with the last worker; a reader drops ids whose announcement expired.
        .pexpire(this.keys.ids, 10 * WORKER_TTL_MS)
        .exec();
      if (this.failing) this.logger.log('heartbeat written again');
      this.failing = false;
    } catch (error) {
      // Redis down: the announcement expires and API processes stop counting on this worker until it is back.
      if (!this.failing) this.logger.warn(`heartbeat not written: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
