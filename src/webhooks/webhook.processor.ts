import { Process, Processor } from '@nestjs/bull';
import { Logger } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { processWithConcurrency } from '../common/process-concurrency';
import { withExtractedContext } from '../tracing/trace-context';
import { WebhookDelivery } from './webhook-delivery';
import { DELIVER_JOB, WEBHOOKS_QUEUE, WebhookJobData } from './webhooks.service';

/** Thrown to make Bull retry the delivery after its backoff; not a failure of ours. */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

/** Consumer of `webhooks` (worker roles): each due delivery attempt goes to WebhookDelivery. */
@Processor(WEBHOOKS_QUEUE)
export class WebhookProcessor {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly delivery: WebhookDelivery,
    config: AppConfig,
  ) {
    processWithConcurrency(this, 'deliver', DELIVER_JOB, config.webhookConcurrency);
    if (!delivery.signer.signs)
      this.logger.warn('WEBHOOK_SECRET is not set: webhooks are sent without webhook-signature');
    if (config.webhookAllowPrivate)
      this.logger.warn('WEBHOOK_ALLOW_PRIVATE=true: webhooks may reach loopback, private and metadata addresses');
  }

  @Process(DELIVER_JOB)
  async deliver(job: Job<WebhookJobData>): Promise<void> {
    const lastAllowed = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const attempt = () => this.delivery.attempt(job.data.jobId, lastAllowed);
    const result = await withExtractedContext(job.data, 'webhook delivery', { jobId: job.data.jobId }, attempt);
    if (result === 'retry') throw new RetryLater('delivery will be retried');
  }
}
