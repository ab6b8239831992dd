import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { JobsService } from '../jobs/jobs.service';
import { ExecutionService } from './execution.service';
import { withExtractedContext } from '../tracing/trace-context';

/** Thin: in worker roles, hands each queued execution to ExecutionService. */
@Injectable()
export class ExecutionProcessor implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly execution: ExecutionService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') return;
    this.jobs.registerWorker(this.config.workerConcurrency, (data, signal) =>
      withExtractedContext(data, 'execute job', { jobId: data.jobId, queueSpan: 'queue wait' }, () => this.execution.execute(data, signal)),
    );
  }
}
