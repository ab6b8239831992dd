import { Inject, Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import { SANDBOX_HEALTH, SandboxHealth, WORKERS_SEEN, WorkersSeen } from './sandbox-health';

export const checkTimeoutMs = 2000;
const logger = new Logger('Health');

/** Runs `probe` under checkTimeoutMs; a throw is logged, and reported down without its cause (a public endpoint). */
async function timedCheck<Key extends string>(
  indicators: HealthIndicatorService,
  key: Key,
  probe: () => Promise<boolean>,
): Promise<HealthIndicatorResult<Key>> {
  const indicator = indicators.check(key);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), checkTimeoutMs)));
  try {
    const outcome = await Promise.race([probe(), timedOut]);
    if (outcome === true) return indicator.up();
    if (outcome === 'timeout') return indicator.down({ message: `no answer within ${checkTimeoutMs} ms` });
    return indicator.down();
  } catch (error) {
    logger.warn(`${key} check failed: ${(error as Error).message}`);
    return indicator.down({ message: 'check failed' });
  } finally {
    clearTimeout(timer);
  }
}

/** Redis answers PING. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: Pick<Redis, 'ping'>,
  ) {}

  check(): Promise<HealthIndicatorResult<'redis'>> {
    return timedCheck(this.indicators, 'redis', async () => (await this.redis.ping()) === 'PONG');
  }
}

/** The sandbox can take runs: asks the runner, which answers from its servers' state, not by queueing a probe. */
@Injectable()
export class SandboxHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(SANDBOX_HEALTH) private readonly sandbox: SandboxHealth,
  ) {}

  check(): Promise<HealthIndicatorResult<'sandbox'>> {
    return timedCheck(this.indicators, 'sandbox', () => this.sandbox.isHealthy());
  }
}

/**
 * The workers seen in Redis: always up (an API process stays ready with no worker: async calls queue,
 * sync calls get 503), listing them; down only when they cannot be read.
 */
@Injectable()
export class WorkersHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(WORKERS_SEEN) private readonly workers: WorkersSeen,
  ) {}

  async check(): Promise<HealthIndicatorResult<'workers'>> {
    const indicator = this.indicators.check('workers');
    try {
      const workers = await this.workers.list();
      return indicator.up({ count: workers.length, workers });
    } catch (error) {
      logger.warn(`workers check failed: ${(error as Error).message}`);
      return indicator.down({ message: 'check failed' });
    }
  }
}
