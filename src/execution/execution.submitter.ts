import { BadRequestException, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../config/app-config';
import { INVALID_PARAMETERS } from '../common/messages';
import { JobLifecycle, JobRoute, Submission } from '../jobs/job-lifecycle';
import { JobWaiters } from '../jobs/job-waiters';
import type { JobRecord, SubmitInput } from '../jobs/job.types';
import { RedisConnection } from '../redis/redis-connection';
import { ServiceUnavailableError } from '../redis/redis-unavailable';
import { NoWorkerError } from '../workers/no-worker.error';
import { WorkerDirectory } from '../workers/worker-directory';
import { SYNC_WAIT_GRACE_MS, waitBounded } from './sync-wait';

/** The OpenAPI description of a 503 on the execute routes of both dialects. */
export const SERVICE_UNAVAILABLE_DOC =
  'Redis is unreachable (Retry-After: 1), or a synchronous call found no live worker (Retry-After: 5; an async call ' +
  'is accepted and waits in the queue). Nothing was queued when job_id is null; with job_id set, the job was accepted ' +
  'but Redis failed while a sync caller waited and the outcome was not known by timeout + 3 s: poll GET /v1/jobs/{job_id}';

const callerGoneReason = new Error('the caller went away');

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
    private readonly workers: WorkerDirectory,
  ) {}

  /**
   * Queues the run (or returns the job an earlier request with the same Idempotency-Key created).
   * `sync`: the caller will waitForEnd(), which then needs no read to start waiting.
   */
  async submit(request: ExecutionRequest, options: { sync: boolean; route?: JobRoute }): Promise<Submission> {
    if (Buffer.byteLength(request.code, 'utf8') > this.config.maxCodeBytes) {
      throw new BadRequestException({
        message: INVALID_PARAMETERS,
        details: [`code must be at most ${this.config.maxCodeBytes} bytes`],
      });
    }
    // A sync caller would wait for its timeout with nobody to run the job: refused before any job is made.
    if (options.sync && !(await this.workers.anyReady())) {
      throw new NoWorkerError(request.clientId);
    }
    return this.lifecycle.submit(
      { ...request, timeoutSec: this.effectiveTimeoutSec(request.timeoutSec) },
      { watchEnd: options.sync, route: options.route },
    );
  }

  /**
   * The ended record; rejects when the caller's connection closes first (the job itself goes on).
   * If Redis is unreachable during the wait, answers by timeout + SYNC_WAIT_GRACE_MS at the latest:
   * a 503 carrying the job_id to poll when the outcome is not known by then.
   */
  async waitForEnd(
    submission: Submission,
    requestedTimeoutSec: number | undefined,
    response: Response,
  ): Promise<JobRecord> {
    const jobId = submission.record.jobId;
    const callerGone = new AbortController();
    const onClose = () => callerGone.abort(callerGoneReason);
    response.once('close', onClose);
    // The first attempt uses the watch submit() registered; a later one (after an outage) reads the record.
    let registered = submission.endWatch;
    let ended: JobRecord | 'unknown';
    try {
      ended = await waitBounded({
        wait: (signal) => {
          const watch = registered;
          registered = undefined;
          return this.waiters.waitForEnd(jobId, signal, watch);
        },
        connection: this.connection,
        // Counted from the job's creation, so time the submission spent on a failing Redis is inside the bound.
        deadlineMs: waitStartMs(submission) + this.effectiveTimeoutSec(requestedTimeoutSec) * 1000 + SYNC_WAIT_GRACE_MS,
        callerGone: callerGone.signal,
      });
    } finally {
      response.off('close', onClose);
      registered?.dispose();
    }
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

/** When the caller's bound starts: this request's job creation, or now for a replayed (older) job. */
function waitStartMs(submission: Submission): number {
  return submission.replayed ? Date.now() : Math.min(submission.record.createdAtMs, Date.now());
}
