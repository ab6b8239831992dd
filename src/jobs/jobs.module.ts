import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { JobsController } from './jobs.controller';
import { EXECUTIONS_QUEUE, JobsService } from './jobs.service';

@Module({
  imports: [
    BullModule.registerQueueAsync({
      name: EXECUTIONS_QUEUE,
      inject: [AppConfig],
      // A worker holds a lock on each job it runs and renews it every half period; when a worker
      // dies, another worker's check finds the expired lock and re-queues the job once, then fails it.
      useFactory: (config: AppConfig) => ({
        settings: { lockDuration: config.stalledCheckMs, stalledInterval: config.stalledCheckMs, maxStalledCount: 1 },
      }),
    }),
  ],
  controllers: [JobsController],
  providers: [JobsService],
  exports: [JobsService],
})
export class JobsModule {}
