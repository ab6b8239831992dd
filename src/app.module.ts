import { BullModule } from '@nestjs/bull';
import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule, Params as LoggerParams } from 'nestjs-pino';
import { ApiKeyMiddleware } from './auth/api-key.middleware';
import { AuthModule } from './auth/auth.module';
import { RateLimitModule } from './auth/rate-limit.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { JsonBodyMiddleware } from './common/json-body.middleware';
import { RequestIdMiddleware } from './common/request-id.middleware';
import { AppConfig, Role } from './config/app-config';
import { AppConfigModule } from './config/app-config.module';
import { EditorErrorFormatter } from './editor/editor-error.formatter';
import { EditorModule } from './editor/editor.module';
import { ExecutionWorkerModule } from './execution/execution-worker.module';
import { ExecutionModule } from './execution/execution.module';
import { GracefulShutdown } from './graceful-shutdown';
import { TracingShutdown } from './tracing/tracing-shutdown';
import { PythonRunner } from './execution/runner/python-runner';
import { SandboxModule } from './execution/sandbox.module';
import { HealthModule } from './health/health.module';
import { JobsApiModule } from './jobs/jobs-api.module';
import { JobsModule } from './jobs/jobs.module';
import { McpModule } from './mcp/mcp.module';
import { MetricsModule } from './metrics/metrics.module';
import { RedisConnection } from './redis/redis-connection';
import { RedisModule } from './redis/redis.module';
import { WebhooksWorkerModule } from './webhooks/webhooks-worker.module';
import { RuntimeModule } from './runtime/runtime.module';
import { SessionsCoreModule, SessionsModule, SessionsWorkerModule } from './sessions/sessions.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkerDirectory } from './workers/worker-directory';
import { WorkerHeartbeatModule, WorkersModule } from './workers/workers.module';

/** The modules of a role: the only place ROLE decides what this process is made of. */
export function roleModules(role: Role): DynamicModule['imports'] {
  const api = [ExecutionModule, JobsApiModule, EditorModule, RuntimeModule, McpModule, SessionsModule];
  const worker = [ExecutionWorkerModule, WebhooksWorkerModule, WorkerHeartbeatModule, SessionsWorkerModule];
  return [...(role === 'worker' ? [] : api), ...(role === 'api' ? [] : worker)];
}

@Module({})
export class AppModule implements NestModule {
  /** Config, Redis and the logger are made before Nest starts (main.ts, app.setup.ts), then handed in. */
  static forRoot(config: AppConfig, connection: RedisConnection, logging: LoggerParams = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(logging),
        AppConfigModule.forRoot(config),
        RedisModule.forRoot(connection),
        BullModule.forRoot({ ...connection.bullQueueOptions(), prefix: `${config.redisPrefix}:bull` }),
        AuthModule,
        RateLimitModule,
        SandboxModule,
        JobsModule,
        WebhooksModule,
        WorkersModule,
        SessionsCoreModule,
        HealthModule.register({
          sandboxHealth: { useExisting: PythonRunner },
          // An API-only process stays ready with no worker, and its readiness body lists the workers it sees.
          ...(config.role === 'api' ? { workersSeen: { useExisting: WorkerDirectory } } : {}),
        }),
        MetricsModule,
        ...(roleModules(config.role) ?? []),
      ],
      providers: [
        GracefulShutdown,
        TracingShutdown,
        {
          provide: APP_FILTER,
          inject: [AppConfig],
          useFactory: (c: AppConfig) => new HttpExceptionFilter(c, [new EditorErrorFormatter()]),
        },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // The key is identified before the body is parsed: an unauthenticated request gets 401 whatever its body.
    consumer.apply(RequestIdMiddleware, ApiKeyMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}
