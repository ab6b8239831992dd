import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JobWebhooks } from '../jobs/job-webhooks';
import { WebhooksService } from './webhooks.service';

/** How often a worker looks for ended jobs whose delivery was never queued, and how many per pass. */
export const RECONCILE_INTERVAL_MS = 60_000;
const RECONCILE_BATCH = 100;

/**
 * Worker side: finish() puts every ended job with a webhook in an outbox in the same atomic step
 * that ends it; the process that ended it then queues the delivery. If that process died or lost
 * Redis in between, this re-queues it (at start, then every RECONCILE_INTERVAL_MS).
 */
@Injectable()
export class WebhookReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly jobWebhooks: JobWebhooks,
    private readonly webhooks: WebhooksService,
  ) {}

  onApplicationBootstrap(): void {
    void this.reconcileLogged();
    this.timer = setInterval(() => void this.reconcileLogged(), RECONCILE_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * One pass; answers how many deliveries it queued. Racing the process that ended a job is harmless:
   * both queue the same Bull job id, and an attempt on a settled webhook sends nothing.
   */
  async reconcile(nowMs = Date.now()): Promise<number> {
    let queued = 0;
    for (const jobId of await this.jobWebhooks.undelivered(nowMs, RECONCILE_BATCH)) {
      const record = await this.jobWebhooks.record(jobId);
      if (!record?.webhook || record.webhook.status !== 'pending' || (await this.webhooks.isQueued(jobId))) {
        await this.jobWebhooks.queued(jobId); // expired, settled, or queued after all
        continue;
      }
      await this.webhooks.enqueue(record);
      queued += 1;
    }
    return queued;
  }

  private async reconcileLogged(): Promise<void> {
    try {
      const queued = await this.reconcile();
      if (queued) this.logger.warn(`queued ${queued} webhook delivery(ies) whose job ended without one`);
    } catch (err) {
      this.logger.warn(`webhook outbox check failed: ${(err as Error).message}`);
    }
  }
}
