import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { PythonRunner } from '../execution/runner/python-runner';
import { ExecutionQueue } from '../jobs/execution.queue';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { RunningJobs } from '../jobs/running-jobs';
import { SessionEndings } from '../sessions/session-endings';
import { SessionRepository } from '../sessions/session.repository';
import { SessionsCoreModule } from '../sessions/sessions.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({
  imports: [JobsModule, SessionsCoreModule],
  controllers: [MetricsController],
  providers: [
    {
      provide: MetricsService,
      inject: [JobLifecycle, ExecutionQueue, RunningJobs, PythonRunner, SessionEndings, SessionRepository],
      useFactory: (
        lifecycle: JobLifecycle,
        queue: ExecutionQueue,
        running: RunningJobs,
        runner: PythonRunner,
        endings: SessionEndings,
        repository: SessionRepository,
      ) => new MetricsService(lifecycle, queue, running, runner, { endings, repository }),
    },
  ],
  exports: [MetricsService],
})
export class MetricsModule {}
