import { BadRequestException, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../config/app-config';
import { INVALID_PARAMETERS } from '../common/messages';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { JobWaiters } from '../jobs/job-waiters';
import { JobRecord, SubmitInput } from '../jobs/job.types';

/** A run as either dialect asks for it: `timeoutSec` undefined means DEFAULT_TIMEOUT. */
export type ExecutionRequest = Omit<SubmitInput, 'timeoutSec'> & { timeoutSec: number | undefined };

/** What both dialects' execute routes share: the code-size rule, the timeout default and cap, the sync wait. */
@Injectable()
export class ExecutionSubmitter {
  constructor(
    private readonly lifecycle: JobLifecycle,
    private readonly waiters: JobWaiters,
    private readonly config: AppConfig,
  ) {}

  /** Queues the run (or returns the job an earlier request with the same Idempotency-Key created). */
  async submit(request: ExecutionRequest): Promise<JobRecord> {
    if (Buffer.byteLength(request.code, 'utf8') > this.config.maxCodeBytes) {
      throw new BadRequestException({
        message: INVALID_PARAMETERS,
        details: [`code must be at most ${this.config.maxCodeBytes} bytes`],
      });
    }
    const timeoutSec = Math.min(request.timeoutSec ?? this.config.defaultTimeoutSec, this.config.maxTimeoutSec);
    const { record } = await this.lifecycle.submit({ ...request, timeoutSec });
    return record;
  }

  /** The ended record; rejects when the caller's connection closes first (the job itself goes on). */
  async waitForEnd(jobId: string, response: Response): Promise<JobRecord> {
    const callerGone = new AbortController();
    response.on('close', () => callerGone.abort());
    return this.waiters.waitForEnd(jobId, callerGone.signal);
  }
}
