import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { injectTraceContext } from '../tracing/trace-context';
import type { ExecutionJobData } from './job.types';

export const EXECUTIONS_QUEUE = 'executions';
export const RUN_JOB = 'run';

/** The only holder of the Bull `executions` queue; everything is read through Bull's public API. */
@Injectable()
export class ExecutionQueue {
  constructor(
    @InjectQueue(EXECUTIONS_QUEUE) private readonly queue: Queue<ExecutionJobData>,
    private readonly config: AppConfig,
  ) {}

  /** Bull's command connection: a write sent on it just before add() lands first. */
  get connection(): Redis {
    return this.queue.client;
  }

  /** The Bull job id is our job id, so the job can be found (and removed) by it. */
  async add(data: ExecutionJobData): Promise<void> {
    // A failed Bull job is kept for the retention window: the lifecycle's 'failed' handler ends and removes it.
    await this.queue.add(RUN_JOB, injectTraceContext(data, data.jobId), {
      jobId: data.jobId,
      removeOnComplete: true,
      removeOnFail: { age: this.config.jobRetentionSec },
      attempts: 1,
    });
  }

  /** Removes a waiting or failed job; one a worker holds stays (Bull refuses while it is locked). */
  async remove(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    await job?.remove().catch(() => undefined);
  }

  /** Whether Bull holds the job (waiting, running, or failed and kept). */
  async has(jobId: string): Promise<boolean> {
    return (await this.queue.getJob(jobId)) !== null;
  }

  /** Jobs waiting to be taken, in the whole cluster: the envelopes' queue_length and the 429 check. */
  waitingCount(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Jobs taken by a worker and not yet ended, in the whole cluster. */
  activeCount(): Promise<number> {
    return this.queue.getActiveCount();
  }

  /** SIGTERM: take no new jobs here; resolves when this process's running jobs have ended. */
  async stopTakingJobs(): Promise<void> {
    await this.queue.pause(true, false);
  }
}
