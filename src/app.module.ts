import { BullModule } from '@nestjs/bull';
import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { JsonBodyMiddleware } from './common/json-body.middleware';
import { RequestIdMiddleware } from './common/request-id.middleware';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { EditorErrorFormatter } from './editor/editor-error.formatter';
import { EditorModule } from './editor/editor.module';
import { ExecutionModule } from './execution/execution.module';
import { PythonRunner } from './execution/runner/python-runner';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { RedisConnection } from './redis/redis-connection';
import { RedisModule } from './redis/redis.module';
import { RuntimeModule } from './runtime/runtime.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule implements NestModule {
  /** Config and Redis are resolved before Nest starts (main.ts), then handed in. */
  static forRoot(config: AppConfig, connection: RedisConnection): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule.forRoot(connection),
        BullModule.forRoot({ redis: connection.bullRedisOptions(), prefix: `${config.redisPrefix}:bull` }),
        AuthModule,
        JobsModule,
        ExecutionModule,
        WebhooksModule,
        EditorModule,
        HealthModule.register({ imports: [ExecutionModule], sandboxHealth: { useExisting: PythonRunner } }),
        MetricsModule,
        RuntimeModule,
      ],
      providers: [{ provide: APP_FILTER, inject: [AppConfig], useFactory: (c: AppConfig) => new HttpExceptionFilter(c, [new EditorErrorFormatter()]) }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}
