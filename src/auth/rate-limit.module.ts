import { Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ThrottlerModule } from '@nestjs/throttler';
import type Redis from 'ioredis';
import type { ServiceRequest } from '../common/service-request';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';

const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');
const windowMs = 60_000;

/** The hit counters in Redis under REDIS_PREFIX, shared by every API process. */
@Injectable()
export class RateLimitStorage extends ThrottlerStorageRedisService implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMIT_REDIS) private readonly client: Redis) {
    super(client);
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}

/** A client of its own: it carries the key prefix the storage does not know about. */
@Module({
  providers: [
    {
      provide: RATE_LIMIT_REDIS,
      inject: [RedisConnection, AppConfig],
      useFactory: (connection: RedisConnection, config: AppConfig) =>
        connection.createClient('rate-limit', { keyPrefix: `${config.redisPrefix}:rate:` }),
    },
    RateLimitStorage,
  ],
  exports: [RateLimitStorage],
})
class RateLimitStorageModule {}

/**
 * RATE_LIMIT_PER_MINUTE runs per API key (0 = off) through @nestjs/throttler: the tracker is the key id
 * ApiKeyMiddleware recorded; a key over the limit is refused until its block (one minute) expires.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [AppConfig, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => ({
        throttlers: [{ name: 'execute', ttl: windowMs, limit: config.rateLimitPerMinute }],
        skipIf: () => config.rateLimitPerMinute === 0,
        getTracker: (request: Partial<ServiceRequest>) => request.apiKeyId ?? 'anonymous',
        generateKey: (_context, tracker) => tracker,
        storage,
      }),
    }),
  ],
})
export class RateLimitModule {}
