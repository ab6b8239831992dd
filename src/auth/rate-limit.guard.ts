import { applyDecorators, Injectable, UseGuards } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ThrottlerGuard, ThrottlerRequest } from '@nestjs/throttler';
import type { Response } from 'express';
import { ApiException, ErrorCode } from '../common/error-code';
import { RATE_LIMITED_EXTENSION } from '../common/openapi-headers';

export class RateLimitedException extends ApiException {
  constructor(limit: number, retryAfterSec: number) {
    super(ErrorCode.RATE_LIMITED, `Rate limit exceeded (${limit} requests per minute)`, { retryAfterSec });
  }
}

/** The IETF draft's quota policy and state (draft-ietf-httpapi-ratelimit-headers-08 and later). */
export function setRateLimitHeaders(
  response: Pick<Response, 'setHeader'>,
  policy: { name: string; limit: number; windowSec: number },
  state: { remaining: number; resetSec: number },
): void {
  response.setHeader('RateLimit-Policy', `"${policy.name}";q=${policy.limit};w=${policy.windowSec}`);
  response.setHeader(
    'RateLimit',
    `"${policy.name}";r=${Math.max(0, state.remaining)};t=${Math.max(0, state.resetSec)}`,
  );
}

/**
 * @nestjs/throttler's guard with the service's headers and 429: RateLimit-Policy / RateLimit on every counted
 * request, the v1 envelope (or the editor's RATE_LIMITED) with Retry-After when over. Limits: RateLimitModule.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = request;
    const { req, res } = this.getRequestResponse(context);
    const name = throttler.name ?? 'default';
    const key = generateKey(context, await getTracker(req, context), name);
    const hits = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    const policy = { name, limit, windowSec: Math.round(ttl / 1000) };
    if (hits.isBlocked) {
      const retryAfterSec = Math.max(1, hits.timeToBlockExpire);
      setRateLimitHeaders(res as Response, policy, { remaining: 0, resetSec: retryAfterSec });
      throw new RateLimitedException(limit, retryAfterSec);
    }
    setRateLimitHeaders(res as Response, policy, { remaining: limit - hits.totalHits, resetSec: hits.timeToExpire });
    return true;
  }
}

/**
 * Counts the route against the caller's RATE_LIMIT_PER_MINUTE (routes that start runs; reads are not counted);
 * its OpenAPI responses then declare the RateLimit headers.
 */
export const RateLimited = (): MethodDecorator & ClassDecorator =>
  applyDecorators(UseGuards(RateLimitGuard), ApiExtension(RATE_LIMITED_EXTENSION, true));
