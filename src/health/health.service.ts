import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';
import type { HealthIndicatorDto, ReadinessDto } from './dto/health-report.dto';
import { SANDBOX_HEALTH, SandboxHealth } from './sandbox-health';

export const checkTimeoutMs = 2000;

/** Readiness: Redis answers PING and the sandbox can run code, each within checkTimeoutMs. */
@Injectable()
export class HealthService {
  private readonly logger = new Logger('Health');

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Pick<Redis, 'ping'>,
    @Inject(SANDBOX_HEALTH) private readonly sandbox: SandboxHealth,
  ) {}

  async readiness(): Promise<ReadinessDto> {
    const [redis, sandbox] = await Promise.all([
      this.check('redis', async () => (await this.redis.ping()) === 'PONG'),
      this.check('sandbox', () => this.sandbox.isHealthy()),
    ]);
    const details = { redis, sandbox };
    const info: Record<string, HealthIndicatorDto> = {};
    const error: Record<string, HealthIndicatorDto> = {};
    for (const [name, indicator] of Object.entries(details)) {
      (indicator.status === 'up' ? info : error)[name] = indicator;
    }
    return { status: Object.keys(error).length ? 'error' : 'ok', info, error, details };
  }

  private async check(name: string, probe: () => Promise<boolean>): Promise<HealthIndicatorDto> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), checkTimeoutMs)));
    try {
      const outcome = await Promise.race([probe(), timedOut]);
      if (outcome === true) return { status: 'up' };
      if (outcome === 'timeout') return { status: 'down', message: `no answer within ${checkTimeoutMs} ms` };
      return { status: 'down' };
    } catch (error) {
      // The endpoint is public: the cause goes to the log, not to the caller.
      this.logger.warn(`${name} check failed: ${(error as Error).message}`);
      return { status: 'down', message: 'check failed' };
    } finally {
      clearTimeout(timer);
    }
  }
}
