import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { injectTraceContext } from '../tracing/trace-context';
import { FairDispatch } from './fair-dispatch';
import type { ExecutionJobData } from './job.types';

export const EXECUTIONS_QUEUE = 'executions';
export const RUN_JOB = 'run';

/** The only holder of the Bull `executions` queue; everything is read through Bull's public API. */
@Injectable()
export class ExecutionQueue {
  private readonly logger = new Logger('ExecutionQueue');

  constructor(
    @InjectQueue(EXECUTIONS_QUEUE) private readonly queue: Queue<ExecutionJobData>,
    private readonly config: AppConfig,
    private readonly fair: FairDispatch,
  ) {
    // Emitted in the process whose worker took the job (none in an API-only process).
    queue.on('active', (job: Job<ExecutionJobData>) => void this.served(job));
  }

  /** Bull's command connection: a write sent on it just before add() lands first. */
  get connection(): Redis {
    return this.queue.client;
  }

  /**
   * The Bull job id is our job id, so the job can be found (and removed) by it. Its Bull priority is
   * its owner's turn (FairDispatch): keys with waiting jobs take turns.
   */
  async add(data: ExecutionJobData): Promise<void> {
    const turn = await this.fair.takeTurn(data.owner, data.jobId);
    try {
      // A failed Bull job is kept for the retention window: the lifecycle's 'failed' handler ends and removes it.
      await this.queue.add(RUN_JOB, injectTraceContext(data, data.jobId), {
        jobId: data.jobId,
        priority: turn,
        removeOnComplete: true,
        removeOnFail: { age: this.config.jobRetentionSec },
        attempts: 1,
      });
    } catch (err) {
      await this.fair.release(data.owner, data.jobId).catch(() => undefined);
      throw err;
    }
  }

  /** Removes a waiting or failed job; one a worker holds stays (Bull refuses while it is locked). */
  async remove(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    if (!job) return;
    const removed = await job.remove().then(
      () => true,
      () => false,
    );
    // A waiting job's turn is given back, so a key that cancels its backlog does not wait behind it.
    if (removed) await this.fair.release(job.data.owner, jobId);
  }

  /** A worker here took the job: the dispatch clock moves to its turn. */
  private async served(job: Job<ExecutionJobData>): Promise<void> {
    const turn = job.opts.priority;
    if (!turn) return; // queued by a version without turns
    try {
      await this.fair.served(turn);
    } catch (err) {
      this.logger.warn({ job_id: job.id }, `could not advance the dispatch clock: ${(err as Error).message}`);
    }
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
