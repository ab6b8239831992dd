import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisConnection } from './redis-connection';

/** Injection token of a shared general-purpose client (health, metrics); not for blocking or pub/sub use. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Makes the process's RedisConnection (started by main.ts before Nest) and a shared client injectable. */
@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly client: Redis,
    private readonly connection: RedisConnection,
  ) {}

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

  // A global module, so its hook runs after the other modules'. On a signal the process exits right after
  // Nest's hooks, so the connection (and an embedded server) is stopped here; otherwise its owner stops it.
  async onApplicationShutdown(signal?: string): Promise<void> {
    this.client.disconnect();
    if (signal) await this.connection.stop();
  }
}
