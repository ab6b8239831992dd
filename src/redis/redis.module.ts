import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisConnection } from './redis-connection';

/** Injection token of a shared general-purpose client (health, metrics); not for blocking or pub/sub use. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Makes the process's RedisConnection (started by main.ts before Nest) and a shared client injectable. */
@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis) {}

  static forRoot(connection: RedisConnection): DynamicModule {
    return {
      module: RedisModule,
      global: true,
      providers: [
        { provide: RedisConnection, useValue: connection },
        { provide: REDIS_CLIENT, useFactory: () => connection.createClient('shared') },
      ],
      exports: [RedisConnection, REDIS_CLIENT],
    };
  }

  // The connection itself belongs to main.ts, which stops it after app.close().
  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}
