import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { QUEUE_RECOVERY_SETTINGS } from '../redis/redis-connection';
import { REDIS_CLIENT } from '../redis/redis.module';
import { EXECUTIONS_QUEUE, ExecutionQueue } from './execution.queue';
import { FairDispatch } from './fair-dispatch';
import { JobEventFollower } from './job-event-follower';
import { JobEventLog } from './job-event-log';
import { JobEventStream } from './job-event-stream';
import { JobEvents } from './job-events';
import { JobLifecycle } from './job-lifecycle';
import { JobListing } from './job-listing';
import { JobWaiters } from './job-waiters';
import { JobWebhooks } from './job-webhooks';
import { JobRepository } from './job.repository';
import { RunningJobs } from './running-jobs';
import { UnqueuedJobReconciler } from './unqueued-job.reconciler';

/** The job core, in every role: the executions queue, job records (the repository stays private here), events. */
@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: EXECUTIONS_QUEUE,
      inject: [AppConfig],
      // A worker holds a lock on each job it runs and renews it every half period; when a worker
      // dies, another worker's check finds the expired lock and re-queues the job once, then fails it.
      useFactory: (config: AppConfig) => ({
        settings: {
          ...QUEUE_RECOVERY_SETTINGS,
          lockDuration: config.stalledCheckMs,
          stalledInterval: config.stalledCheckMs,
          maxStalledCount: 1,
        },
      }),
    }),
  ],
  providers: [
    {
      provide: JobRepository,
      inject: [REDIS_CLIENT, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) =>
        new JobRepository(redis, config.redisPrefix, config.jobRetentionSec),
    },
    {
      provide: FairDispatch,
      inject: [REDIS_CLIENT, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) => new FairDispatch(redis, config.redisPrefix),
    },
    {
      provide: JobEventLog,
      inject: [REDIS_CLIENT, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) =>
        new JobEventLog(redis, config.redisPrefix, config.jobRetentionSec + config.maxTimeoutSec),
    },
    ExecutionQueue,
    JobEventFollower,
    JobEventStream,
    JobEvents,
    JobLifecycle,
    JobListing,
    JobWaiters,
    JobWebhooks,
    RunningJobs,
    UnqueuedJobReconciler,
  ],
  exports: [
    ExecutionQueue,
    JobEventLog,
    JobEventStream,
    JobLifecycle,
    JobListing,
    JobWaiters,
    JobWebhooks,
    RunningJobs,
  ],
})
export class JobsModule {}
