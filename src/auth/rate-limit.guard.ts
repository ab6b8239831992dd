import { applyDecorators, CanActivate, ExecutionContext, HttpException, HttpStatus, Inject, Injectable, UseGuards } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { ServiceRequest } from '../common/service-request';
import { REDIS_CLIENT } from '../redis/redis.module';

const WINDOW_MS = 60_000;

// One counter per key and minute, shared by every API process through Redis.
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

export class RateLimitedException extends HttpException {
  constructor(limit: number, retryAfterSec: number) {
    super({ message: `Rate limit exceeded (${limit} requests per minute)`, retryAfterSec }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * RATE_LIMIT_PER_MINUTE per API key (0 = off), a fixed one-minute window counted in Redis.
 * Runs after the global ApiKeyGuard, so the caller's key id is known.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limit = this.config.rateLimitPerMinute;
    if (limit === 0) return true;
    const { apiKeyId } = context.switchToHttp().getRequest<ServiceRequest>();
    if (!apiKeyId) return true;
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const key = `${this.config.redisPrefix}:rate:${apiKeyId}:${window}`;
    const hits = Number(await this.redis.eval(HIT_SCRIPT, 1, key, String(WINDOW_MS * 2)));
    if (hits <= limit) return true;
    throw new RateLimitedException(limit, Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000)));
  }
}

/** Counts the route against the caller's RATE_LIMIT_PER_MINUTE (routes that start runs). */
export const RateLimited = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(RateLimitGuard));
