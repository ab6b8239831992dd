import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Job, Queue, QueueOptions } from 'bull';
import { AppConfig } from '../config/app-config';
import { JobsService } from '../jobs/jobs.service';
import { JobRecord } from '../jobs/job.types';
import { backoffDelayMs } from './webhook-retry-policy';
import { injectTraceContext, withExtractedContext } from '../tracing/trace-context';

export const WEBHOOKS_QUEUE = 'webhooks';
const DELIVER_JOB = 'deliver';
const BACKOFF_STRATEGY = 'webhook-exponential-jitter';

/** The Bull payload of a delivery: the job id; the body is read from the job record at each attempt. */
export interface WebhookJobData {
  jobId: string;
}

/** What an attempt handler tells the queue: done for good, or try again after a backoff. */
export type AttemptResult = 'settled' | 'retry';

/** Retried deliveries are delayed by backoffDelayMs with the base the enqueuing process configured. */
export const webhooksQueueSettings: QueueOptions['settings'] = {
  backoffStrategies: {
    [BACKOFF_STRATEGY]: (attemptsMade: number, _err: Error, options?: { baseMs?: number }) =>
      backoffDelayMs(attemptsMade, options?.baseMs ?? 1000),
  },
};

class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/** The only code that touches the `webhooks` queue: one delivery per ended job that has a webhook_url. */
@Injectable()
export class WebhooksService implements OnModuleInit {
  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly jobs: JobsService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.onJobEnded((record) => this.enqueue(record));
  }

  /** Queues the delivery; the Bull job id is the job id, so a job is never queued twice. */
  async enqueue(record: JobRecord): Promise<void> {
    if (!record.webhook) return;
    const keep = { age: this.config.jobRetentionSec };
    await this.queue.add(DELIVER_JOB, injectTraceContext({ jobId: record.jobId }), {
      jobId: record.jobId,
      attempts: this.config.webhookMaxAttempts,
      backoff: { type: BACKOFF_STRATEGY, options: { baseMs: this.config.webhookBackoffBaseMs } },
      removeOnComplete: keep,
      removeOnFail: keep,
    });
  }

  /** Worker side: runs `attempt` for each due delivery, at most `concurrency` at once in this process. */
  registerWorker(concurrency: number, attempt: (jobId: string, lastAllowed: boolean) => Promise<AttemptResult>): void {
    void this.queue.process(DELIVER_JOB, concurrency, async (job: Job<WebhookJobData>) => {
      const lastAllowed = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const result = await withExtractedContext(job.data, 'webhook delivery', { jobId: job.data.jobId }, () => attempt(job.data.jobId, lastAllowed));
      if (result === 'retry') throw new RetryLater('delivery will be retried');
    });
  }
}
