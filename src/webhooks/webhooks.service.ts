import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Queue, QueueOptions } from 'bull';
import { AppConfig } from '../config/app-config';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { JobWebhooks } from '../jobs/job-webhooks';
import { JobRecord } from '../jobs/job.types';
import { QUEUE_RECOVERY_SETTINGS } from '../redis/redis-connection';
import { backoffDelayMs } from './webhook-retry-policy';
import { injectTraceContext } from '../tracing/trace-context';

export const WEBHOOKS_QUEUE = 'webhooks';
export const DELIVER_JOB = 'deliver';
const BACKOFF_STRATEGY = 'webhook-exponential-jitter';

/** The Bull payload of a delivery: the job id; the body is built from the job record at each attempt. */
export interface WebhookJobData {
  jobId: string;
}

/** Retried deliveries are delayed by backoffDelayMs with the base the enqueuing process configured. */
export const webhooksQueueSettings: QueueOptions['settings'] = {
  ...QUEUE_RECOVERY_SETTINGS,
  backoffStrategies: {
    [BACKOFF_STRATEGY]: (attemptsMade: number, _err: Error, options?: { baseMs?: number }) =>
      backoffDelayMs(attemptsMade, options?.baseMs ?? 1000),
  },
};

/** The only code that touches the `webhooks` queue: one delivery per ended job that has a webhook_url. */
@Injectable()
export class WebhooksService implements OnModuleInit {
  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly lifecycle: JobLifecycle,
    private readonly jobWebhooks: JobWebhooks,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.lifecycle.onEnded((record) => this.enqueue(record));
  }

  /**
   * Queues the delivery, then takes it out of the outbox finish() put it in. The Bull job id is the
   * job id, so queueing it again (the reconciler after a failure in between) adds nothing.
   */
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
    await this.jobWebhooks.queued(record.jobId);
  }

  /** Whether the webhooks queue holds a delivery of this job (waiting, delayed, running or kept after it settled). */
  async isQueued(jobId: string): Promise<boolean> {
    return (await this.queue.getJob(jobId)) !== null;
  }
}
