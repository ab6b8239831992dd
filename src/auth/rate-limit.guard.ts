import { applyDecorators, ExecutionContext, HttpException, HttpStatus, Injectable, UseGuards } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

export class RateLimitedException extends HttpException {
  constructor(limit: number, retryAfterSec: number) {
    super(
      { message: `Rate limit exceeded (${limit} requests per minute)`, retryAfterSec },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * @nestjs/throttler's guard with the service's 429: the v1 envelope (or the editor's RATE_LIMITED) and
 * Retry-After, both set by HttpExceptionFilter from `retryAfterSec`. Limits come from RateLimitModule.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new RateLimitedException(detail.limit, Math.max(1, detail.timeToBlockExpire));
  }
}

/** Counts the route against the caller's RATE_LIMIT_PER_MINUTE (routes that start runs; reads are not counted). */
export const RateLimited = (): MethodDecorator & ClassDecorator => applyDecorators(UseGuards(RateLimitGuard));
