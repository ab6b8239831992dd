import { OnQueueFailed, OnQueueStalled, Process, Processor } from '@nestjs/bull';
import { Logger } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { processWithConcurrency } from '../common/process-concurrency';
import { EXECUTIONS_QUEUE, RUN_JOB } from '../jobs/execution.queue';
import { JobLifecycle } from '../jobs/job-lifecycle';
import type { ExecutionJobData } from '../jobs/job.types';
import { RunningJobs } from '../jobs/running-jobs';
import { ExecutionService } from './execution.service';
import { withExtractedContext } from '../tracing/trace-context';

/**
 * Consumer of `executions` (worker roles): each job goes to ExecutionService, at most
 * WORKER_CONCURRENCY at once here. Bull's stalled-job check (every STALLED_CHECK_MS, in every worker)
 * puts a job whose worker died back in the queue once; the next time Bull fails it, and it ends here.
 */
@Processor(EXECUTIONS_QUEUE)
export class ExecutionProcessor {
  private readonly logger = new Logger('ExecutionProcessor');

  constructor(
    private readonly execution: ExecutionService,
    private readonly lifecycle: JobLifecycle,
    private readonly running: RunningJobs,
    config: AppConfig,
  ) {
    processWithConcurrency(this, 'run', RUN_JOB, config.workerConcurrency);
  }

  @Process(RUN_JOB)
  async run(job: Job<ExecutionJobData>): Promise<void> {
    // processedOn: when Bull handed the job to this worker (the run's start, its queue time's end).
    const startedAtMs = job.processedOn ?? Date.now();
    const { data } = job;
    await withExtractedContext(data, 'execute job', { jobId: data.jobId, queueSpan: 'queue wait' }, () =>
      this.running.run(data.jobId, (signal) => this.execution.execute(data, startedAtMs, signal)),
    );
  }

  @OnQueueStalled()
  onStalled(job: Job<ExecutionJobData>): void {
    this.logger.warn({ job_id: job.id }, 'its worker stopped mid-run; queued to run once more');
  }

  /** Our handler records every ending itself, so a job Bull fails was lost (or the handler broke): end it. */
  @OnQueueFailed()
  async onFailed(job: Job<ExecutionJobData> | null): Promise<void> {
    if (!job) return;
    try {
      await this.lifecycle.endLost(String(job.id), `Bull failed it (${job.failedReason ?? 'no reason given'})`);
    } catch (err) {
      this.logger.error({ job_id: job.id }, `could not record the lost job: ${(err as Error).message}`);
    }
  }
}
