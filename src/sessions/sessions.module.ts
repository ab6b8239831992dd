import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { ExecutionModule } from '../execution/execution.module';
import { createSessionSandbox, SessionSandbox } from '../execution/runner/runner.factory';
import { JobsModule } from '../jobs/jobs.module';
import { REDIS_CLIENT } from '../redis/redis.module';
import { WorkerHeartbeatModule } from '../workers/workers.module';
import { SessionEndings } from './session-endings';
import { SessionHost } from './session-host';
import { LocalSessionHost } from './session-local';
import { SessionReaper } from './session-reaper';
import { SessionRepository } from './session.repository';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

/** What every role has: the sessions' records, their endings, and the search for lost workers. */
@Module({
  imports: [JobsModule],
  providers: [
    {
      provide: SessionRepository,
      inject: [REDIS_CLIENT, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) => new SessionRepository(redis, config.redisPrefix),
    },
    SessionEndings,
    SessionReaper,
    LocalSessionHost,
  ],
  exports: [SessionRepository, SessionEndings, LocalSessionHost],
})
export class SessionsCoreModule {}

/** The routes (API roles). */
@Module({
  imports: [SessionsCoreModule, JobsModule, ExecutionModule],
  controllers: [SessionsController],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}

/** The interpreters (worker roles). */
@Module({
  imports: [SessionsCoreModule, JobsModule, WorkerHeartbeatModule],
  providers: [
    {
      provide: SessionSandbox,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createSessionSandbox(config),
    },
    SessionHost,
  ],
})
export class SessionsWorkerModule {}
