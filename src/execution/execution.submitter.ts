import { BadRequestException, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../config/app-config';
import { INVALID_PARAMETERS } from '../common/messages';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { JobWaiters } from '../jobs/job-waiters';
import { JobRecord, SubmitInput } from '../jobs/job.types';
import { RedisConnection } from '../redis/redis-connection';
import { ServiceUnavailableError } from '../redis/redis-unavailable';
import { SYNC_WAIT_GRACE_MS, waitBounded } from './sync-wait';

/** The OpenAPI description of a 503 on the execute routes of both dialects. */
export const SERVICE_UNAVAILABLE_DOC =
  'Redis is unreachable (Retry-After: 1). Nothing was queued when job_id is null; with job_id set, the job was accepted ' +
  'but Redis failed while a sync caller waited and the outcome was not known by timeout + 3 s: poll GET /v1/jobs/{job_id}';

/** A run as either dialect asks for it: `timeoutSec` undefined means DEFAULT_TIMEOUT. */
export type ExecutionRequest = Omit<SubmitInput, 'timeoutSec'> & { timeoutSec: number | undefined };

/** What both dialects' execute routes share: the code-size rule, the timeout default and cap, the sync wait. */
@Injectable()
export class ExecutionSubmitter {
  constructor(
    private readonly lifecycle: JobLifecycle,
    private readonly waiters: JobWaiters,
    private readonly config: AppConfig,
    private readonly connection: RedisConnection,
  ) {}

  /** Queues the run (or returns the job an earlier request with the same Idempotency-Key created). */
  async submit(request: ExecutionRequest): Promise<JobRecord> {
    if (Buffer.byteLength(request.code, 'utf8') > this.config.maxCodeBytes) {
      throw new BadRequestException({
        message: INVALID_PARAMETERS,
        details: [`code must be at most ${this.config.maxCodeBytes} bytes`],
      });
    }
    const { record } = await this.lifecycle.submit({
      ...request,
      timeoutSec: this.effectiveTimeoutSec(request.timeoutSec),
    });
    return record;
  }

  /**
   * The ended record; rejects when the caller's connection closes first (the job itself goes on).
   * If Redis is unreachable during the wait, answers by timeout + SYNC_WAIT_GRACE_MS at the latest:
   * a 503 carrying the job_id to poll when the outcome is not known by then.
   */
  async waitForEnd(jobId: string, requestedTimeoutSec: number | undefined, response: Response): Promise<JobRecord> {
    const callerGone = new AbortController();
    response.on('close', () => callerGone.abort());
    const ended = await waitBounded({
      wait: (signal) => this.waiters.waitForEnd(jobId, signal),
      connection: this.connection,
      deadlineMs: Date.now() + this.effectiveTimeoutSec(requestedTimeoutSec) * 1000 + SYNC_WAIT_GRACE_MS,
      callerGone: callerGone.signal,
    });
    if (ended !== 'unknown') return ended;
    throw new ServiceUnavailableError(
      `Redis was unavailable while this job ran and its outcome is not known yet; poll GET /v1/jobs/${jobId}`,
      jobId,
    );
  }

  private effectiveTimeoutSec(requested: number | undefined): number {
    return Math.min(requested ?? this.config.defaultTimeoutSec, this.config.maxTimeoutSec);
  }
}
